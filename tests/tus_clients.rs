//! Off-the-shelf tus clients upload to Photox unchanged: tus-js-client under Node.js (what Uppy
//! uses in the browser) and tuspy, each with a whole file in one PATCH (their default), in 1 MB
//! chunks, and tus-js-client with `parallelUploads: 3` (concatenation). Every photo is
//! byte-identical to its source and shows the metadata the client sent.
//!
//! The clients come from `tests/tus-clients/setup.sh` (tus-js-client from package-lock.json,
//! tuspy pinned in requirements.txt, in ~/.cache/photox-ci; `.ci/run` runs it first);
//! `PHOTOX_TUS_CLIENTS` may name a directory it made. Without them the test fails and says
//! how to get them; it never passes by skipping.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tus::{noisy_jpeg, upload_files};
use common::{Session, TestServer};
use serde_json::Value;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tus-clients")
}

/// The directory with `node_modules/` and `venv/`: `PHOTOX_TUS_CLIENTS`, else what
/// `tests/tus-clients/setup.sh` makes (on first use).
fn tools() -> PathBuf {
    let how = "tus-js-client and tuspy are needed by this test. `bash tests/tus-clients/setup.sh` \
               installs them into ~/.cache/photox-ci (it needs node and npm, python3 with venv, \
               and the npm registry and PyPI the first time; .ci/run does this), or set \
               PHOTOX_TUS_CLIENTS to a directory it made";
    let dir = match std::env::var_os("PHOTOX_TUS_CLIENTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let out = Command::new("bash")
                .arg(clients_dir().join("setup.sh"))
                .output()
                .unwrap_or_else(|e| panic!("{how}: cannot run bash: {e}"));
            assert!(
                out.status.success(),
                "{how}. tests/tus-clients/setup.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    for needed in ["node_modules/tus-js-client", "venv/bin/python"] {
        assert!(
            dir.join(needed).exists(),
            "{how}: {needed} is missing in {}",
            dir.display()
        );
    }
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "{how}: `node` is not on PATH"
    );
    dir
}

/// Runs a client on `file`; returns what it printed.
async fn run_client(program: PathBuf, args: Vec<String>, node_path: PathBuf) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&program)
            .args(&args)
            .env("NODE_PATH", node_path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the client failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(printed.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the client printed {printed:?}: {e}"))
}

/// Checks that photo `id` holds `bytes` and the client's metadata.
async fn assert_photo(s: &TestServer, ann: &Session, answer: &Value, bytes: &[u8], title: &str) {
    let id = answer["photo_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no Photo-Id reached the client: {answer}"));
    assert_eq!(answer["duplicate"], false, "{title}");
    assert_eq!(
        s.original(&ann.access, id).await,
        bytes,
        "{title}: byte for byte"
    );
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    photo.expect(200);
    assert_eq!(photo.data()["title"], title);
    assert_eq!(photo.data()["checksum"], common::sha256_hex(bytes));
}

async fn server() -> (TestServer, Session) {
    let s = TestServer::with_config(|c| c.tagging.enabled = false).await;
    let ann = s.register("ann").await;
    (s, ann)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_whole_in_chunks_and_in_parallel() {
    let tools = tools();
    let (s, ann) = server().await;
    let endpoint = format!("{}/api/v1/uploads", s.base);
    for (i, mode) in ["whole", "chunks", "parallel"].into_iter().enumerate() {
        // About 3 MB, so that 1 MB chunks and three parts are several of each.
        let bytes = noisy_jpeg(50 + i as u32, 1500);
        let file = s.dir.path().join(format!("js-{mode}.jpg"));
        std::fs::write(&file, &bytes).unwrap();
        let args = vec![
            clients_dir().join("upload.cjs").display().to_string(),
            endpoint.clone(),
            ann.access.clone(),
            file.display().to_string(),
            mode.to_string(),
        ];
        let answer = run_client("node".into(), args, tools.join("node_modules")).await;
        assert_photo(&s, &ann, &answer, &bytes, &format!("tus-js-client {mode}")).await;
        let url = answer["url"].as_str().unwrap();
        let path = &url[url.find("/api/v1/uploads/").expect("an upload URL")..];
        let head = s.tus_head(&ann.access, path).await;
        let concat = head.header("upload-concat");
        if mode == "parallel" {
            assert!(
                concat.is_some_and(|c| c.starts_with("final;")),
                "{concat:?}"
            );
        } else {
            assert_eq!(concat, None);
        }
    }
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_whole_and_in_chunks() {
    let tools = tools();
    let (s, ann) = server().await;
    let endpoint = format!("{}/api/v1/uploads", s.base);
    let python = tools.join("venv/bin/python");
    for (i, mode) in ["whole", "chunks", "checksum"].into_iter().enumerate() {
        let bytes = noisy_jpeg(60 + i as u32, 1500);
        let file = s.dir.path().join(format!("py-{mode}.jpg"));
        std::fs::write(&file, &bytes).unwrap();
        let args = vec![
            clients_dir().join("upload_tuspy.py").display().to_string(),
            endpoint.clone(),
            ann.access.clone(),
            file.display().to_string(),
            mode.to_string(),
        ];
        let answer = run_client(python.clone(), args, tools.join("node_modules")).await;
        assert_photo(&s, &ann, &answer, &bytes, &format!("tuspy {mode}")).await;
    }
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
}
