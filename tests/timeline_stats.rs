//! Timeline, statistics and the admin views.

mod common;

use common::{png, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn timeline_groups_by_taken_at_else_upload_time() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let mut ids = Vec::new();
    for (i, taken) in [
        "2024-05-02T10:00:00Z",
        "2024-05-20T10:00:00Z",
        "2023-01-15T08:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let id = s.upload(&ann.access, "t.png", png(40 + i as u32, 4)).await["id"]
            .as_i64()
            .unwrap();
        s.put(
            &format!("/photos/{id}"),
            Some(&ann.access),
            json!({"taken_at": taken}),
        )
        .await
        .expect(200);
        ids.push(id);
    }
    // No taken_at: counted at its upload time (now).
    let recent = s.upload(&ann.access, "n.png", png(50, 4)).await["id"]
        .as_i64()
        .unwrap();
    let now = chrono::Utc::now();

    let t = s.get("/timeline", Some(&ann.access)).await;
    t.expect(200);
    let years = t.data()["years"].as_array().unwrap();
    let summary: Vec<(i64, i64)> = years
        .iter()
        .map(|y| (y["year"].as_i64().unwrap(), y["count"].as_i64().unwrap()))
        .collect();
    use chrono::Datelike;
    assert_eq!(
        summary,
        [(now.year() as i64, 1), (2024, 2), (2023, 1)],
        "{}",
        t.text
    );
    assert_eq!(years[0]["months"][0]["cover"]["id"], recent);
    let may = &years[1]["months"][0];
    assert_eq!(may["month"], 5);
    assert_eq!(may["count"], 2);
    assert_eq!(may["cover"]["id"], ids[1], "the month's newest photo");

    let only = s.get("/timeline?year=2023", Some(&ann.access)).await;
    assert_eq!(only.data()["years"].as_array().unwrap().len(), 1);
    assert_eq!(only.data()["years"][0]["months"][0]["cover"]["id"], ids[2]);

    let month = s.get("/timeline/2024/5", Some(&ann.access)).await;
    month.expect(200);
    assert_eq!(month.data()["pagination"]["total_items"], 2);
    assert_eq!(month.data()["items"][0]["id"], ids[1]);
    let empty = s.get("/timeline/2024/6", Some(&ann.access)).await;
    assert_eq!(empty.data()["pagination"]["total_items"], 0);
    // Another user's timeline holds none of it.
    let theirs = s.get("/timeline", Some(&bob.access)).await;
    assert_eq!(theirs.data()["years"], json!([]));
    assert_eq!(
        s.get("/timeline/2024/5", Some(&bob.access)).await.data()["pagination"]["total_items"],
        0
    );
    s.get("/timeline/2024/13", Some(&ann.access))
        .await
        .expect(400);
    s.get("/timeline", None).await.expect(401);
    // Trash leaves the timeline.
    s.delete(&format!("/photos/{}", ids[2]), Some(&ann.access))
        .await
        .expect(200);
    let t = s.get("/timeline?year=2023", Some(&ann.access)).await;
    assert_eq!(t.data()["years"], json!([]));
}

#[tokio::test]
async fn stats_per_user_and_system_figures_for_admins() {
    // Tagging off: the figures below count manual tags and thumbnail jobs only.
    let s = TestServer::with_config(|c| {
        c.tagging.enabled = false;
        c.mirror
            .options
            .insert("secret_access_key".into(), "hunter2".into());
    })
    .await;
    let root = s.register("root").await;
    let ann = s.register("ann").await;
    let (a, b) = (png(30, 30), png(31, 30));
    let (a_len, b_len) = (a.len() as i64, b.len() as i64);
    let pa = s.upload(&ann.access, "a.png", a).await["id"]
        .as_i64()
        .unwrap();
    let pb = s.upload(&ann.access, "b.png", b).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&ann.access, pa).await;
    s.wait_processed(&ann.access, pb).await;
    s.put(
        &format!("/photos/{pa}"),
        Some(&ann.access),
        json!({"tags": ["Beach", "sun"]}),
    )
    .await
    .expect(200);
    s.put(
        &format!("/photos/{pb}"),
        Some(&ann.access),
        json!({"tags": ["beach"]}),
    )
    .await
    .expect(200);
    s.post("/albums", Some(&ann.access), json!({"title": "x"}))
        .await
        .expect(201);
    s.delete(&format!("/photos/{pb}"), Some(&ann.access))
        .await
        .expect(200);
    // Background work is over: the thumbnails, and the housekeeping scheduled at start.
    let mut idle = false;
    for _ in 0..1500 {
        let list = s.state.jobs().list(None, 1, 0).await.unwrap();
        idle = list.counts.iter().all(|(state, _)| state == "done");
        if idle {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(idle, "background jobs still under way after 30 s");

    let st = s.get("/stats", Some(&ann.access)).await;
    st.expect(200);
    let d = st.data();
    assert_eq!(d["photos"], 1);
    assert_eq!(d["albums"], 1);
    assert_eq!(d["tags"], 2, "beach and sun on the live photo: {}", st.text);
    assert_eq!(d["storage_used_bytes"], a_len);
    assert_eq!(d["trash_bytes"], b_len);
    assert!(d.get("system").is_none(), "system figures are for admins");

    let st = s.get("/stats", Some(&root.access)).await;
    let sys = &st.data()["system"];
    assert_eq!(st.data()["photos"], 0);
    assert_eq!(sys["users"], 2);
    assert_eq!(sys["photos"], 1);
    assert_eq!(sys["storage_used_bytes"], a_len + b_len);
    assert!(sys["disk_free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(sys["jobs_pending"], 0);
    assert_eq!(sys["jobs_failed"], 0);
    assert_eq!(sys["mirror_pending"], 0);

    // Admin views: 403 for users, 401 without a token.
    for path in ["/admin/photos", "/admin/jobs", "/admin/settings"] {
        s.get(path, Some(&ann.access)).await.expect(403);
        s.get(path, None).await.expect(401);
    }
    let all = s.get("/admin/photos", Some(&root.access)).await;
    all.expect(200);
    assert_eq!(all.data()["pagination"]["total_items"], 1);
    assert_eq!(all.data()["items"][0]["id"], pa);
    let none = s
        .get(
            &format!("/admin/photos?user_id={}", root.id),
            Some(&root.access),
        )
        .await;
    assert_eq!(none.data()["pagination"]["total_items"], 0);

    let jobs = s.get("/admin/jobs", Some(&root.access)).await;
    jobs.expect(200);
    let items = jobs.data()["items"].as_array().unwrap();
    assert_eq!(jobs.data()["counts"]["done"], items.len(), "{}", jobs.text);
    assert_eq!(jobs.data()["counts"]["pending"], 0);
    let thumbnails: Vec<&Value> = items.iter().filter(|j| j["kind"] == "thumbnails").collect();
    assert_eq!(thumbnails.len(), 2, "{}", jobs.text);
    for job in thumbnails {
        assert_eq!(job["state"], "done");
        assert_eq!(job["max_attempts"], 5);
        assert!([json!(pa), json!(pb)].contains(&job["photo_id"]));
    }
    // The rest is housekeeping, which works on no photo.
    let purge = items.iter().find(|j| j["kind"] == "purge_expired_trash");
    assert_eq!(purge.unwrap()["photo_id"], Value::Null, "{}", jobs.text);
    let failed = s.get("/admin/jobs?state=failed", Some(&root.access)).await;
    assert_eq!(failed.data()["pagination"]["total_items"], 0);
    s.get("/admin/jobs?state=bogus", Some(&root.access))
        .await
        .expect(400);

    let settings = s.get("/admin/settings", Some(&root.access)).await;
    settings.expect(200);
    assert!(!settings.text.contains("hunter2"), "{}", settings.text);
    assert_eq!(settings.data()["storage"]["max_upload_mb"], 50);
    assert_ne!(settings.data()["auth"], Value::Null);
}
