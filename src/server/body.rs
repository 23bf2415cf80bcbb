//! Request and response bodies as the server hands them on: a request body fails when the
//! client pauses longer than the body timeout, and its errors are marked as the client's (so
//! the API answers 4xx, not 500); a response body carries its request's `InFlight` guard.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Duration, Instant, Sleep};

use super::io::InFlight;

/// Why a request body could not be read: the client's doing, never the server's.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    #[error("the client paused sending the request body for too long")]
    Stalled,
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

/// The `RequestBodyError` inside `error`, if it came from reading a request body.
pub fn request_body_error(error: &io::Error) -> Option<&RequestBodyError> {
    error.get_ref()?.downcast_ref()
}

/// A request body that fails with `RequestBodyError::Stalled` when no data arrives for
/// `timeout` while it is being read. A slow but steady upload never trips it.
pub struct StallBody {
    inner: BoxBody<Bytes, io::Error>,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl StallBody {
    pub fn new(inner: BoxBody<Bytes, io::Error>, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            timer: None,
            waiting: false,
        }
    }
}

impl Body for StallBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                Poll::Ready(frame.map(|f| {
                    f.map_err(|e| match request_body_error(&e) {
                        Some(_) => e,
                        None => io::Error::new(e.kind(), RequestBodyError::Broken(e.to_string())),
                    })
                }))
            }
            Poll::Pending => {
                let deadline = Instant::now() + this.timeout;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if !this.waiting {
                    this.waiting = true;
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    this.waiting = false;
                    let kind = io::ErrorKind::TimedOut;
                    return Poll::Ready(Some(Err(io::Error::new(kind, RequestBodyError::Stalled))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request in flight until it is dropped.
pub struct TrackedBody {
    inner: BoxBody<Bytes, io::Error>,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn new(inner: BoxBody<Bytes, io::Error>, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn channel_body(timeout: Duration) -> (tokio::sync::mpsc::Sender<Bytes>, StallBody) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            let bytes = rx.recv().await?;
            Some((Ok::<_, io::Error>(Frame::data(bytes)), rx))
        });
        let body = StreamBody::new(Box::pin(stream)).boxed();
        (tx, StallBody::new(body, timeout))
    }

    #[tokio::test]
    async fn a_steady_trickle_passes_and_a_pause_fails_as_the_clients_error() {
        let timeout = Duration::from_millis(500);
        let (tx, mut body) = channel_body(timeout);
        let started = Instant::now();
        let sender = tokio::spawn(async move {
            // Longer in total than the timeout, but never a pause as long.
            for _ in 0..10 {
                tokio::time::sleep(timeout / 10).await;
                tx.send(Bytes::from_static(b"x")).await.unwrap();
            }
            tx
        });
        for _ in 0..10 {
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), "x");
        }
        assert!(started.elapsed() >= timeout);
        let _tx = sender.await.unwrap();
        let paused = Instant::now();
        let frame = tokio::time::timeout(Duration::from_secs(20), body.frame()).await;
        let err = frame
            .expect("the pause was never cut")
            .unwrap()
            .unwrap_err();
        assert!(paused.elapsed() >= timeout);
        assert!(matches!(
            request_body_error(&err),
            Some(RequestBodyError::Stalled)
        ));
    }
}
