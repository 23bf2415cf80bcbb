//! The published OpenAPI document is the truth: schemathesis generates requests from it (valid
//! and invalid ones, for every operation, plus sequences that follow the links between them)
//! and checks every answer against it with all of its checks. The run is deterministic and
//! bounded (see `MAX_EXAMPLES`).
//!
//! schemathesis comes from the venv that `tests/schemathesis-venv.sh` makes from
//! `tests/requirements.txt` (`.ci/run` runs it first); `PHOTOX_SCHEMATHESIS` may name another
//! `st` of the same version.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{jpeg, png, Part, TestServer, PASSWORD};
use serde_json::json;

/// Generated test cases per operation and phase: about a minute on an idle machine.
const MAX_EXAMPLES: u32 = 25;

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// The pinned version, from `tests/requirements.txt`.
fn pinned_version() -> String {
    let requirements = std::fs::read_to_string(repo_file("tests/requirements.txt")).unwrap();
    requirements
        .lines()
        .find_map(|l| l.strip_prefix("schemathesis=="))
        .expect("tests/requirements.txt pins schemathesis")
        .trim()
        .to_string()
}

/// The `st` command: `PHOTOX_SCHEMATHESIS`, else the venv of `tests/schemathesis-venv.sh`
/// (made on first use). Never skips: without schemathesis this test fails and says why.
fn schemathesis() -> PathBuf {
    let how =
        "schemathesis is needed by this test. `bash tests/schemathesis-venv.sh` installs the \
               version pinned in tests/requirements.txt into ~/.cache/photox-ci (it needs \
               python3 with venv and PyPI the first time; .ci/run does this), or set \
               PHOTOX_SCHEMATHESIS to the path of an `st` of that version";
    let st = match std::env::var_os("PHOTOX_SCHEMATHESIS") {
        Some(path) => PathBuf::from(path),
        None => {
            let out = Command::new("bash")
                .arg(repo_file("tests/schemathesis-venv.sh"))
                .output()
                .unwrap_or_else(|e| panic!("{how}: cannot run bash: {e}"));
            assert!(
                out.status.success(),
                "{how}. tests/schemathesis-venv.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let version = Command::new(&st)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{how}: cannot run {}: {e}", st.display()));
    let version = String::from_utf8_lossy(&version.stdout);
    let pinned = pinned_version();
    assert!(
        version.contains(&pinned),
        "{} is `{}`, not schemathesis {pinned}. {how}",
        st.display(),
        version.trim()
    );
    st
}

/// A household for the run to work on: root (user 1, admin, the run's account) with a private
/// photo and a public one with EXIF and GPS (1 and 2, both in album 1) and one in the trash (3),
/// and ann (user 2, with an avatar) in root's family.
async fn household(s: &TestServer) {
    let root = s.register("root").await;
    let ann = s.register("ann").await;
    assert_eq!(
        (root.id, ann.id),
        (1, 2),
        "tests/schemathesis.toml names these ids"
    );
    s.same_family(&root, &ann).await;
    let private = s.upload(&root.access, "plain.jpg", jpeg(64, 48)).await;
    let gps = std::fs::read(repo_file("tests/fixtures/exif_orientation6_gps.jpg")).unwrap();
    let public = s
        .upload_parts(
            "/photos",
            &root.access,
            vec![
                Part::Text("visibility", "public".into()),
                Part::Text("title", "Beach".into()),
                Part::File("file", "gps.jpg", gps),
            ],
        )
        .await;
    public.expect(201);
    let public = public.data()["uploaded"][0].clone();
    assert_eq!(
        (private["id"].as_i64(), public["id"].as_i64()),
        (Some(1), Some(2))
    );
    let album = s
        .post(
            "/albums",
            Some(&root.access),
            json!({"title": "Summer", "description": "by the sea"}),
        )
        .await;
    album.expect(201);
    assert_eq!(album.data()["id"], 1);
    s.post(
        "/albums/1/photos",
        Some(&root.access),
        json!({"photo_ids": [1, 2]}),
    )
    .await
    .expect(200);
    s.put(
        "/photos/1",
        Some(&root.access),
        json!({"tags": ["sea", "summer"], "is_favorite": true}),
    )
    .await
    .expect(200);
    let avatar = reqwest::multipart::Part::bytes(png(80, 80)).file_name("me.png");
    let put = s
        .send(
            s.client
                .put(s.url("/users/me/avatar"))
                .bearer_auth(&ann.access)
                .multipart(reqwest::multipart::Form::new().part("file", avatar)),
        )
        .await;
    put.expect(200);
    let trashed = s.upload(&root.access, "old.png", png(40, 30)).await;
    assert_eq!(trashed["id"], 3);
    for id in [1, 2, 3] {
        s.wait_processed(&root.access, id).await;
    }
    s.delete("/photos/3", Some(&root.access)).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_what_the_server_does() {
    let st = schemathesis();
    let s = TestServer::with_config(|c| {
        // The run sends thousands of requests and logs in again after each logout.
        c.limits.requests_per_minute = 1_000_000;
        c.limits.upload_per_minute = 1_000_000;
        c.limits.login_per_minute = 1_000_000;
        // Tagging is tested elsewhere; here it would only cost time.
        c.tagging.enabled = false;
    })
    .await;
    household(&s).await;
    assert_eq!(
        PASSWORD, "correct-horse-1",
        "tests/schemathesis.toml logs in with it"
    );

    let spec = format!("{}/api/v1/openapi.json", s.base);
    let config = repo_file("tests/schemathesis.toml");
    let workdir = s.dir.path().to_path_buf();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&st)
            // Whatever schemathesis writes stays in the server's temporary directory.
            .current_dir(&workdir)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &spec, "--checks", "all"])
            // The same cases in the same order on every run.
            .args(["--generation-deterministic", "--workers", "1"])
            .args(["--max-examples", &MAX_EXAMPLES.to_string()])
            .args(["--request-timeout", "60", "--no-color"])
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "4858 generated, 4858 passed, 134 skipped" and "=== 2 warnings in 47.12s ===".
    let summary: Vec<&str> = stdout
        .lines()
        .map(|l| l.trim().trim_matches('=').trim())
        .filter(|l| {
            let counted = l
                .split(' ')
                .next()
                .is_some_and(|n| n.parse::<u64>().is_ok());
            counted && (l.contains(" generated,") || l.contains(" in "))
        })
        .collect();
    eprintln!(
        "schemathesis: {} ({:.0} s)",
        summary.join(" | ").trim(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "schemathesis found contradictions between the OpenAPI document and the server:\n\
         {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run kept its account: what it tested as root was tested as an administrator.
    let root = s.login_ok("root").await;
    let me = s.get("/auth/me", Some(&root.access)).await;
    assert_eq!(
        (&me.data()["role"], &me.data()["is_active"]),
        (&json!("admin"), &json!(true))
    );
    let operations: usize = s.get("/api/v1/openapi.json", None).await.body["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert!(
        stdout.contains(&format!("Tested: {operations}")),
        "not every one of the {operations} operations was tested:\n{stdout}"
    );
}
