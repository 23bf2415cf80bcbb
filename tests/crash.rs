//! kill -9 in the middle of concurrent uploads: every acknowledged upload survives byte for
//! byte, no stray or half-written file remains, and pending jobs finish after the restart.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, BIN};
use serde_json::{json, Value};

type Acked = (i64, Vec<u8>);

/// A distinct JPEG per seed (~100 KB of noise-like content, so uploads take a moment).
fn unique_jpeg(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(480, 360, |x, y| {
        let v = x
            .wrapping_mul(2654435761)
            .wrapping_add(y.wrapping_mul(40503))
            .wrapping_add(seed.wrapping_mul(97));
        image::Rgb([(v >> 3) as u8, (v >> 11) as u8, (v >> 19) as u8])
    });
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

fn upload(
    client: &reqwest::blocking::Client,
    d_url: &str,
    token: &str,
    bytes: Vec<u8>,
) -> Option<Value> {
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(bytes).file_name("p.jpg"),
    );
    let r = client
        .post(format!("{d_url}/api/v1/photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .ok()?;
    if r.status() != 201 {
        return None;
    }
    let body: Value = r.json().ok()?;
    Some(body["data"]["uploaded"][0].clone())
}

#[test]
fn kill_9_during_concurrent_uploads_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut daemon = Daemon::start(&data);
    let base = daemon.url("");
    let client = reqwest::blocking::Client::new();
    let reg: Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": "ann", "password": "crash-test-pw"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = reg["data"]["access_token"].as_str().unwrap().to_string();

    // (photo id, the bytes sent) of every upload answered with 201.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..6u32)
        .map(|t| {
            let (acked, stop, token, base) =
                (acked.clone(), stop.clone(), token.clone(), base.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for i in 0..40u32 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let bytes = unique_jpeg(t * 1000 + i);
                    match upload(&client, &base, &token, bytes.clone()) {
                        Some(photo) => acked
                            .lock()
                            .unwrap()
                            .push((photo["id"].as_i64().unwrap(), bytes)),
                        None => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() < 12 {
        assert!(Instant::now() < deadline, "uploads did not get going");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL while the other uploads and thumbnail jobs are under way.
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    drop(daemon);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 12);

    let daemon = Daemon::start(&data);
    let base = daemon.url("");
    for (id, bytes) in &acked {
        let r = client
            .get(format!("{base}/api/v1/photos/{id}/file"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged photo {id} is gone");
        assert_eq!(
            r.bytes().unwrap().as_ref(),
            bytes.as_slice(),
            "photo {id} changed"
        );
    }
    // Every photo the database has finishes processing after the restart.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list: Value = client
            .get(format!(
                "{base}/api/v1/photos?per_page=200&status=processing"
            ))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if list["data"]["pagination"]["total_items"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs did not finish after the restart: {list}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let failed: Value = client
        .get(format!("{base}/api/v1/photos?per_page=200&status=failed"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(failed["data"]["pagination"]["total_items"], 0, "{failed}");
    // Nothing half-written is left in tmp/: only the running daemon's own (empty) work dir
    // (a health probe may come and go).
    let leftovers = common::tmp_leftovers(&data);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(daemon);
    // Every row has its file with the right checksum, and every file its row.
    let out = std::process::Command::new(BIN)
        .arg("verify")
        .env("PHOTOX_STORAGE__DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
