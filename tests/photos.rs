//! Uploads, duplicates, content sniffing, limits, listing, update, likes and status.

mod common;

use common::{files_under, jpeg, png, sha256_hex, Part, TestServer};
use serde_json::json;

#[tokio::test]
async fn upload_stores_the_original_byte_for_byte_and_makes_thumbnails() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = png(640, 480);
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("title", "Garden".into()),
                Part::Text("description", "first light".into()),
                Part::File("file", "garden.png", bytes.clone()),
            ],
        )
        .await;
    r.expect(201);
    let d = r.data();
    assert_eq!(d["summary"], json!({"total": 1, "success": 1, "failed": 0}));
    let p = &d["uploaded"][0];
    assert_eq!(p["duplicate"], false);
    assert_eq!(p["title"], "Garden");
    assert_eq!(p["description"], "first light");
    assert_eq!(p["original_filename"], "garden.png");
    assert_eq!(p["mime_type"], "image/png");
    assert_eq!(
        (p["width"].as_i64(), p["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(p["size"], bytes.len() as i64);
    assert_eq!(p["checksum"], sha256_hex(&bytes));
    assert_eq!(p["visibility"], "private");
    assert_eq!(p["owner"], json!({"id": ann.id, "username": "ann"}));
    assert!(p["taken_at"].is_null());
    let id = p["id"].as_i64().unwrap();

    let originals = files_under(&s.data_dir().join("originals"));
    assert_eq!(originals.len(), 1);
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    assert!(
        originals[0].starts_with(&format!("{}/{today}/", ann.id)),
        "{originals:?}"
    );
    assert!(originals[0].ends_with(".png"));
    let stored = std::fs::read(s.data_dir().join("originals").join(&originals[0])).unwrap();
    assert_eq!(stored, bytes, "byte for byte");
    assert!(
        common::tmp_leftovers(&s.data_dir()).is_empty(),
        "nothing left in tmp/"
    );

    let status = s.wait_processed(&ann.access, id).await;
    assert_eq!(status["status"], "ready", "{status}");
    let steps: Vec<(String, String)> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["name"].as_str().unwrap().into(),
                st["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(steps[0], ("stored".into(), "done".into()));
    assert!(
        steps.contains(&("thumbnails".into(), "done".into())),
        "{steps:?}"
    );
    assert_eq!(files_under(&s.data_dir().join("thumbnails")).len(), 2);
    let detail = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(detail.data()["status"], "ready");
}

#[tokio::test]
async fn several_files_in_one_request_under_every_part_name() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("visibility", "public".into()),
                Part::File("file", "a.png", png(10, 10)),
                Part::File("files", "b.png", png(11, 10)),
                Part::File("files[]", "c.jpg", jpeg(12, 10)),
                Part::File("image", "d.png", png(13, 10)),
            ],
        )
        .await;
    r.expect(201);
    assert_eq!(r.data()["summary"]["success"], 4);
    for p in r.data()["uploaded"].as_array().unwrap() {
        assert_eq!(p["visibility"], "public");
    }
}

#[tokio::test]
async fn the_same_bytes_are_stored_once() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = png(50, 40);
    let first = s.upload(&ann.access, "one.png", bytes.clone()).await;
    let second = s.upload(&ann.access, "again.png", bytes.clone()).await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(files_under(&s.data_dir().join("originals")).len(), 1);
    // Another user's copy is their own photo.
    let bob = s.register("bob").await;
    let theirs = s.upload(&bob.access, "mine.png", bytes.clone()).await;
    assert_eq!(theirs["duplicate"], false);
    assert_ne!(theirs["id"], first["id"]);

    let checksum = sha256_hex(&bytes);
    let unknown = "0".repeat(64);
    let r = s
        .post(
            "/photos/exists",
            Some(&ann.access),
            json!({"checksums": [checksum, unknown]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["existing"], json!({checksum.clone(): first["id"]}));
    s.post(
        "/photos/exists",
        Some(&ann.access),
        json!({"checksums": ["nothex"]}),
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn the_type_is_decided_by_content_not_by_name() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let p = s.upload(&ann.access, "really-a-png.jpg", png(20, 20)).await;
    assert_eq!(p["mime_type"], "image/png");
    let html = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![Part::File(
                "file",
                "x.jpg",
                b"<!DOCTYPE html><p>hi".to_vec(),
            )],
        )
        .await;
    html.expect(415);
    assert_eq!(html.error_type(), "UNSUPPORTED_MEDIA_TYPE");
    s.upload_parts(
        "/photos",
        &ann.access,
        vec![Part::File("file", "empty.jpg", Vec::new())],
    )
    .await
    .expect(415);
    // Mixed: the good one is stored, the bad one is listed.
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::File("file", "ok.png", png(21, 20)),
                Part::File("file", "bad.gif", b"GIF but not".to_vec()),
            ],
        )
        .await;
    r.expect(201);
    assert_eq!(
        r.data()["summary"],
        json!({"total": 2, "success": 1, "failed": 1})
    );
    assert_eq!(r.data()["failed"][0]["filename"], "bad.gif");
    assert_eq!(
        r.data()["failed"][0]["error"]["type"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
    s.upload_parts(
        "/photos",
        &ann.access,
        vec![Part::Text("title", "no file".into())],
    )
    .await
    .expect(422);
    assert!(common::tmp_leftovers(&s.data_dir()).is_empty());
}

#[tokio::test]
async fn files_over_the_limit_are_refused_and_leave_nothing() {
    let s = TestServer::with_config(|c| c.storage.max_upload_mb = 1).await;
    let ann = s.register("ann").await;
    let mut big = png(8, 8);
    big.resize(1024 * 1024 + 100, 0);
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![Part::File("file", "big.png", big)],
        )
        .await;
    r.expect(413);
    assert_eq!(r.error_type(), "PAYLOAD_TOO_LARGE");
    assert!(common::tmp_leftovers(&s.data_dir()).is_empty());
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
}

#[tokio::test]
async fn a_full_disk_answers_507() {
    let s = TestServer::with_config(|c| c.storage.min_free_mb = u64::MAX / (1024 * 1024 * 2)).await;
    let ann = s.register("ann").await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![Part::File("file", "a.png", png(8, 8))],
        )
        .await;
    r.expect(507);
    assert_eq!(r.error_type(), "INSUFFICIENT_STORAGE");
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
}

#[tokio::test]
async fn listing_filters_sorts_and_paginates() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let mut ids = Vec::new();
    for (i, w) in [30u32, 10, 20].iter().enumerate() {
        let p = s
            .upload(&ann.access, ["c.png", "a.png", "b.png"][i], png(*w, 9))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    let t = |id: i64, body: serde_json::Value| {
        let s = &s;
        let token = ann.access.clone();
        async move {
            s.put(&format!("/photos/{id}"), Some(&token), body)
                .await
                .expect(200)
                .body
                .clone()
        }
    };
    t(
        ids[0],
        json!({"taken_at": "2019-07-04T10:00:00Z", "is_favorite": true, "tags": ["Beach", "sun"]}),
    )
    .await;
    t(
        ids[1],
        json!({"taken_at": "2021-02-01T00:00:00Z", "title": "Alpha", "visibility": "public"}),
    )
    .await;

    let list = |q: &'static str| {
        let s = &s;
        let token = ann.access.clone();
        async move {
            let r = s.get(&format!("/photos{q}"), Some(&token)).await;
            r.expect(200);
            r.data()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    // Default -taken_at, photos without one by upload time (now, the newest).
    assert_eq!(list("").await, vec![ids[2], ids[1], ids[0]]);
    assert_eq!(list("?sort=taken_at").await, vec![ids[0], ids[1], ids[2]]);
    assert_eq!(list("?ordering=-size").await.len(), 3);
    assert_eq!(list("?favorite=true").await, vec![ids[0]]);
    assert_eq!(list("?tag=beach").await, vec![ids[0]]);
    assert_eq!(list("?year=2019").await, vec![ids[0]]);
    assert_eq!(list("?year=2021&month=2").await, vec![ids[1]]);
    assert_eq!(list("?visibility=public").await, vec![ids[1]]);
    let page = s.get("/photos?per_page=2&page=2", Some(&ann.access)).await;
    assert_eq!(page.data()["pagination"]["total_items"], 3);
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 1);
    s.get("/photos?sort=owner", Some(&ann.access))
        .await
        .expect(400);
    s.get("/photos?month=13", Some(&ann.access))
        .await
        .expect(400);
    s.get("/photos?scope=world", Some(&ann.access))
        .await
        .expect(400);
    s.get("/photos?status=sleeping", Some(&ann.access))
        .await
        .expect(400);
    // Another user sees none of them in their list.
    let bob = s.register("bob").await;
    assert_eq!(
        s.get("/photos", Some(&bob.access)).await.data()["pagination"]["total_items"],
        0
    );
}

#[tokio::test]
async fn updates_replace_manual_tags_and_validate() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "a.png", png(9, 9)).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/photos/{id}");
    let r = s
        .put(
            &path,
            Some(&ann.access),
            json!({"tags": ["cat", " Cat ", "garden  wall"], "title": "Tom"}),
        )
        .await;
    r.expect(200);
    let tags: Vec<_> = r.data()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].clone(), t["source"].clone()))
        .collect();
    assert_eq!(
        tags,
        vec![
            (json!("cat"), json!("manual")),
            (json!("garden wall"), json!("manual"))
        ]
    );
    let r = s
        .send(
            s.client
                .patch(s.url(&path))
                .bearer_auth(&ann.access)
                .json(&json!({"tags": []})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["tags"], json!([]));
    assert_eq!(r.data()["title"], "Tom", "fields left out stay");
    s.put(&path, Some(&ann.access), json!({"visibility": "everyone"}))
        .await
        .expect(422);
    s.put(&path, Some(&ann.access), json!({"taken_at": "yesterday"}))
        .await
        .expect(422);
    let cleared = s
        .put(
            &path,
            Some(&ann.access),
            json!({"title": "", "taken_at": ""}),
        )
        .await;
    assert!(cleared.data()["title"].is_null());
}

#[tokio::test]
async fn a_private_photo_is_invisible_to_everyone_else() {
    let s = TestServer::start().await;
    let _admin = s.register("admin").await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let p = s.upload(&ann.access, "secret.png", png(12, 12)).await;
    let id = p["id"].as_i64().unwrap();
    let b = Some(bob.access.as_str());
    for r in [
        s.get(&format!("/photos/{id}"), b).await,
        s.get(&format!("/photos/{id}/status"), b).await,
        s.get(&format!("/photos/{id}/file"), b).await,
        s.get(&format!("/photos/{id}/file?size=thumbnail"), b).await,
        s.put(&format!("/photos/{id}"), b, json!({"title": "mine now"}))
            .await,
        s.delete(&format!("/photos/{id}"), b).await,
        s.post(&format!("/photos/{id}/restore"), b, json!({})).await,
        s.delete(&format!("/photos/{id}/permanent"), b).await,
        s.post(&format!("/photos/{id}/reprocess"), b, json!({}))
            .await,
        s.post(&format!("/photos/{id}/like"), b, json!({})).await,
        s.delete(&format!("/photos/{id}/like"), b).await,
        s.get(&format!("/photos/{id}"), None).await,
        s.get(&format!("/photos/{id}/file"), None).await,
    ] {
        r.expect(404);
        assert_eq!(r.error_type(), "RESOURCE_NOT_FOUND");
    }
    // Nothing changed.
    let mine = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert!(mine.data()["title"].is_null());
    assert_eq!(mine.data()["like_count"], 0);
    // Bob's exists check does not reveal Ann's photo.
    let r = s
        .post("/photos/exists", b, json!({"checksums": [p["checksum"]]}))
        .await;
    assert_eq!(r.data()["existing"], json!({}));
}

#[tokio::test]
async fn a_public_photo_can_be_seen_and_liked_but_only_the_owner_changes_it() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let id = s.upload(&ann.access, "pub.png", png(12, 12)).await["id"]
        .as_i64()
        .unwrap();
    s.put(
        &format!("/photos/{id}"),
        Some(&ann.access),
        json!({"visibility": "public"}),
    )
    .await
    .expect(200);
    s.get(&format!("/photos/{id}"), None).await.expect(200);
    let seen = s.get(&format!("/photos/{id}"), Some(&bob.access)).await;
    seen.expect(200);
    assert_eq!(seen.data()["liked_by_me"], false);
    let r = s
        .put(
            &format!("/photos/{id}"),
            Some(&bob.access),
            json!({"title": "x"}),
        )
        .await;
    r.expect(403);
    s.delete(&format!("/photos/{id}"), Some(&bob.access))
        .await
        .expect(403);
    for _ in 0..2 {
        let like = s
            .post(&format!("/photos/{id}/like"), Some(&bob.access), json!({}))
            .await;
        like.expect(200);
        assert_eq!(
            like.data(),
            &json!({"like_count": 1, "liked_by_me": true}),
            "idempotent"
        );
    }
    s.post(&format!("/photos/{id}/like"), Some(&ann.access), json!({}))
        .await
        .expect(200);
    let mine = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(mine.data()["like_count"], 2);
    let unlike = s
        .delete(&format!("/photos/{id}/like"), Some(&bob.access))
        .await;
    assert_eq!(
        unlike.data(),
        &json!({"like_count": 1, "liked_by_me": false})
    );
    s.post(&format!("/photos/{id}/like"), None, json!({}))
        .await
        .expect(401);
}

#[tokio::test]
async fn reprocess_redoes_steps_in_the_background() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "a.jpg", jpeg(64, 48)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&ann.access, id).await;
    let thumbs = s.data_dir().join("thumbnails");
    for f in files_under(&thumbs) {
        std::fs::remove_file(thumbs.join(f)).unwrap();
    }
    let r = s
        .post(
            &format!("/photos/{id}/reprocess"),
            Some(&ann.access),
            json!({"steps": ["thumbnails"]}),
        )
        .await;
    r.expect(202);
    assert_eq!(s.wait_processed(&ann.access, id).await["status"], "ready");
    assert_eq!(files_under(&thumbs).len(), 2);
    let no_body = s
        .send(
            s.client
                .post(s.url(&format!("/photos/{id}/reprocess")))
                .bearer_auth(&ann.access),
        )
        .await;
    no_body.expect(202);
    s.post(
        &format!("/photos/{id}/reprocess"),
        Some(&ann.access),
        json!({"steps": ["polish"]}),
    )
    .await
    .expect(422);
    assert_eq!(s.wait_processed(&ann.access, id).await["status"], "ready");
}

#[tokio::test]
async fn uploads_into_an_album_wait_for_albums() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("album_id", "5".into()),
                Part::File("file", "a.png", png(8, 8)),
            ],
        )
        .await;
    r.expect(404);
    s.get("/photos?album_id=5", Some(&ann.access))
        .await
        .expect(404);
}

#[tokio::test]
async fn batch_actions_apply_per_photo_and_report_failures() {
    let s = TestServer::start().await;
    let _admin = s.register("admin").await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let mut ids = Vec::new();
    for w in 10..13u32 {
        ids.push(
            s.upload(&ann.access, "a.png", png(w, 10)).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let bobs = s.upload(&bob.access, "b.png", png(9, 9)).await["id"]
        .as_i64()
        .unwrap();
    let batch = |body: serde_json::Value| {
        let (s, token) = (&s, ann.access.clone());
        async move { s.post("/photos/batch", Some(&token), body).await }
    };
    let r = batch(json!({"photo_ids": [ids[0], ids[1], bobs, 9999], "action": "favorite"})).await;
    r.expect(200);
    assert_eq!(r.data()["succeeded"], json!([ids[0], ids[1]]));
    let failed = r.data()["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["id"], bobs);
    assert_eq!(
        failed[0]["error"]["type"], "RESOURCE_NOT_FOUND",
        "Bob's private photo is not revealed"
    );
    let favs = s.get("/photos?favorite=true", Some(&ann.access)).await;
    assert_eq!(favs.data()["pagination"]["total_items"], 2);

    batch(json!({"photo_ids": ids, "action": "add_tags", "data": {"tags": ["trip", "2024"]}}))
        .await
        .expect(200);
    batch(json!({"photo_ids": [ids[2]], "action": "remove_tags", "data": {"tags": ["trip"]}}))
        .await
        .expect(200);
    assert_eq!(
        s.get("/photos?tag=trip", Some(&ann.access)).await.data()["pagination"]["total_items"],
        2
    );
    batch(json!({"photo_ids": [ids[0]], "action": "set_visibility", "data": {"visibility": "public"}})).await.expect(200);
    s.get(&format!("/photos/{}", ids[0]), None)
        .await
        .expect(200);

    let r = batch(json!({"photo_ids": [ids[1], ids[2]], "action": "delete"})).await;
    assert_eq!(r.data()["succeeded"], json!([ids[1], ids[2]]));
    assert_eq!(
        s.get("/photos/trash", Some(&ann.access)).await.data()["pagination"]["total_items"],
        2
    );
    let r = batch(json!({"photo_ids": [ids[1], ids[0]], "action": "restore"})).await;
    assert_eq!(r.data()["succeeded"], json!([ids[1]]));
    assert_eq!(r.data()["failed"][0]["error"]["type"], "RESOURCE_CONFLICT");
    batch(json!({"photo_ids": [ids[2]], "action": "purge"}))
        .await
        .expect(200);
    s.get(&format!("/photos/{}", ids[2]), Some(&ann.access))
        .await
        .expect(404);

    batch(json!({"photo_ids": [ids[0]], "action": "paint"}))
        .await
        .expect(422);
    batch(json!({"photo_ids": [ids[0]], "action": "set_visibility"}))
        .await
        .expect(422);
    batch(json!({"photo_ids": [], "action": "favorite"}))
        .await
        .expect(422);
    let r =
        batch(json!({"photo_ids": [ids[0]], "action": "add_to_album", "data": {"album_id": 1}}))
            .await;
    assert_eq!(r.data()["failed"][0]["error"]["type"], "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn deleting_a_user_with_photos_needs_purge_which_removes_their_files() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let bytes = png(15, 15);
    let id = s.upload(&bob.access, "b.png", bytes.clone()).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&bob.access, id).await;
    assert_eq!(files_under(&s.data_dir().join("thumbnails")).len(), 2);
    let me = s.get("/users/me", Some(&bob.access)).await;
    assert_eq!(me.data()["storage_used_bytes"], bytes.len() as i64);
    let r = s
        .delete(&format!("/users/{}", bob.id), Some(&admin.access))
        .await;
    r.expect(409);
    assert_eq!(r.error_type(), "RESOURCE_CONFLICT");
    s.delete(
        &format!("/users/{}?purge=true", bob.id),
        Some(&admin.access),
    )
    .await
    .expect(200);
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
    assert!(files_under(&s.data_dir().join("thumbnails")).is_empty());
    s.get("/auth/me", Some(&bob.access)).await.expect(401);
}

#[tokio::test]
async fn a_client_that_vanishes_mid_upload_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let data_dir = s.data_dir();
    let in_tmp = || common::tmp_leftovers(&data_dir).len();
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let boundary = "XBOUNDARYX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
    );
    let request = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 10000000\r\n\r\n{head}",
        ann.access
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let start = png(64, 64);
    conn.write_all(&start).await.unwrap();
    conn.write_all(&vec![0u8; 600 * 1024]).await.unwrap();
    conn.flush().await.unwrap();
    // Wait until the server is writing the upload into tmp/, then vanish.
    for _ in 0..400 {
        if in_tmp() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(in_tmp() > 0, "the upload never started");
    drop(conn);
    for _ in 0..400 {
        if in_tmp() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        in_tmp(),
        0,
        "tmp/ still holds {:?}",
        common::tmp_leftovers(&data_dir)
    );
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
    assert_eq!(
        s.get("/photos", Some(&ann.access)).await.data()["pagination"]["total_items"],
        0
    );
}
