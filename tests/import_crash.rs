//! A watched folder's scan killed (aborted, as kill -9 leaves it) right after a file was stored
//! and before the scan recorded it: after the restart every photo of the folder is in the
//! library exactly once, nothing is lost, `photox verify` passes, and a moved folder ends empty.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::daemon::{self, Daemon};
use common::{fixture, sha256_hex};
use serde_json::Value;

fn photox(data: &Path, config: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let args = [&["--config", config.to_str().unwrap()], args].concat();
    daemon::run(
        &args,
        &[("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())],
        stdin,
    )
}

fn crash_and_recover(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (data, folder) = (dir.path().join("data"), dir.path().join("photos"));
    let sources: BTreeMap<&str, Vec<u8>> = [
        ("a.jpg", fixture("progressive.jpg")),
        ("sub/b.png", fixture("plain.png")),
        ("sub/c.webp", fixture("photo.webp")),
        ("d.jpg", fixture("grayscale.jpg")),
    ]
    .into_iter()
    .collect();
    for (rel, bytes) in &sources {
        let path = folder.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let config = dir.path().join("photox.toml");
    std::fs::write(
        &config,
        format!(
            "[[import]]\npath = {folder:?}\nowner = \"ann\"\nmode = \"{mode}\"\nwatch = \"poll\"\nsettle = \"0s\"\n"
        ),
    )
    .unwrap();
    let out = photox(
        &data,
        &config,
        &["user", "add", "ann", "--admin", "--password-stdin"],
        "correct-horse-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The first scan aborts the daemon after storing its first file.
    let env = [
        ("PHOTOX_CONFIG", config.to_str().unwrap()),
        ("PHOTOX_CRASH_AT", "import.taken"),
    ];
    let mut daemon = Daemon::start_with_env(&data, &env);
    daemon.wait_for_log("crash point import.taken reached");
    assert!(!daemon.child.wait().unwrap().success());
    drop(daemon);

    let daemon = Daemon::start_with_env(&data, &[("PHOTOX_CONFIG", config.to_str().unwrap())]);
    let client = reqwest::blocking::Client::new();
    let login: Value = client
        .post(daemon.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "ann", "password": "correct-horse-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["data"]["access_token"].as_str().unwrap().to_string();
    let get = |path: &str| -> Value {
        client
            .get(daemon.url(&format!("/api/v1{path}")))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let mut done = false;
    for _ in 0..600 {
        let item = get("/admin/imports")["data"]["items"][0].clone();
        if item["imported"].as_i64().unwrap_or(0) + item["duplicates"].as_i64().unwrap_or(0) >= 4
            || (mode == "move" && common::files_under(&folder).is_empty())
        {
            done = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        done,
        "{mode}: the folder was never fully imported: {}",
        get("/admin/imports")
    );
    let status = get("/admin/imports")["data"]["items"][0].clone();
    assert_eq!(
        status["duplicates"], 0,
        "{mode}: nothing counted twice: {status}"
    );
    let photos = get("/photos?per_page=100")["data"]["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut stored: Vec<String> = photos
        .iter()
        .map(|p| p["checksum"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    let mut want: Vec<String> = sources.values().map(|b| sha256_hex(b)).collect();
    want.sort();
    assert_eq!(stored, want, "{mode}: every photo exactly once");
    if mode == "move" {
        assert!(common::files_under(&folder).is_empty(), "{mode}: moved out");
    } else {
        for (rel, bytes) in &sources {
            assert_eq!(
                &std::fs::read(folder.join(rel)).unwrap(),
                bytes,
                "{mode}: {rel} untouched"
            );
        }
    }
    drop(daemon);
    let out = photox(&data, &config, &["verify"], "");
    assert!(
        out.status.success(),
        "{mode}: verify failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_scan_killed_after_storing_a_copy_imports_everything_once() {
    crash_and_recover("copy");
}

#[test]
fn a_scan_killed_after_storing_a_move_imports_everything_once() {
    crash_and_recover("move");
}

#[test]
fn a_scan_killed_after_referencing_in_place_imports_everything_once() {
    crash_and_recover("in-place");
}
