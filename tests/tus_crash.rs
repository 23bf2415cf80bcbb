//! kill -9 during a tus upload: after the restart `HEAD` reports only bytes that were on disk,
//! the upload resumes from there and ends with a photo byte-identical to the source, nothing
//! is left in `uploads/` or `tmp/`, and `photox verify` passes. The daemon is the real binary,
//! killed mid-PATCH by SIGKILL, or aborted at each crash point of a finishing upload
//! (`PHOTOX_CRASH_AT`, debug builds).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, BIN};
use common::tus::{noisy_jpeg, recorded_offset, upload_files};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// Where a finishing upload can be cut short: before ingest, after its file is renamed into
/// `originals/` (before the commit), and after the commit (before the upload records it).
const FINISH_POINTS: &[&str] = &["uploads.finishing", "ingest.placed", "ingest.committed"];

struct Tus {
    http: Client,
    base: String,
    token: String,
}

impl Tus {
    fn register(daemon: &Daemon) -> Self {
        let http = Client::new();
        let base = daemon.url("");
        let r: Value = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": "ann", "password": "crash-test-pw"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = r["data"]["access_token"].as_str().unwrap().to_string();
        Self { http, base, token }
    }

    fn login(daemon: &Daemon) -> Self {
        let http = Client::new();
        let base = daemon.url("");
        let r: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "ann", "password": "crash-test-pw"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = r["data"]["access_token"].as_str().unwrap().to_string();
        Self { http, base, token }
    }

    fn tus(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    fn create(&self, length: usize) -> String {
        let r = self
            .tus(reqwest::Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length.to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["location"].to_str().unwrap().to_string()
    }

    fn offset(&self, location: &str) -> u64 {
        let r = self.tus(reqwest::Method::HEAD, location).send().unwrap();
        assert_eq!(r.status(), 200);
        r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// PATCHes `bytes` at `offset`; the answer's status and Photo-Id.
    fn patch(&self, location: &str, offset: u64, bytes: &[u8]) -> Option<(u16, Option<i64>)> {
        let r = self
            .tus(reqwest::Method::PATCH, location)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes.to_vec())
            .send()
            .ok()?;
        let photo = r
            .headers()
            .get("photo-id")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        Some((r.status().as_u16(), photo))
    }

    fn original(&self, id: i64) -> Vec<u8> {
        let r = self
            .http
            .get(format!("{}/api/v1/photos/{id}/file", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().unwrap().to_vec()
    }

    fn photo_count(&self) -> i64 {
        let r: Value = self
            .http
            .get(format!("{}/api/v1/photos", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["data"]["pagination"]["total_items"].as_i64().unwrap()
    }
}

/// Starts a PATCH of `bytes` (announcing all of them) and sends the first `sent` bytes.
fn start_patch(daemon: &Daemon, c: &Tus, location: &str, bytes: &[u8], sent: usize) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        c.token,
        bytes.len()
    );
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(&bytes[..sent]).unwrap();
    tcp
}

/// `photox verify` passes, and nothing is left in `uploads/` or `tmp/`.
fn assert_clean(data: &Path, context: &str) {
    let out = Command::new(BIN)
        .arg("verify")
        .env("PHOTOX_STORAGE__DATA_DIR", data)
        .env("PHOTOX_LOG__TARGET", "stderr")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{context}: verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(upload_files(data), Vec::<String>::new(), "{context}");
    assert_eq!(
        common::tmp_leftovers(data),
        Vec::<String>::new(),
        "{context}"
    );
}

#[test]
fn kill_9_mid_patch_resumes_from_the_last_durable_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut daemon = Daemon::start(&data);
    let c = Tus::register(&daemon);
    let bytes = noisy_jpeg(30, 2500);
    let location = c.create(bytes.len());
    let quarter = bytes.len() / 4;
    let mut tcp = start_patch(&daemon, &c, &location, &bytes, quarter);
    // A second later more bytes come, and the request records a checkpoint on the way.
    std::thread::sleep(Duration::from_millis(1200));
    tcp.write_all(&bytes[quarter..2 * quarter]).unwrap();
    let mut recorded = 0;
    for _ in 0..400 {
        // From the database: a HEAD would take the running request over.
        recorded = recorded_offset(&data, &location);
        if recorded > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(recorded > 0, "no checkpoint was recorded");
    // More bytes the daemon writes but never gets to flush and record.
    tcp.write_all(&bytes[2 * quarter..3 * quarter]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    drop(tcp);
    drop(daemon);

    let daemon = Daemon::start(&data);
    let c = Tus::login(&daemon);
    let offset = c.offset(&location);
    assert!(
        offset >= recorded && offset <= 3 * quarter as u64,
        "HEAD after the restart: {offset} (recorded {recorded})"
    );
    let (status, photo) = c
        .patch(&location, offset, &bytes[offset as usize..])
        .unwrap();
    assert_eq!(status, 204);
    let id = photo.expect("the last PATCH answers the photo");
    assert_eq!(c.original(id), bytes, "byte for byte");
    drop(daemon);
    assert_clean(&data, "after kill -9 mid-PATCH");
}

#[test]
fn a_crash_at_a_checkpoint_keeps_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start_with_env(&data, &[("PHOTOX_CRASH_AT", "uploads.checkpointed")]);
    let c = Tus::register(&daemon);
    let bytes = noisy_jpeg(31, 1200);
    let location = c.create(bytes.len());
    let third = bytes.len() / 3;
    let mut tcp = start_patch(&daemon, &c, &location, &bytes, third);
    std::thread::sleep(Duration::from_millis(1200));
    // The batch after a second triggers the checkpoint, and the crash right after it.
    let _ = tcp.write_all(&bytes[third..2 * third]);
    let mut daemon = daemon;
    daemon.child.wait().unwrap();
    drop(daemon);
    let daemon = Daemon::start(&data);
    let c = Tus::login(&daemon);
    let offset = c.offset(&location);
    assert!(
        offset >= third as u64 && offset <= 2 * third as u64,
        "the checkpoint holds: {offset}"
    );
    let (status, photo) = c
        .patch(&location, offset, &bytes[offset as usize..])
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(c.original(photo.unwrap()), bytes);
    drop(daemon);
    assert_clean(&data, "after a crash at a checkpoint");
}

#[test]
fn a_crash_while_an_upload_is_finished_loses_nothing_and_doubles_nothing() {
    for point in FINISH_POINTS {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut daemon = Daemon::start_with_env(&data, &[("PHOTOX_CRASH_AT", point)]);
        let c = Tus::register(&daemon);
        let bytes = noisy_jpeg(32, 200);
        let location = c.create(bytes.len());
        let answered = c.patch(&location, 0, &bytes);
        assert!(
            answered.is_none_or(|(status, _)| status >= 500),
            "{point}: the request cannot have succeeded: {answered:?}"
        );
        daemon.child.wait().unwrap();
        drop(daemon);

        let daemon = Daemon::start(&data);
        let c = Tus::login(&daemon);
        // Whatever happened, HEAD reports no byte that is not there, and sending from there
        // ends with one photo holding the bytes.
        let offset = c.offset(&location);
        assert!(offset < bytes.len() as u64, "{point}: {offset}");
        let file = data
            .join("uploads")
            .join(location.rsplit('/').next().unwrap());
        let on_disk = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(offset <= on_disk, "{point}: HEAD {offset} > file {on_disk}");
        let (status, photo) = c
            .patch(&location, offset, &bytes[offset as usize..])
            .unwrap();
        assert_eq!(status, 204, "{point}");
        assert_eq!(c.original(photo.unwrap()), bytes, "{point}");
        assert_eq!(c.photo_count(), 1, "{point}: exactly one photo");
        drop(daemon);
        assert_clean(&data, point);
        let mut originals = 0;
        for entry in walk(&data.join("originals")) {
            let mut content = Vec::new();
            std::fs::File::open(&entry)
                .unwrap()
                .read_to_end(&mut content)
                .unwrap();
            assert_eq!(content, bytes, "{point}");
            originals += 1;
        }
        assert_eq!(originals, 1, "{point}: one original on disk");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
