//! Hostile query strings: every text (and number) parameter of every GET endpoint, and path
//! segments, with NUL, the other C0 controls, DEL, an encoded UTF-16 surrogate, invalid and
//! truncated UTF-8 and broken percent-escapes, alone and inside a word. Each answer is a 200 or
//! a 4xx in the envelope of API.md §1.1, never a 5xx.

mod common;

use common::{png, Part, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// What goes into a value, as written in the URL (already percent-encoded).
fn hostile_values() -> Vec<String> {
    let mut raw: Vec<String> = (0..0x20).map(|b| format!("%{b:02X}")).collect();
    raw.extend(["%7F", "%ED%A0%80", "%FF", "%C3", "%F0%9F", "%", "%zz", "%2"].map(String::from));
    raw.iter()
        .flat_map(|c| [c.clone(), format!("ab{c}cd"), format!("beach{c}")])
        .collect()
}

/// GET endpoints (with ids that exist) and their query parameters, aliases included.
fn endpoints(photo: i64, album: i64) -> Vec<(String, &'static [&'static str])> {
    vec![
        (
            "/api/v1/search/photos".into(),
            &[
                "q",
                "keywords",
                "tags",
                "camera",
                "lens",
                "start_date",
                "end_date",
                "date_from",
                "date_to",
                "scope",
                "sort",
                "ordering",
                "uploader_id",
                "album_id",
                "has_location",
                "page",
                "per_page",
                "page_size",
            ],
        ),
        ("/api/v1/tags".into(), &["sort", "limit"]),
        ("/api/v1/tags/suggestions".into(), &["q", "limit"]),
        ("/api/v1/tags/cloud".into(), &["min_count", "limit"]),
        ("/api/v1/users".into(), &["q", "page", "per_page", "sort"]),
        (
            "/api/v1/photos".into(),
            &[
                "scope",
                "tag",
                "visibility",
                "status",
                "sort",
                "ordering",
                "album_id",
                "year",
                "month",
                "favorite",
                "page",
                "perpage",
            ],
        ),
        ("/api/v1/photos/trash".into(), &["sort", "page"]),
        (format!("/api/v1/photos/{photo}"), &["x"]),
        (format!("/api/v1/photos/{photo}/status"), &["x"]),
        (
            format!("/api/v1/photos/{photo}/file"),
            &["size", "thumbnail", "download", "exp", "sig"],
        ),
        (
            "/api/v1/albums".into(),
            &["scope", "sort", "ordering", "parent_id"],
        ),
        (format!("/api/v1/albums/{album}"), &["sort", "page"]),
        (format!("/api/v1/albums/{album}/photos"), &["sort", "page"]),
        ("/api/v1/community/albums".into(), &["sort", "ordering"]),
        ("/api/v1/community/photos".into(), &["sort", "ordering"]),
        ("/api/v1/timeline".into(), &["scope", "year"]),
        ("/api/v1/timeline/2024/1".into(), &["scope", "sort"]),
        ("/api/v1/admin/photos".into(), &["user_id", "sort"]),
        ("/api/v1/admin/jobs".into(), &["state"]),
        ("/api/v1/users/me/sessions".into(), &["page"]),
        ("/api/v1/stats".into(), &["x"]),
        ("/api/v1".into(), &["x"]),
    ]
}

/// `None` when the answer is fine, else what was wrong.
async fn check(s: &TestServer, token: &str, path: String) -> Option<String> {
    let r = s
        .client
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .send()
        .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => return Some(format!("{path}: no answer: {e}")),
    };
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    if status >= 500 {
        return Some(format!("{path}: {status} {text}"));
    }
    if status >= 400 {
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        if body["code"] != status || !body["error"]["type"].is_string() {
            return Some(format!("{path}: {status} outside the envelope: {text}"));
        }
    }
    None
}

#[tokio::test]
async fn control_characters_and_bad_utf8_in_any_query_parameter_never_get_a_5xx() {
    let s = TestServer::with_config(|c| c.limits.requests_per_minute = 1_000_000).await;
    let root = s.register("root").await; // the admin, for /users and /admin
    let photo = s
        .upload_parts(
            "/photos",
            &root.access,
            vec![
                Part::Text("title", "Beach day".into()),
                Part::File("file", "beach.png", png(40, 30)),
            ],
        )
        .await;
    photo.expect(201);
    let photo = photo.data()["uploaded"][0]["id"].as_i64().unwrap();
    s.put(
        &format!("/photos/{photo}"),
        Some(&root.access),
        json!({"tags": ["beach", "sea"]}),
    )
    .await
    .expect(200);
    let album = s
        .post("/albums", Some(&root.access), json!({"title": "Summer"}))
        .await;
    album.expect(201);
    let album = album.data()["id"].as_i64().unwrap();

    let values = hostile_values();
    let mut paths = Vec::new();
    for (endpoint, params) in endpoints(photo, album) {
        for param in params {
            for value in &values {
                paths.push(format!("{endpoint}?{param}={value}"));
            }
        }
    }
    for value in &values {
        for template in [
            "/api/v1/photos/{}",
            "/api/v1/photos/{}/file",
            "/api/v1/albums/{}",
            "/api/v1/timeline/{}/1",
            "/api/v1/users/{}/avatar",
            "/api/v1/{}",
        ] {
            paths.push(template.replace("{}", value));
        }
    }
    let total = paths.len();
    let failures: Vec<String> = futures_util::stream::iter(paths)
        .map(|path| check(&s, &root.access, path))
        .buffer_unordered(8)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {total} requests failed:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}

#[tokio::test]
async fn a_nul_inside_a_search_word_separates_words() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("title", "Beach day".into()),
                Part::File("file", "beach.png", png(40, 30)),
            ],
        )
        .await;
    r.expect(201);
    for (q, found) in [("ab%00cd", 0), ("beach%00day", 1), ("beach%00zzz", 0)] {
        let r = s
            .get(&format!("/search/photos?q={q}"), Some(&ann.access))
            .await;
        r.expect(200);
        assert_eq!(r.data()["pagination"]["total_items"], found, "q={q}");
    }
}
