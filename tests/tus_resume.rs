//! An upload interrupted mid-request continues where it stopped: the connection drops, the
//! client stops sending (and is timed out), or the client comes back before the server noticed
//! (its new request takes the upload over). `HEAD` only ever reports bytes that are on disk,
//! and the finished photo is byte-identical to the source.

mod common;

use std::time::Duration;

use common::tus::{noisy_jpeg, photo_of, recorded_offset, upload_files, OFFSET_STREAM};
use common::{sha256_hex, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A PATCH that announces `total` bytes but sends only `sent`; the connection stays open.
async fn partial_patch(
    s: &TestServer,
    token: &str,
    location: &str,
    offset: u64,
    total: usize,
    sent: &[u8],
) -> TcpStream {
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: {OFFSET_STREAM}\r\n\
         Content-Length: {total}\r\n\r\n",
        s.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(sent).await.unwrap();
    tcp.flush().await.unwrap();
    tcp
}

/// Polls `HEAD` until it reports `offset` (the server records an interrupted request's bytes
/// once it notices the interruption).
async fn wait_for_offset(s: &TestServer, token: &str, location: &str, offset: u64) {
    let mut last = 0;
    for _ in 0..400 {
        last = s.tus_offset(token, location).await;
        assert!(last <= offset, "HEAD reported {last}, more than was sent");
        if last == offset {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("HEAD still reports {last}, not {offset}");
}

/// The status line the server answered on `tcp`.
async fn status_line(mut tcp: TcpStream) -> String {
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_dropped_connection_keeps_what_arrived_and_the_upload_resumes() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(20, 600);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let half = bytes.len() / 2;
    let tcp = partial_patch(&s, &ann.access, &location, 0, bytes.len(), &bytes[..half]).await;
    // Give the bytes time to arrive, then cut the connection.
    wait_until_file_holds(&s, &location, half as u64).await;
    drop(tcp);
    // The first HEAD after the cut already tells all the cut request brought: it waits for
    // that request to flush and record it, rather than report the last checkpoint (none).
    assert_eq!(s.tus_offset(&ann.access, &location).await, half as u64);
    let r = s
        .tus_patch(&ann.access, &location, half as u64, &bytes[half..])
        .await;
    r.expect(204);
    let (id, _) = photo_of(&r);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["checksum"], sha256_hex(&bytes));
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn a_client_that_stops_sending_is_timed_out_and_its_bytes_are_kept() {
    let s = TestServer::with_config(|c| {
        c.server.body_timeout = photox::config::HumanDuration(Duration::from_secs(1));
    })
    .await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(21, 300);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let sent = bytes.len() / 3;
    let tcp = partial_patch(&s, &ann.access, &location, 0, bytes.len(), &bytes[..sent]).await;
    // The connection stays open; after `body_timeout` the request fails (408) and what it
    // brought is recorded.
    assert!(
        status_line(tcp).await.contains(" 408"),
        "a stalled body is a 408"
    );
    wait_for_offset(&s, &ann.access, &location, sent as u64).await;
    let r = s
        .tus_patch(&ann.access, &location, sent as u64, &bytes[sent..])
        .await;
    r.expect(204);
    assert_eq!(s.original(&ann.access, photo_of(&r).0).await, bytes);
}

#[tokio::test]
async fn a_client_back_before_the_server_noticed_takes_its_upload_over() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(22, 300);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let third = bytes.len() / 3;
    // The old request hangs (its client is gone for all it knows; body_timeout is a minute).
    let stalled = partial_patch(&s, &ann.access, &location, 0, bytes.len(), &bytes[..third]).await;
    wait_until_file_holds(&s, &location, third as u64).await;
    // Nothing is recorded yet (no checkpoint within a second) ...
    assert_eq!(recorded_offset(&s.data_dir(), &location), 0);
    // ... but the client's HEAD, before it goes on, takes the upload over: the old request is
    // stopped (409), flushes and records what it had, and HEAD reports all of it.
    assert_eq!(s.tus_offset(&ann.access, &location).await, third as u64);
    assert!(status_line(stalled).await.contains(" 409"));
    // A client that skips HEAD and sends from where it believes the upload is: the old request
    // is stopped the same way, and the new one learns the real offset (409), as tusd answers.
    let stalled = partial_patch(
        &s,
        &ann.access,
        &location,
        third as u64,
        bytes.len() - third,
        &bytes[third..2 * third],
    )
    .await;
    wait_until_file_holds(&s, &location, 2 * third as u64).await;
    let r = s
        .tus_patch(&ann.access, &location, third as u64, &bytes[third..])
        .await;
    r.expect(409);
    assert_eq!(
        r.header("upload-offset"),
        Some((2 * third).to_string().as_str())
    );
    assert!(status_line(stalled).await.contains(" 409"));
    let r = s
        .tus_patch(
            &ann.access,
            &location,
            2 * third as u64,
            &bytes[2 * third..],
        )
        .await;
    r.expect(204);
    assert_eq!(s.original(&ann.access, photo_of(&r).0).await, bytes);
}

#[tokio::test]
async fn a_long_request_records_checkpoints_while_it_runs() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(23, 400);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let first = bytes.len() / 4;
    let mut tcp = partial_patch(&s, &ann.access, &location, 0, bytes.len(), &bytes[..first]).await;
    // More than a second later, more bytes: the writer flushes and records on the way.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    tcp.write_all(&bytes[first..2 * first]).await.unwrap();
    tcp.flush().await.unwrap();
    let mut seen = 0;
    for _ in 0..200 {
        seen = recorded_offset(&s.data_dir(), &location);
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        seen > 0 && seen <= 2 * first as u64,
        "a checkpoint while the request runs: {seen}"
    );
    // The rest on the same request finishes it.
    tcp.write_all(&bytes[2 * first..]).await.unwrap();
    let line = status_line(tcp).await;
    assert!(line.contains(" 204"), "{line}");
    let head = s.tus_head(&ann.access, &location).await;
    let id: i64 = head.header("photo-id").unwrap().parse().unwrap();
    assert_eq!(s.original(&ann.access, id).await, bytes);
}

/// Waits until the upload's file holds `len` bytes (written, not necessarily recorded).
async fn wait_until_file_holds(s: &TestServer, location: &str, len: u64) {
    let file = s
        .data_dir()
        .join("uploads")
        .join(location.rsplit('/').next().unwrap());
    for _ in 0..400 {
        if std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) >= len {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the upload's file never held {len} bytes");
}
