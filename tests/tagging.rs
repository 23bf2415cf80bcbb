//! AI tags: real photos get the words people search for, the `tags` step goes through its
//! states, manual tags survive, reprocessing retags, broken images fail cleanly, tagging can be
//! turned off, and the model is unloaded when idle. Photos: `tests/fixtures/tagging/README.md`.

mod common;

use std::time::{Duration, Instant};

use common::daemon::BIN;
use common::{fixture, Part, TestServer};
use serde_json::{json, Value};

/// How long a state may take to be reached (the model loads in about a second in a debug build,
/// and the machine may be busy).
const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `check` until it returns a value (bounded by `PATIENCE`).
async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the photo's `tags` step has ended; returns that step.
async fn wait_tags_step(s: &TestServer, token: &str, id: i64) -> Value {
    poll("the tags step", async || {
        let r = s.get(&format!("/photos/{id}/status"), Some(token)).await;
        r.expect(200);
        let step = step_of(r.data(), "tags");
        (step["status"] != "pending" && step["status"] != "running").then_some(step)
    })
    .await
}

fn step_of(status: &Value, name: &str) -> Value {
    status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {status}"))
        .clone()
}

/// The photo's tags as (name, source, confidence).
async fn tags_of(s: &TestServer, token: &str, id: i64) -> Vec<(String, String, f64)> {
    let r = s.get(&format!("/photos/{id}"), Some(token)).await;
    r.expect(200);
    r.data()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["source"].as_str().unwrap().to_string(),
                t["confidence"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn ai_names(tags: &[(String, String, f64)]) -> Vec<&str> {
    tags.iter()
        .filter(|(_, source, _)| source == "ai")
        .map(|(name, _, _)| name.as_str())
        .collect()
}

/// Uploads `tests/fixtures/tagging/<name>`; returns the photo id.
async fn upload_fixture(s: &TestServer, token: &str, name: &'static str) -> i64 {
    let bytes = fixture(&format!("tagging/{name}"));
    s.upload(token, name, bytes).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn real_photos_get_the_words_people_search_for() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let info = s.get("/api/v1", None).await;
    assert_eq!(info.data()["features"]["tagging"], true);
    let cases: [(&str, &[&str]); 4] = [
        ("chelsea.png", &["cat", "animal"]),
        ("coffee.png", &["coffee", "drink"]),
        ("flower2.jpg", &["butterfly", "insect", "animal"]),
        ("rocket.jpg", &["rocket"]),
    ];
    let mut ids = Vec::new();
    for (name, _) in &cases {
        ids.push(upload_fixture(&s, &ann.access, name).await);
    }
    for ((name, expected), id) in cases.iter().zip(ids) {
        // `ready` only once every step is done or skipped.
        let status = s.wait_processed(&ann.access, id).await;
        assert_eq!(status["status"], "ready", "{name}: {status}");
        assert_eq!(step_of(&status, "tags")["status"], "done", "{name}");
        let tags = tags_of(&s, &ann.access, id).await;
        let names = ai_names(&tags);
        for word in *expected {
            assert!(names.contains(word), "{name}: expected {word} in {tags:?}");
        }
        for (tag, source, confidence) in &tags {
            assert_eq!(source, "ai", "{name}: {tag}");
            assert!(
                *confidence >= 0.3 && *confidence <= 1.0,
                "{name}: {tag} {confidence}"
            );
        }
    }
    // The listing filter finds photos by an AI tag.
    let r = s.get("/photos?tag=cat", Some(&ann.access)).await;
    r.expect(200);
    assert_eq!(r.data()["pagination"]["total_items"], 1);
    // So do search (the index follows the tag job) and the tag lists.
    let r = s.get("/search/photos?q=cat", Some(&ann.access)).await;
    r.expect(200);
    assert_eq!(r.data()["items"][0]["original_filename"], "chelsea.png");
    assert!(r.data()["facets"]["tags"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"name": "cat", "count": 1})));
    let r = s.get("/search/photos?tags=animal", Some(&ann.access)).await;
    assert_eq!(
        r.data()["pagination"]["total_items"],
        2,
        "cat and butterfly"
    );
    let r = s.get("/tags/suggestions?q=ca", Some(&ann.access)).await;
    assert_eq!(r.data()["items"][0]["name"], "cat");
    // Another user finds none of it.
    let bob = s.register("bob").await;
    let r = s.get("/search/photos?q=cat", Some(&bob.access)).await;
    assert_eq!(r.data()["pagination"]["total_items"], 0);
}

#[tokio::test]
async fn the_tags_step_goes_from_pending_to_done_and_settles_the_photo() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let photo = s
        .upload(&ann.access, "chelsea.png", fixture("tagging/chelsea.png"))
        .await;
    // Right after the upload the step is queued (or already under way).
    let id = photo["id"].as_i64().unwrap();
    let r = s
        .get(&format!("/photos/{id}/status"), Some(&ann.access))
        .await;
    let first = step_of(r.data(), "tags")["status"].clone();
    assert!(
        ["pending", "running", "done"].contains(&first.as_str().unwrap()),
        "{first}"
    );
    let step = wait_tags_step(&s, &ann.access, id).await;
    assert_eq!(step["status"], "done", "{step}");
    assert!(step["error"].is_null());
    let status = s.wait_processed(&ann.access, id).await;
    assert_eq!(status["status"], "ready", "{status}");
}

#[tokio::test]
async fn with_tagging_off_the_step_is_skipped_and_no_ai_tags_appear() {
    let s = TestServer::with_config(|c| c.tagging.enabled = false).await;
    let ann = s.register("ann").await;
    let info = s.get("/api/v1", None).await;
    assert_eq!(info.data()["features"]["tagging"], false);
    let id = upload_fixture(&s, &ann.access, "chelsea.png").await;
    let status = s.wait_processed(&ann.access, id).await;
    assert_eq!(status["status"], "ready", "{status}");
    let step = step_of(&status, "tags");
    assert_eq!(step["status"], "skipped");
    assert!(step["error"].as_str().unwrap().contains("disabled"));
    reprocess_tags(&s, &ann.access, id).await;
    let status = s.wait_processed(&ann.access, id).await;
    assert_eq!(status["status"], "ready", "{status}");
    assert_eq!(step_of(&status, "tags")["status"], "skipped");
    assert!(tags_of(&s, &ann.access, id).await.is_empty());
    assert!(s.state.processing().tagger().is_none());
}

async fn reprocess_tags(s: &TestServer, token: &str, id: i64) {
    let path = format!("/photos/{id}/reprocess");
    s.post(&path, Some(token), json!({"steps": ["tags"]}))
        .await
        .expect(202);
}

/// Puts an AI tag on a photo behind the API's back, as an older model run would have left it.
async fn add_stale_ai_tag(s: &TestServer, id: i64) {
    s.state
        .db()
        .run(move |conn| {
            conn.execute(
                "INSERT INTO photo_tags (photo_id, name, source, confidence) VALUES (?1, 'dinosaur', 'ai', 0.9)",
                [id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn reprocessing_replaces_ai_tags_and_keeps_manual_ones() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = upload_fixture(&s, &ann.access, "chelsea.png").await;
    wait_tags_step(&s, &ann.access, id).await;
    let r = s
        .put(
            &format!("/photos/{id}"),
            Some(&ann.access),
            json!({"tags": ["Chelsea", "garden"]}),
        )
        .await;
    r.expect(200);
    add_stale_ai_tag(&s, id).await;
    assert!(ai_names(&tags_of(&s, &ann.access, id).await).contains(&"dinosaur"));

    reprocess_tags(&s, &ann.access, id).await;
    let tags = poll("the stale AI tag to go", async || {
        let tags = tags_of(&s, &ann.access, id).await;
        (!ai_names(&tags).contains(&"dinosaur")).then_some(tags)
    })
    .await;
    assert_eq!(wait_tags_step(&s, &ann.access, id).await["status"], "done");
    let names = ai_names(&tags);
    assert!(names.contains(&"cat"), "{tags:?}");
    let manual: Vec<(&str, f64)> = tags
        .iter()
        .filter(|(_, source, _)| source == "manual")
        .map(|(name, _, confidence)| (name.as_str(), *confidence))
        .collect();
    assert_eq!(manual.len(), 2, "{tags:?}");
    assert!(manual.contains(&("Chelsea", 1.0)) && manual.contains(&("garden", 1.0)));
}

#[tokio::test]
async fn reprocess_tags_from_the_command_line_retags_photos() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = upload_fixture(&s, &ann.access, "coffee.png").await;
    wait_tags_step(&s, &ann.access, id).await;
    add_stale_ai_tag(&s, id).await;
    let data_dir = s.data_dir();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["reprocess", "--steps", "tags"])
            .env("PHOTOX_STORAGE__DATA_DIR", data_dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("queued 1 photos"));
    // The running server picks the job up from the shared queue.
    let tags = poll("the retagging", async || {
        let tags = tags_of(&s, &ann.access, id).await;
        (!ai_names(&tags).contains(&"dinosaur")).then_some(tags)
    })
    .await;
    assert!(ai_names(&tags).contains(&"coffee"), "{tags:?}");
}

#[tokio::test]
async fn a_corrupt_image_fails_the_tags_step_once_and_the_daemon_stays_up() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![Part::File("file", "broken.jpg", fixture("truncated.jpg"))],
        )
        .await;
    r.expect(201);
    let id = r.data()["uploaded"][0]["id"].as_i64().unwrap();
    let step = wait_tags_step(&s, &ann.access, id).await;
    assert_eq!(step["status"], "failed", "{step}");
    let reason = step["error"].as_str().unwrap();
    assert!(reason.contains("corrupt"), "{reason}");
    assert!(tags_of(&s, &ann.access, id).await.is_empty());
    // A permanent failure: one attempt, no retry loop.
    let attempts: Vec<(String, i64)> = s
        .state
        .db()
        .run(|conn| {
            let mut stmt =
                conn.prepare("SELECT state, attempts FROM jobs WHERE kind = 'tags' ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
        .unwrap();
    assert_eq!(attempts, [("failed".to_string(), 1)]);
    let status = s.wait_processed(&ann.access, id).await;
    assert_eq!(status["status"], "failed");

    s.get("/health", None).await.expect(200);
    let ok = upload_fixture(&s, &ann.access, "chelsea.png").await;
    assert_eq!(wait_tags_step(&s, &ann.access, ok).await["status"], "done");
}

#[tokio::test]
async fn the_model_is_unloaded_when_idle_and_loaded_again_on_use() {
    let s = TestServer::with_config(|c| {
        c.tagging.idle_unload = photox::config::HumanDuration(Duration::from_secs(1));
    })
    .await;
    let ann = s.register("ann").await;
    let tagger = s.state.processing().tagger().unwrap().clone();
    assert!(!tagger.is_loaded(), "nothing loads before the first photo");
    let first = upload_fixture(&s, &ann.access, "chelsea.png").await;
    assert_eq!(
        wait_tags_step(&s, &ann.access, first).await["status"],
        "done"
    );
    poll("the idle unload", async || {
        (!tagger.is_loaded()).then_some(())
    })
    .await;
    let second = upload_fixture(&s, &ann.access, "coffee.png").await;
    assert_eq!(
        wait_tags_step(&s, &ann.access, second).await["status"],
        "done"
    );
    assert!(ai_names(&tags_of(&s, &ann.access, second).await).contains(&"coffee"));
}
