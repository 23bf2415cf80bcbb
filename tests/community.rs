//! The community feed (public, no login) and page totals under mixed visibility.

mod common;

use common::{png, Session, TestServer};
use serde_json::json;

async fn photo(s: &TestServer, who: &Session, width: u32, visibility: &str) -> i64 {
    let id = s.upload(&who.access, "p.png", png(width, 7)).await["id"]
        .as_i64()
        .unwrap();
    s.put(
        &format!("/photos/{id}"),
        Some(&who.access),
        json!({"visibility": visibility}),
    )
    .await
    .expect(200);
    id
}

#[tokio::test]
async fn community_lists_only_public_content_with_exact_totals() {
    let s = TestServer::start().await;
    let (_, ann, bob, eve) = s.household().await;

    // Ann: 2 private, 2 family, 1 public photo.
    let mut ids = Vec::new();
    for (i, v) in ["private", "private", "family", "family", "public"]
        .iter()
        .enumerate()
    {
        ids.push(photo(&s, &ann, 30 + i as u32, v).await);
    }
    let public_photo = ids[4];

    // Totals are exact for every viewer.
    let total = |r: &common::Resp| r.data()["pagination"]["total_items"].as_i64().unwrap();
    assert_eq!(
        total(&s.get("/photos?per_page=2", Some(&ann.access)).await),
        5
    );
    assert_eq!(
        total(
            &s.get("/photos?scope=family&per_page=1", Some(&bob.access))
                .await
        ),
        3
    );
    assert_eq!(
        total(&s.get("/photos?scope=family", Some(&eve.access)).await),
        0
    );
    let feed = s.get("/community/photos", None).await;
    feed.expect(200);
    assert_eq!(total(&feed), 1);
    assert_eq!(feed.data()["items"][0]["id"], public_photo);
    // A public photo's URLs need no signature and work without a token.
    let thumb = feed.data()["items"][0]["urls"]["original"]
        .as_str()
        .unwrap();
    assert!(!thumb.contains("sig="));
    assert_eq!(s.get_raw(thumb, None, &[]).await.status(), 200);
    s.get(&format!("/photos/{}", ids[0]), None)
        .await
        .expect(404);

    // Albums: a private, a family and two public ones.
    let mut albums = Vec::new();
    for (title, v) in [
        ("Diary", "private"),
        ("Home", "family"),
        ("Trip", "public"),
        ("Food", "public"),
    ] {
        let r = s
            .post(
                "/albums",
                Some(&ann.access),
                json!({"title": title, "visibility": v}),
            )
            .await;
        r.expect(201);
        albums.push(r.data()["id"].as_i64().unwrap());
    }
    // The public "Trip" album holds all five photos: anyone sees them through it.
    s.post(
        &format!("/albums/{}/photos", albums[2]),
        Some(&ann.access),
        json!({"photo_ids": ids}),
    )
    .await
    .expect(200);
    let through = s.get(&format!("/albums/{}/photos", albums[2]), None).await;
    through.expect(200);
    assert_eq!(total(&through), 5);
    s.get(&format!("/photos/{}", ids[0]), None)
        .await
        .expect(200);
    // The feed of photos still holds only photos shared themselves.
    assert_eq!(total(&s.get("/community/photos", None).await), 1);

    let feed = s.get("/community/albums", None).await;
    feed.expect(200);
    assert_eq!(total(&feed), 2);
    // Newest first by default.
    assert_eq!(feed.data()["items"][0]["id"], albums[3]);
    assert_eq!(feed.data()["items"][0]["photo_count"], 0);
    assert_eq!(feed.data()["items"][1]["photo_count"], 5);

    // Most liked first.
    s.post(
        &format!("/albums/{}/like", albums[2]),
        Some(&eve.access),
        json!({}),
    )
    .await
    .expect(200);
    let liked = s.get("/community/albums?sort=-likes", None).await;
    assert_eq!(liked.data()["items"][0]["id"], albums[2]);
    assert_eq!(liked.data()["items"][0]["like_count"], 1);
    // Recently updated first: renaming Trip makes it the newest change... of Food's and Trip's.
    s.put(
        &format!("/albums/{}", albums[3]),
        Some(&ann.access),
        json!({"description": "yum"}),
    )
    .await
    .expect(200);
    let updated = s.get("/community/albums?sort=-updated_at", None).await;
    updated.expect(200);
    assert_eq!(total(&updated), 2);
    // Photo likes order the photo feed.
    let other_public = photo(&s, &bob, 60, "public").await;
    s.post(
        &format!("/photos/{public_photo}/like"),
        Some(&eve.access),
        json!({}),
    )
    .await
    .expect(200);
    let liked = s.get("/community/photos?sort=-likes", None).await;
    assert_eq!(liked.data()["items"][0]["id"], public_photo);
    let newest = s.get("/community/photos?sort=-created_at", None).await;
    assert_eq!(newest.data()["items"][0]["id"], other_public);
    // A logged-in viewer sees their own likes.
    let mine = s
        .get("/community/photos?sort=-likes", Some(&eve.access))
        .await;
    assert_eq!(mine.data()["items"][0]["liked_by_me"], true);

    for q in ["sort=-owner", "per_page=500"] {
        s.get(&format!("/community/albums?{q}"), None)
            .await
            .expect(400);
        s.get(&format!("/community/photos?{q}"), None)
            .await
            .expect(400);
    }
    // A bad token is refused even where no login is needed.
    s.get("/community/photos", Some("garbage"))
        .await
        .expect(401);
}

#[tokio::test]
async fn everything_but_public_content_needs_a_token() {
    let s = TestServer::start().await;
    let root = s.register("root").await;
    let album = s
        .post("/albums", Some(&root.access), json!({"title": "t"}))
        .await;
    let a = album.data()["id"].as_i64().unwrap();
    use reqwest::Method as M;
    let protected = [
        (M::GET, "/albums".to_string()),
        (M::POST, "/albums".to_string()),
        (M::PUT, format!("/albums/{a}")),
        (M::PATCH, format!("/albums/{a}")),
        (M::DELETE, format!("/albums/{a}")),
        (M::POST, format!("/albums/{a}/photos")),
        (M::DELETE, format!("/albums/{a}/photos")),
        (M::PUT, format!("/albums/{a}/cover")),
        (M::POST, format!("/albums/{a}/share")),
        (M::DELETE, format!("/albums/{a}/share")),
        (M::POST, format!("/albums/{a}/like")),
        (M::DELETE, format!("/albums/{a}/like")),
        (M::GET, "/family".to_string()),
        (M::POST, "/family".to_string()),
        (M::POST, "/family/join".to_string()),
        (M::POST, "/family/leave".to_string()),
        (M::POST, "/family/invite_code".to_string()),
        (M::DELETE, "/family/members/1".to_string()),
        (M::GET, "/timeline".to_string()),
        (M::GET, "/timeline/2024/1".to_string()),
        (M::GET, "/stats".to_string()),
        (M::GET, "/admin/photos".to_string()),
        (M::GET, "/admin/jobs".to_string()),
        (M::GET, "/admin/settings".to_string()),
    ];
    for (method, path) in protected {
        let r = s.json(method.clone(), &path, None, json!({})).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        assert_eq!(r.error_type(), "AUTHENTICATION_REQUIRED");
    }
    // A private album answers 404 to anonymous readers, like one that does not exist.
    for path in [
        format!("/albums/{a}"),
        format!("/albums/{a}/photos"),
        "/albums/999".into(),
    ] {
        s.get(&path, None).await.expect(404);
    }
    s.get("/community/albums", None).await.expect(200);
    s.get("/community/photos", None).await.expect(200);
}
