//! Nothing a user once had (an id, a token, a signed URL) reaches what somebody else owns later:
//! ids are never handed out twice, tokens carry their session's secret, and file URLs are bound
//! to the very photo they were made for.

mod common;

use common::{jpeg, TestServer};
use serde_json::{json, Value};

/// The three file URLs of a photo, as its owner got them.
fn urls(photo: &Value) -> Vec<String> {
    ["original", "preview", "thumbnail"]
        .iter()
        .map(|size| photo["urls"][size].as_str().unwrap().to_string())
        .collect()
}

async fn status_of(s: &TestServer, url: &str) -> u16 {
    s.get_raw(url, None, &[]).await.status().as_u16()
}

#[tokio::test]
async fn a_purged_photos_signed_urls_never_serve_another_users_photo() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let first = s.upload(&ann.access, "a.jpg", jpeg(64, 48)).await;
    let first_id = first["id"].as_i64().unwrap();
    s.wait_processed(&ann.access, first_id).await;
    let old_urls = urls(&first);
    for url in &old_urls {
        assert_eq!(
            status_of(&s, url).await,
            200,
            "{url} works while the photo lives"
        );
    }
    s.delete(&format!("/photos/{first_id}"), Some(&ann.access))
        .await
        .expect(200);
    s.delete(&format!("/photos/{first_id}/permanent"), Some(&ann.access))
        .await
        .expect(200);

    let second = s.upload(&bob.access, "b.jpg", jpeg(80, 60)).await;
    let second_id = second["id"].as_i64().unwrap();
    s.wait_processed(&bob.access, second_id).await;
    assert_ne!(
        second_id, first_id,
        "a purged photo's id is never handed out again"
    );
    for url in &old_urls {
        assert_eq!(status_of(&s, url).await, 404, "{url} outlived its photo");
    }
    // The same URL pointed at Bob's photo (what a reused id would do) is refused as well.
    for url in &old_urls {
        let retargeted = url.replace(
            &format!("/photos/{first_id}/"),
            &format!("/photos/{second_id}/"),
        );
        assert_eq!(status_of(&s, &retargeted).await, 404, "{retargeted}");
    }
    for url in urls(&second) {
        assert_eq!(status_of(&s, &url).await, 200, "Bob's own URLs work");
    }
}

#[tokio::test]
async fn a_signed_url_is_bound_to_its_photo_not_to_its_id() {
    // A row that took over an id (as SQLite did before ids were never reused, and may once
    // more for ids freed before the upgrade) is another photo: the old URL does not open it.
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let photo = s.upload(&ann.access, "a.jpg", jpeg(64, 48)).await;
    let id = photo["id"].as_i64().unwrap();
    s.wait_processed(&ann.access, id).await;
    let old_urls = urls(&photo);
    assert_eq!(status_of(&s, &old_urls[0]).await, 200);
    // Another photo at this id: its own storage key, its files under that key.
    let old_key: String = s
        .state
        .db()
        .run(move |c| Ok(c.query_row("SELECT uuid FROM photos WHERE id = ?1", [id], |r| r.get(0))?))
        .await
        .unwrap();
    let new_key = "another0photo0at0the0same0id000".to_string();
    let old = old_key.clone();
    for file in common::files_under(&s.data_dir()) {
        if file.contains(&old_key) {
            let from = s.data_dir().join(&file);
            std::fs::rename(&from, s.data_dir().join(file.replace(&old_key, &new_key))).unwrap();
        }
    }
    s.state
        .db()
        .run(move |c| {
            c.execute(
                "UPDATE photos SET uuid = ?2, file_path = replace(file_path, ?3, ?2) WHERE id = ?1",
                (id, &new_key, &old),
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let r = s
        .get(&format!("/photos/{id}/file"), Some(&ann.access))
        .await;
    assert_eq!(r.status, 200, "the photo at this id is served to its owner");
    for url in &old_urls {
        assert_eq!(status_of(&s, url).await, 404, "{url}");
    }
}

#[tokio::test]
async fn a_deleted_users_tokens_never_log_in_as_the_next_user() {
    let s = TestServer::start().await;
    let root = s.register("root").await;
    let gone = s.register("gone").await;
    s.get("/auth/me", Some(&gone.access)).await.expect(200);
    s.delete(&format!("/users/{}", gone.id), Some(&root.access))
        .await
        .expect(200);

    let newcomer = s.register("newcomer").await;
    assert_ne!(
        newcomer.id, gone.id,
        "a deleted user's id is never handed out again"
    );
    let r = s.get("/auth/me", Some(&gone.access)).await;
    r.expect(401);
    assert_eq!(r.error_type(), "INVALID_TOKEN");
    s.post(
        "/auth/refresh",
        None,
        json!({"refresh_token": gone.refresh}),
    )
    .await
    .expect(401);
    s.get("/auth/me", Some(&newcomer.access)).await.expect(200);
}

#[tokio::test]
async fn a_token_only_matches_the_session_it_was_issued_for() {
    // Put a newcomer's user and session rows at the ids of a deleted user's (what a reused id
    // would do): the old tokens name those ids but not the new session's secret.
    let s = TestServer::start().await;
    let root = s.register("root").await;
    let gone = s.register("gone").await;
    let session_id: i64 = {
        let r = s.get("/users/me/sessions", Some(&gone.access)).await;
        r.expect(200).data()["items"][0]["id"].as_i64().unwrap()
    };
    s.delete(&format!("/users/{}", gone.id), Some(&root.access))
        .await
        .expect(200);
    let newcomer = s.register("newcomer").await;
    let (user_id, new_user) = (gone.id, newcomer.id);
    s.state
        .db()
        .run(move |c| {
            c.execute("PRAGMA foreign_keys = OFF", [])?;
            c.execute(
                "UPDATE users SET id = ?1 WHERE id = ?2",
                [user_id, new_user],
            )?;
            c.execute(
                "UPDATE sessions SET id = ?1, user_id = ?2 WHERE user_id = ?3",
                [session_id, user_id, new_user],
            )?;
            c.execute("PRAGMA foreign_keys = ON", [])?;
            Ok(())
        })
        .await
        .unwrap();
    s.get("/auth/me", Some(&gone.access)).await.expect(401);
    s.post(
        "/auth/refresh",
        None,
        json!({"refresh_token": gone.refresh}),
    )
    .await
    .expect(401);
    // The newcomer's own tokens name their (moved) ids no more, so log in afresh: it works.
    let again = s.login_ok("newcomer").await;
    let me = s.get("/auth/me", Some(&again.access)).await;
    assert_eq!(me.expect(200).data()["id"], user_id);
}

#[tokio::test]
async fn ids_are_never_reused_after_purge_or_deletion() {
    let s = TestServer::start().await;
    let (root, ann, bob, _eve) = s.household().await;

    // Photos: the newest one purged.
    let p = s.upload(&ann.access, "a.jpg", jpeg(32, 32)).await["id"]
        .as_i64()
        .unwrap();
    s.delete(&format!("/photos/{p}"), Some(&ann.access)).await;
    s.delete("/photos/trash", Some(&ann.access))
        .await
        .expect(200);
    let next = s.upload(&ann.access, "b.jpg", jpeg(40, 32)).await["id"]
        .as_i64()
        .unwrap();
    assert!(next > p, "photo id {next} after purged {p}");

    // Albums: the newest one deleted.
    let album = |title: &str| json!({"title": title});
    let a = s.post("/albums", Some(&ann.access), album("one")).await;
    let a = a.expect(201).data()["id"].as_i64().unwrap();
    s.delete(&format!("/albums/{a}"), Some(&ann.access))
        .await
        .expect(200);
    let b = s.post("/albums", Some(&ann.access), album("two")).await;
    let b = b.expect(201).data()["id"].as_i64().unwrap();
    assert!(b > a, "album id {b} after deleted {a}");

    // Families: the last member leaving deletes it.
    let f = s.get("/family", Some(&ann.access)).await.data()["id"]
        .as_i64()
        .unwrap();
    s.post("/family/leave", Some(&bob.access), json!({})).await;
    s.post("/family/leave", Some(&ann.access), json!({}))
        .await
        .expect(200);
    let g = s
        .post("/family", Some(&bob.access), json!({"name": "New"}))
        .await;
    let g = g.expect(201).data()["id"].as_i64().unwrap();
    assert!(g > f, "family id {g} after deleted {f}");

    // Users and their sessions: the newest user deleted.
    let tmp = s.register("tmp").await;
    let tmp_session = s.get("/users/me/sessions", Some(&tmp.access)).await.data()["items"][0]["id"]
        .as_i64()
        .unwrap();
    s.delete(&format!("/users/{}", tmp.id), Some(&root.access))
        .await
        .expect(200);
    let later = s.register("later").await;
    assert!(
        later.id > tmp.id,
        "user id {} after deleted {}",
        later.id,
        tmp.id
    );
    let later_session = s
        .get("/users/me/sessions", Some(&later.access))
        .await
        .data()["items"][0]["id"]
        .as_i64()
        .unwrap();
    assert!(later_session > tmp_session, "session ids never reused");
}
