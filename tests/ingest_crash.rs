//! Every source goes through one ingest path, and a crash between any two of its steps loses
//! nothing: the process is aborted (no destructors, no cleanup: what kill -9 leaves) at each
//! crash point in turn (`PHOTOX_CRASH_AT`, debug builds), then the next process recovers. After
//! each crash the library has no row without its file and no file without its row (`photox
//! verify`), the source is untouched (or, moved, still there until its copy is committed), and
//! doing the same again ends with exactly one photo holding the source's bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, UNIX_EPOCH};

use common::daemon::{self, Daemon};
use common::{fixture, sha256_hex};
use serde_json::Value;

/// The steps of an ingest that copies bytes into the library (stream, copy, move).
const COPY_POINTS: &[&str] = &[
    "ingest.received",
    "ingest.synced",
    "ingest.placed",
    "ingest.committed",
];
/// The steps of an in-place reference.
const REFERENCE_POINTS: &[&str] = &["ingest.hashed", "ingest.committed"];

fn photox(data: &Path, args: &[&str], crash_at: Option<&str>, stdin: &str) -> Output {
    let mut env = vec![("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())];
    env.extend(crash_at.map(|point| ("PHOTOX_CRASH_AT", point)));
    daemon::run(args, &env, stdin)
}

/// A data dir with the user `ann`.
fn library() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = photox(
        &data,
        &["user", "add", "ann", "--password-stdin"],
        None,
        "correct-horse-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, data)
}

/// `photox verify` passes (it recovers what dead processes left first).
fn assert_consistent(data: &Path, context: &str) {
    let out = photox(data, &["verify"], None, "");
    assert!(
        out.status.success(),
        "{context}: verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        common::tmp_leftovers(data).is_empty(),
        "{context}: tmp/ holds {:?}",
        common::tmp_leftovers(data)
    );
}

/// (id, checksum, file_kind) of every photo row.
fn rows(data: &Path) -> Vec<(i64, String, String)> {
    let conn = rusqlite::Connection::open(data.join("photox.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, checksum, file_kind FROM photos ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// The bytes and modification time of a file.
fn snapshot(path: &Path) -> (Vec<u8>, Duration) {
    let mtime = std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap();
    (std::fs::read(path).unwrap(), mtime)
}

fn login(client: &reqwest::blocking::Client, daemon: &Daemon) -> String {
    let r: Value = client
        .post(daemon.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "ann", "password": "correct-horse-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["data"]["access_token"].as_str().unwrap().to_string()
}

fn upload(
    client: &reqwest::blocking::Client,
    daemon: &Daemon,
    token: &str,
    bytes: &[u8],
) -> reqwest::Result<reqwest::blocking::Response> {
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(bytes.to_vec()).file_name("a.jpg"),
    );
    client
        .post(daemon.url("/api/v1/photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
}

#[test]
fn a_stream_source_survives_a_crash_at_every_step() {
    let bytes = fixture("exif_orientation6_gps.jpg");
    let client = reqwest::blocking::Client::new();
    for point in COPY_POINTS {
        let (_dir, data) = library();
        let mut daemon = Daemon::start_with_env(&data, &[("PHOTOX_CRASH_AT", point)]);
        let token = login(&client, &daemon);
        let answer = upload(&client, &daemon, &token, &bytes);
        assert!(answer.is_err(), "{point}: the upload was answered");
        let status = daemon.child.wait().unwrap();
        assert!(!status.success(), "{point}: the daemon did not crash");
        drop(daemon);
        // The next start recovers; an upload that was never acknowledged may or may not be
        // there, but never half.
        let daemon = Daemon::start(&data);
        let before = rows(&data);
        assert!(before.len() <= 1, "{point}: {before:?}");
        assert_consistent(&data, point);
        let token = login(&client, &daemon);
        let again = upload(&client, &daemon, &token, &bytes).unwrap();
        assert_eq!(again.status(), 201, "{point}");
        let again: Value = again.json().unwrap();
        assert_eq!(
            again["data"]["uploaded"][0]["duplicate"],
            !before.is_empty(),
            "{point}"
        );
        let after = rows(&data);
        assert_eq!(after.len(), 1, "{point}: {after:?}");
        assert_eq!(after[0].1, sha256_hex(&bytes));
        drop(daemon);
        assert_consistent(&data, point);
    }
}

/// `photox import` of a folder holding one photo, crashing at `point` first.
fn import_after_crash(mode: &str, points: &[&str]) {
    let bytes = fixture("plain.png");
    for point in points {
        let (dir, data) = library();
        let folder = dir.path().join("folder");
        std::fs::create_dir_all(&folder).unwrap();
        let source = folder.join("p.png");
        std::fs::write(&source, &bytes).unwrap();
        let before = snapshot(&source);
        let folder_arg = folder.to_str().unwrap();
        let args = ["import", folder_arg, "--user", "ann", "--mode", mode];
        let crashed = photox(&data, &args, Some(point), "");
        assert!(!crashed.status.success(), "{mode} {point}: no crash");
        assert!(
            String::from_utf8_lossy(&crashed.stderr).contains(point),
            "{mode} {point}: {}",
            String::from_utf8_lossy(&crashed.stderr)
        );
        // Nothing is lost: the source is still there, as it was.
        assert_eq!(
            snapshot(&source),
            before,
            "{mode} {point}: the source changed"
        );
        assert_consistent(&data, &format!("{mode} {point}"));
        assert!(rows(&data).len() <= 1);

        let done = photox(&data, &args, None, "");
        assert!(
            done.status.success(),
            "{mode} {point}: {}",
            String::from_utf8_lossy(&done.stdout)
        );
        let after = rows(&data);
        assert_eq!(after.len(), 1, "{mode} {point}: {after:?}");
        assert_eq!(after[0].1, sha256_hex(&bytes));
        match mode {
            "move" => assert!(!source.exists(), "{point}: a moved file stays"),
            _ => assert_eq!(snapshot(&source), before, "{mode} {point}: source changed"),
        }
        let kind = if mode == "in-place" {
            "import"
        } else {
            "managed"
        };
        assert_eq!(after[0].2, kind);
        assert_consistent(&data, &format!("{mode} {point} after"));
    }
}

#[test]
fn a_copied_file_survives_a_crash_at_every_step() {
    import_after_crash("copy", COPY_POINTS);
}

#[test]
fn a_moved_file_survives_a_crash_at_every_step() {
    import_after_crash("move", COPY_POINTS);
}

#[test]
fn a_referenced_file_survives_a_crash_at_every_step() {
    import_after_crash("in-place", REFERENCE_POINTS);
}
