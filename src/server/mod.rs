//! The HTTP server: accepts connections from any poem `Acceptor` (TCP, TLS) and serves the API
//! endpoint on each with hyper (HTTP/1.1, and HTTP/2 with prior knowledge), within the
//! `server.header_timeout`, `idle_timeout` and `body_timeout` of the configuration, so a
//! client that opens a connection and stalls cannot hold it (see `io` and `body`).
//! poem's own `Server` has only an idle timeout, which waits for a stalled request forever.

mod body;
mod io;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::listener::Acceptor;
use poem::{Body, Endpoint};
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant};

pub use self::body::{request_body_error, RequestBodyError};
use self::body::{StallBody, TrackedBody};
pub use self::io::Timeouts;
use self::io::{Activity, TimedIo};

/// How long to wait before accepting again after `accept` failed (e.g. out of file handles).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `endpoint` on connections from `acceptor` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish for up to `drain` and drops what is left.
pub async fn serve<A: Acceptor + 'static>(
    mut acceptor: A,
    endpoint: BoxEndpoint<'static>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    let endpoint = Arc::new(endpoint);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        log::error!("a connection task panicked");
                    }
                }
            }
            accepted = acceptor.accept() => match accepted {
                Ok((socket, local, remote, scheme)) => {
                    let endpoint = endpoint.clone();
                    let stop = stop_rx.clone();
                    connections.spawn(async move {
                        let conn = Connection { endpoint, local, remote, scheme, timeouts };
                        conn.serve(socket, stop).await;
                    });
                }
                Err(e) => {
                    if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        log::warn!("could not accept a connection: {e}");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(acceptor);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!(
            "dropping {} connections still busy after {} s",
            connections.len(),
            drain.as_secs()
        );
        connections.shutdown().await;
    }
    Ok(())
}

struct Connection {
    endpoint: Arc<BoxEndpoint<'static>>,
    local: poem::web::LocalAddr,
    remote: poem::web::RemoteAddr,
    scheme: poem::http::uri::Scheme,
    timeouts: Timeouts,
}

impl Connection {
    async fn serve<S>(self, socket: S, mut stop: tokio::sync::watch::Receiver<bool>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let activity = Activity::new();
        let io = TokioIo::new(TimedIo::new(socket, activity.clone(), self.timeouts));
        let remote = self.remote.clone();
        let this = Arc::new(self);
        let service = hyper::service::service_fn(move |req| {
            let this = this.clone();
            let in_flight = activity.begin_request();
            async move { Ok::<_, Infallible>(this.respond(req, in_flight).await) }
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            _ = async { stop.wait_for(|stop| *stop).await.is_ok() } => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            log::debug!("connection from {remote} ended: {e}");
        }
    }

    async fn respond(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
        in_flight: io::InFlight,
    ) -> hyper::Response<TrackedBody> {
        let mut req = poem::Request::from((
            req,
            self.local.clone(),
            self.remote.clone(),
            self.scheme.clone(),
        ));
        let body = StallBody::new(req.take_body().into(), self.timeouts.body);
        req.set_body(Body::from(BoxBody::new(body)));
        let resp: hyper::Response<BoxBody<bytes::Bytes, std::io::Error>> =
            self.endpoint.get_response(req).await.into();
        resp.map(|body| TrackedBody::new(body, in_flight))
    }
}
