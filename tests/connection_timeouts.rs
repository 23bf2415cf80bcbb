//! Connections that say too little are closed: a request head that never ends, a keep-alive
//! connection left idle, a request body that stops arriving. A slow upload that keeps moving
//! is not cut off. The timeouts are short here (1–2 s); each test waits for the server to close
//! the socket with a generous upper bound, so nothing depends on tight timing.

mod common;

use std::time::{Duration, Instant};

use common::{files_under, png, TestServer};
use photox::config::HumanDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far longer than any timeout here: a socket still open after this was never going to close.
const GIVE_UP: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(1);

async fn server(body_timeout: Duration) -> TestServer {
    TestServer::with_config(|c| {
        c.server.header_timeout = HumanDuration(TIMEOUT);
        c.server.idle_timeout = HumanDuration(TIMEOUT);
        c.server.body_timeout = HumanDuration(body_timeout);
    })
    .await
}

/// Reads until the server closes the connection; what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(GIVE_UP, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                // A reset is closed too.
                Err(_) => return,
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {GIVE_UP:?}; it sent {:?}",
        String::from_utf8_lossy(&received)
    );
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed_after_the_header_timeout() {
    let s = server(TIMEOUT).await;
    // Connects and says nothing.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    // Sends part of a head, then nothing.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert_eq!(read_until_closed(&mut slow).await, "");
    assert!(started.elapsed() >= TIMEOUT);
    assert_eq!(read_until_closed(&mut silent).await, "");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let s = server(TIMEOUT).await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    let started = Instant::now();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"));
    assert!(started.elapsed() >= TIMEOUT);
}

#[tokio::test]
async fn a_request_body_that_stops_arriving_is_cut_off_with_a_4xx() {
    let s = server(TIMEOUT).await;
    let ann = s.register("ann").await;
    // JSON: 100 bytes announced, 6 sent.
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("\"error\":{\"type\":"), "{answer}");

    // An upload: the file starts and stops.
    let image = png(300, 200);
    let head = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n",
        ann.access
    );
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&image[..image.len() / 2]).await.unwrap();
    let answer = read_until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(!answer.contains("INTERNAL_SERVER_ERROR"), "{answer}");
    let left = common::tmp_leftovers(&s.data_dir());
    assert!(left.is_empty(), "tmp/ holds {left:?}");
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
}

#[tokio::test]
async fn a_slow_upload_that_keeps_moving_is_not_cut_off() {
    // Pauses of 100 ms, a twentieth of the body timeout; 3 s in all, longer than the timeout.
    let body_timeout = Duration::from_secs(2);
    let s = server(body_timeout).await;
    let ann = s.register("ann").await;
    let image = png(300, 200);
    let mut body =
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.png\"\r\n\r\n"
            .to_vec();
    body.extend_from_slice(&image);
    body.extend_from_slice(b"\r\n--B--\r\n");
    let head = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        ann.access,
        body.len()
    );
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    let started = Instant::now();
    conn.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(body.len().div_ceil(30)) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(chunk).await.unwrap();
    }
    assert!(started.elapsed() > body_timeout);
    let answer = read_until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("slow.png"), "{answer}");
}
