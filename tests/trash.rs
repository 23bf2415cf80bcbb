//! The trash round trip, checked on disk: delete moves the original into trash/, restore moves
//! it back, permanent delete removes files and row.

mod common;

use common::{files_under, png, TestServer};
use serde_json::json;

#[tokio::test]
async fn trash_restore_and_purge_move_the_files() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = png(33, 22);
    let p = s.upload(&ann.access, "a.png", bytes.clone()).await;
    let id = p["id"].as_i64().unwrap();
    s.wait_processed(&ann.access, id).await;
    let originals = s.data_dir().join("originals");
    let trash = s.data_dir().join("trash");
    let before = files_under(&originals);
    assert_eq!(before.len(), 1);
    let uuid_file = before[0].rsplit('/').next().unwrap().to_string();

    s.delete(&format!("/photos/{id}"), Some(&ann.access))
        .await
        .expect(200);
    assert!(files_under(&originals).is_empty());
    assert_eq!(files_under(&trash), vec![format!("{}/{uuid_file}", ann.id)]);
    assert_eq!(
        std::fs::read(trash.join(ann.id.to_string()).join(&uuid_file)).unwrap(),
        bytes
    );
    assert_eq!(
        s.get("/photos", Some(&ann.access)).await.data()["pagination"]["total_items"],
        0
    );
    let listed = s.get("/photos/trash", Some(&ann.access)).await;
    listed.expect(200);
    let item = &listed.data()["items"][0];
    assert_eq!(item["id"], id);
    let deleted =
        chrono::DateTime::parse_from_rfc3339(item["deleted_at"].as_str().unwrap()).unwrap();
    let purge = chrono::DateTime::parse_from_rfc3339(item["purge_at"].as_str().unwrap()).unwrap();
    assert_eq!((purge - deleted).num_days(), 30);
    // The owner can still fetch it through its signed URL (e.g. a trash view thumbnail).
    assert_eq!(
        s.get_raw(item["urls"]["thumbnail"].as_str().unwrap(), None, &[])
            .await
            .status(),
        200
    );
    s.delete(&format!("/photos/{id}"), Some(&ann.access))
        .await
        .expect(409);
    s.put(
        &format!("/photos/{id}"),
        Some(&ann.access),
        json!({"title": "x"}),
    )
    .await
    .expect(409);

    let restored = s
        .post(
            &format!("/photos/{id}/restore"),
            Some(&ann.access),
            json!({}),
        )
        .await;
    restored.expect(200);
    assert!(restored.data()["deleted_at"].is_null());
    assert_eq!(files_under(&originals), before);
    assert!(files_under(&trash).is_empty());
    s.post(
        &format!("/photos/{id}/restore"),
        Some(&ann.access),
        json!({}),
    )
    .await
    .expect(409);
    s.delete(&format!("/photos/{id}/permanent"), Some(&ann.access))
        .await
        .expect(409);

    s.delete(&format!("/photos/{id}"), Some(&ann.access))
        .await
        .expect(200);
    s.delete(&format!("/photos/{id}/permanent"), Some(&ann.access))
        .await
        .expect(200);
    assert!(files_under(&originals).is_empty());
    assert!(files_under(&trash).is_empty());
    assert!(files_under(&s.data_dir().join("thumbnails")).is_empty());
    s.get(&format!("/photos/{id}"), Some(&ann.access))
        .await
        .expect(404);
    // Purged bytes can be uploaded again as a new photo.
    let again = s.upload(&ann.access, "a.png", bytes).await;
    assert_eq!(again["duplicate"], false);
}

#[tokio::test]
async fn emptying_the_trash_purges_only_the_callers_trash() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    for i in 0..3u32 {
        let id = s.upload(&ann.access, "a.png", png(10 + i, 10)).await["id"]
            .as_i64()
            .unwrap();
        if i < 2 {
            s.delete(&format!("/photos/{id}"), Some(&ann.access))
                .await
                .expect(200);
        }
    }
    let bobs = s.upload(&bob.access, "b.png", png(9, 9)).await["id"]
        .as_i64()
        .unwrap();
    s.delete(&format!("/photos/{bobs}"), Some(&bob.access))
        .await
        .expect(200);
    // Bob cannot see or restore Ann's trash.
    assert_eq!(
        s.get("/photos/trash", Some(&bob.access)).await.data()["pagination"]["total_items"],
        1
    );
    let r = s.delete("/photos/trash", Some(&ann.access)).await;
    r.expect(200);
    assert_eq!(r.data(), &json!({"purged": 2}));
    assert_eq!(
        s.get("/photos", Some(&ann.access)).await.data()["pagination"]["total_items"],
        1
    );
    assert_eq!(
        s.get("/photos/trash", Some(&bob.access)).await.data()["pagination"]["total_items"],
        1
    );
    assert_eq!(files_under(&s.data_dir().join("trash")).len(), 1);
}

#[tokio::test]
async fn trash_older_than_the_retention_is_purged_automatically() {
    let s = TestServer::with_config(|c| c.storage.trash_retention_days = 30).await;
    let ann = s.register("ann").await;
    let old = s.upload(&ann.access, "old.png", png(20, 20)).await["id"]
        .as_i64()
        .unwrap();
    let recent = s.upload(&ann.access, "recent.png", png(21, 20)).await["id"]
        .as_i64()
        .unwrap();
    for id in [old, recent] {
        s.delete(&format!("/photos/{id}"), Some(&ann.access))
            .await
            .expect(200);
    }
    // Age one of them past the retention, as if it had been trashed 31 days ago.
    s.state
        .db()
        .run(move |c| {
            c.execute(
                "UPDATE photos SET deleted_at = deleted_at - 31 * 86400 WHERE id = ?1",
                [old],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    // The maintenance task runs this hourly (and at start); call it directly.
    assert_eq!(s.state.trash().purge_expired_trash().await.unwrap(), 1);
    s.get(&format!("/photos/{old}"), Some(&ann.access))
        .await
        .expect(404);
    s.get(&format!("/photos/{recent}"), Some(&ann.access))
        .await
        .expect(200);
    assert_eq!(files_under(&s.data_dir().join("trash")).len(), 1);
}
