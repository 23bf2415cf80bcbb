//! Reference server for the benchmarks: a bare poem JSON hello-world on the same runtime
//! settings as photox, and `POST /drain`, which reads a request body and throws it away (the
//! floor for an upload through the same client and HTTP stack).
//! `cargo run --release --example hello_world -- 127.0.0.1:4000`

use futures_util::StreamExt;
use poem::listener::TcpListener;
use poem::web::Json;
use poem::{get, handler, post, Body, Route, Server};

#[handler]
fn hello() -> Json<serde_json::Value> {
    Json(serde_json::json!({"hello": "world"}))
}

#[handler]
async fn drain(body: Body) -> poem::Result<Json<serde_json::Value>> {
    let mut frames = body.into_bytes_stream();
    let mut bytes = 0;
    while let Some(frame) = frames.next().await {
        bytes += frame.map_err(poem::error::BadRequest)?.len();
    }
    Ok(Json(serde_json::json!({ "bytes": bytes })))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4000".into());
    let app = Route::new().at("/", get(hello)).at("/drain", post(drain));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(Server::new(TcpListener::bind(addr)).run(app))
}
