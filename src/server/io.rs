//! A connection's socket with deadlines. Reads are bounded while no request is in flight: the
//! head of a request must arrive within `header` of its first byte (of the connect, on a new
//! connection), and a connection without a request is closed after `idle`. Writes that make no
//! progress for `body` fail (a client that stops reading its response). A request body that
//! stalls is cut by `super::body::StallBody`; while a request is in flight, reads here have no
//! deadline, so a handler may take its time.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Duration, Instant, Sleep};

/// How long a connection may wait for what it needs, from `server.*_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
    pub body: Duration,
}

/// What a connection is doing, shared between its socket (`TimedIo`) and its requests.
#[derive(Debug)]
pub struct Activity {
    phase: Mutex<Phase>,
}

#[derive(Debug)]
struct Phase {
    in_flight: usize,
    /// When the last request ended (or the connection was accepted).
    idle_since: Instant,
    /// When the head of the next request began: its first byte, or the connect.
    head_started: Option<Instant>,
    /// A read that waits without a deadline while requests are in flight; woken when the last
    /// one ends, so that the idle deadline starts counting.
    waiting_reader: Option<Waker>,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            phase: Mutex::new(Phase {
                in_flight: 0,
                idle_since: now,
                head_started: Some(now),
                waiting_reader: None,
            }),
        })
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request's head has arrived; it is in flight until the guard (kept with its response
    /// body) is dropped.
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        phase.in_flight += 1;
        phase.head_started = None;
        InFlight(self.clone())
    }

    fn bytes_read(&self) {
        let mut phase = self.phase();
        if phase.in_flight == 0 && phase.head_started.is_none() {
            phase.head_started = Some(Instant::now());
        }
    }

    /// When a read that is waiting now must give up; `None` while a request is in flight (then
    /// `waker` is woken when the last one ends).
    fn read_deadline(
        &self,
        last_write: Instant,
        timeouts: &Timeouts,
        waker: &Waker,
    ) -> Option<Instant> {
        let mut phase = self.phase();
        if phase.in_flight > 0 {
            match &mut phase.waiting_reader {
                Some(known) => known.clone_from(waker),
                None => phase.waiting_reader = Some(waker.clone()),
            }
            return None;
        }
        Some(match phase.head_started {
            Some(started) => started + timeouts.header,
            None => phase.idle_since.max(last_write) + timeouts.idle,
        })
    }
}

/// A request in flight; dropped when its response has been handed to the socket.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        phase.in_flight -= 1;
        if phase.in_flight > 0 {
            return;
        }
        phase.idle_since = Instant::now();
        phase.head_started = None;
        let reader = phase.waiting_reader.take();
        drop(phase);
        if let Some(waker) = reader {
            waker.wake();
        }
    }
}

/// The socket `T` with the deadlines of the module comment.
pub struct TimedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    last_write: Instant,
    write_blocked_since: Option<Instant>,
}

impl<T> TimedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>, timeouts: Timeouts) -> Self {
        let now = Instant::now();
        Self {
            inner,
            activity,
            timeouts,
            read_timer: Box::pin(tokio::time::sleep_until(now)),
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            last_write: now,
            write_blocked_since: None,
        }
    }

    /// Whether a write has made no progress for `timeouts.body` (registering for the wake-up
    /// when not yet).
    fn write_stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let since = *self.write_blocked_since.get_or_insert_with(Instant::now);
        expired(&mut self.write_timer, since + self.timeouts.body, cx)
    }

    fn wrote(&mut self) {
        self.write_blocked_since = None;
        self.last_write = Instant::now();
    }
}

/// Whether `deadline` has passed; if not, `cx` is woken when it does.
fn expired(timer: &mut Pin<Box<Sleep>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    timer.as_mut().poll(cx).is_ready()
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let deadline =
                    this.activity
                        .read_deadline(this.last_write, &this.timeouts, cx.waker());
                match deadline {
                    Some(deadline) if expired(&mut this.read_timer, deadline, cx) => Poll::Ready(
                        Err(timed_out("no request within the header or idle timeout")),
                    ),
                    _ => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.wrote();
                Poll::Ready(result)
            }
            Poll::Pending if this.write_stalled(cx) => {
                Poll::Ready(Err(timed_out("the client stopped reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                this.wrote();
                Poll::Ready(result)
            }
            Poll::Pending if this.write_stalled(cx) => {
                Poll::Ready(Err(timed_out("the client stopped reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                this.wrote();
                Poll::Ready(result)
            }
            Poll::Pending if this.write_stalled(cx) => {
                Poll::Ready(Err(timed_out("the client stopped reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending if this.write_stalled(cx) => {
                Poll::Ready(Err(timed_out("the client stopped reading")))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Real time with short timeouts: each wait is checked to last at least its timeout, and
    //! (generously) not forever.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_millis(100),
        idle: Duration::from_millis(300),
        body: Duration::from_millis(200),
    };
    const NEVER: Duration = Duration::from_secs(20);

    fn timed(activity: &Arc<Activity>) -> (TimedIo<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(64);
        (TimedIo::new(server, activity.clone(), TIMEOUTS), client)
    }

    /// Reads until the deadline errs; returns how long that took.
    async fn time_out_reading(io: &mut TimedIo<DuplexStream>) -> Duration {
        let started = Instant::now();
        let read = tokio::time::timeout(NEVER, io.read(&mut [0; 8])).await;
        let err = read.expect("the read never timed out").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        started.elapsed()
    }

    #[tokio::test]
    async fn a_silent_new_connection_gets_the_header_timeout() {
        let activity = Activity::new();
        let (mut io, _client) = timed(&activity);
        assert!(time_out_reading(&mut io).await >= TIMEOUTS.header);
    }

    #[tokio::test]
    async fn an_idle_connection_gets_the_idle_timeout_and_a_started_head_the_header_timeout() {
        let activity = Activity::new();
        let (mut io, mut client) = timed(&activity);
        client.write_all(b"GET").await.unwrap();
        io.read_exact(&mut [0; 3]).await.unwrap();
        drop(activity.begin_request());
        // Idle: no byte since the last response.
        assert!(time_out_reading(&mut io).await >= TIMEOUTS.idle);

        let (mut io, mut client) = timed(&activity);
        drop(activity.begin_request());
        tokio::time::sleep(TIMEOUTS.header).await;
        client.write_all(b"GE").await.unwrap();
        let started = Instant::now();
        io.read_exact(&mut [0; 2]).await.unwrap();
        // The rest of the head never comes: the header timeout counts from its first byte.
        time_out_reading(&mut io).await;
        let waited = started.elapsed();
        assert!(
            waited >= TIMEOUTS.header && waited < TIMEOUTS.idle,
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn reads_wait_without_limit_while_a_request_is_in_flight() {
        let activity = Activity::new();
        let (mut io, mut client) = timed(&activity);
        let guard = activity.begin_request();
        let read = tokio::spawn(async move {
            let mut buf = [0; 4];
            io.read_exact(&mut buf).await.map(|_| buf)
        });
        tokio::time::sleep(TIMEOUTS.idle * 2).await;
        client.write_all(b"late").await.unwrap();
        assert_eq!(&read.await.unwrap().unwrap(), b"late");
        drop(guard);
    }

    #[tokio::test]
    async fn a_read_begun_during_a_request_times_out_once_the_connection_is_idle() {
        let activity = Activity::new();
        let (mut io, _client) = timed(&activity);
        let guard = activity.begin_request();
        let read = tokio::spawn(async move { time_out_reading(&mut io).await });
        // The read is waiting, without a deadline, when the request ends.
        tokio::time::sleep(TIMEOUTS.idle).await;
        drop(guard);
        assert!(read.await.unwrap() >= TIMEOUTS.idle * 2);
    }

    #[tokio::test]
    async fn a_write_the_client_never_reads_fails_after_the_body_timeout() {
        let activity = Activity::new();
        let (mut io, _client) = timed(&activity);
        let _guard = activity.begin_request();
        let started = Instant::now();
        let write = tokio::time::timeout(NEVER, io.write_all(&[0; 1024])).await;
        let err = write.expect("the write never timed out").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= TIMEOUTS.body);
    }
}
