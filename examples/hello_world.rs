//! Reference server for the benchmarks: a bare poem JSON hello-world on the same runtime
//! settings as photox. `cargo run --release --example hello_world -- 127.0.0.1:4000`

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{get, handler, Route, Server};

#[handler]
fn hello() -> Json<serde_json::Value> {
    Json(serde_json::json!({"hello": "world"}))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4000".into());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(Server::new(TcpListener::bind(addr)).run(Route::new().at("/", get(hello))))
}
