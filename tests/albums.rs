//! Albums against the real daemon: nesting and cycles, membership, counts and covers through
//! trash and restore, uploads into albums, and who may see or change what (owner, family
//! member, outsider, anonymous).

mod common;

use common::{png, Part, Session, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// An admin (the first user) exists so that ann, bob and eve are plain users.
async fn three_users(s: &TestServer) -> (Session, Session, Session) {
    s.register("root").await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let eve = s.register("eve").await;
    (ann, bob, eve)
}

async fn album(s: &TestServer, who: &Session, body: Value) -> Value {
    let r = s.post("/albums", Some(&who.access), body).await;
    r.expect(201);
    r.data().clone()
}

/// A photo of `who`, processed (its thumbnail is there, so a cover URL serves it).
async fn photo(s: &TestServer, who: &Session, width: u32) -> i64 {
    let id = s.upload(&who.access, "p.png", png(width, 9)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&who.access, id).await;
    id
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn nested_albums_refuse_cycles_and_children_move_up_on_delete() {
    let s = TestServer::start().await;
    let (ann, bob, _) = three_users(&s).await;
    let a = album(&s, &ann, json!({"name": "Trips", "is_public": false})).await;
    assert_eq!(a["title"], "Trips");
    assert_eq!(a["visibility"], "private");
    assert_eq!(a["is_public"], false);
    assert_eq!(a["parent_id"], Value::Null);
    assert_eq!(a["photo_count"], 0);
    assert_eq!(a["cover_url"], Value::Null);
    let b = album(&s, &ann, json!({"title": "Italy", "parent_id": id(&a)})).await;
    let c = album(&s, &ann, json!({"title": "Rome", "parent_id": id(&b)})).await;
    assert_eq!(c["parent_id"], id(&b));

    let top = s.get("/albums?parent_id=0", Some(&ann.access)).await;
    top.expect(200);
    assert_eq!(top.data()["pagination"]["total_items"], 1);
    assert_eq!(top.data()["items"][0]["id"], id(&a));
    let children = s
        .get(&format!("/albums?parent_id={}", id(&a)), Some(&ann.access))
        .await;
    assert_eq!(children.data()["items"][0]["id"], id(&b));
    assert_eq!(
        s.get("/albums", Some(&ann.access)).await.data()["pagination"]["total_items"],
        3
    );

    // Under itself or under a descendant: a cycle.
    for parent in [id(&a), id(&c)] {
        let r = s
            .put(
                &format!("/albums/{}", id(&a)),
                Some(&ann.access),
                json!({"parent_id": parent}),
            )
            .await;
        r.expect(422);
        assert_eq!(r.body["error"]["details"][0]["field"], "parent_id");
    }
    // Someone else's album cannot be a parent.
    let foreign = album(&s, &bob, json!({"title": "Bob's"})).await;
    s.post(
        "/albums",
        Some(&ann.access),
        json!({"title": "x", "parent_id": id(&foreign)}),
    )
    .await
    .expect(422);
    // A missing title is named.
    let r = s
        .post("/albums", Some(&ann.access), json!({"title": "  "}))
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["details"][0]["field"], "title");

    // Moving and renaming; PATCH is the same partial update.
    let r = s
        .json(
            Method::PATCH,
            &format!("/albums/{}", id(&c)),
            Some(&ann.access),
            json!({"parent_id": null, "title": "Roma", "description": "sun"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["parent_id"], Value::Null);
    assert_eq!(r.data()["title"], "Roma");
    assert_eq!(r.data()["description"], "sun");
    let r = s
        .put(
            &format!("/albums/{}", id(&c)),
            Some(&ann.access),
            json!({"parent_id": id(&b)}),
        )
        .await;
    assert_eq!(r.data()["parent_id"], id(&b));
    assert_eq!(r.data()["description"], "sun", "left-out fields stay");

    // Deleting B moves Rome up to Trips.
    s.delete(&format!("/albums/{}", id(&b)), Some(&ann.access))
        .await
        .expect(200);
    s.get(&format!("/albums/{}", id(&b)), Some(&ann.access))
        .await
        .expect(404);
    let rome = s
        .get(&format!("/albums/{}", id(&c)), Some(&ann.access))
        .await;
    assert_eq!(rome.data()["parent_id"], id(&a));
}

#[tokio::test]
async fn photo_counts_and_cover_follow_trash_and_restore() {
    let s = TestServer::start().await;
    let (ann, bob, _) = three_users(&s).await;
    let al = album(&s, &ann, json!({"title": "Summer"})).await;
    let (p1, p2) = (photo(&s, &ann, 10).await, photo(&s, &ann, 11).await);
    let bobs = photo(&s, &bob, 12).await;
    let path = format!("/albums/{}/photos", id(&al));

    let r = s
        .post(&path, Some(&ann.access), json!({"photo_ids": [p1, bobs]}))
        .await;
    r.expect(200);
    assert_eq!(r.data()["added"], json!([p1]));
    assert_eq!(r.data()["failed"][0]["id"], bobs);
    assert_eq!(r.data()["failed"][0]["error"]["type"], "RESOURCE_NOT_FOUND");
    let r = s
        .post(&path, Some(&ann.access), json!({"image_id": p2}))
        .await;
    assert_eq!(r.data()["added"], json!([p2]));
    let r = s
        .post(&path, Some(&ann.access), json!({"photo_ids": [p1]}))
        .await;
    assert_eq!(r.data()["already_present"], json!([p1]));

    let detail = s
        .get(&format!("/albums/{}", id(&al)), Some(&ann.access))
        .await;
    detail.expect(200);
    let d = detail.data();
    assert_eq!(d["photo_count"], 2);
    assert_eq!(d["photos"]["pagination"]["total_items"], 2);
    assert_eq!(d["cover_photo_id"], p2, "newest photo by default");
    // The cover URL works in <img src> without a token.
    let cover = s.get_raw(d["cover_url"].as_str().unwrap(), None, &[]).await;
    assert_eq!(cover.status(), 200);
    // The photo lists its album.
    let p = s.get(&format!("/photos/{p1}"), Some(&ann.access)).await;
    assert_eq!(
        p.data()["albums"],
        json!([{"id": id(&al), "title": "Summer"}])
    );
    // GET /photos?album_id= filters too.
    let listed = s
        .get(&format!("/photos?album_id={}", id(&al)), Some(&ann.access))
        .await;
    assert_eq!(listed.data()["pagination"]["total_items"], 2);

    let cover_path = format!("/albums/{}/cover", id(&al));
    s.put(&cover_path, Some(&ann.access), json!({"photo_id": bobs}))
        .await
        .expect(422);
    let r = s
        .put(&cover_path, Some(&ann.access), json!({"photo_id": p1}))
        .await;
    r.expect(200);
    assert_eq!(r.data()["cover_photo_id"], p1);

    // Trash the cover: it leaves the count and the cover; restore brings both back.
    s.delete(&format!("/photos/{p1}"), Some(&ann.access))
        .await
        .expect(200);
    let d = s
        .get(&format!("/albums/{}", id(&al)), Some(&ann.access))
        .await;
    assert_eq!(d.data()["photo_count"], 1);
    assert_eq!(d.data()["cover_photo_id"], p2);
    assert_eq!(d.data()["photos"]["pagination"]["total_items"], 1);
    s.post(
        &format!("/photos/{p1}/restore"),
        Some(&ann.access),
        json!({}),
    )
    .await
    .expect(200);
    let d = s
        .get(&format!("/albums/{}", id(&al)), Some(&ann.access))
        .await;
    assert_eq!(d.data()["photo_count"], 2);
    assert_eq!(d.data()["cover_photo_id"], p1);

    // Removing takes photos out of the album only.
    let r = s
        .json(
            Method::DELETE,
            &path,
            Some(&ann.access),
            json!({"photo_ids": [p1, p2, 999]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["removed"], 2);
    let d = s
        .get(&format!("/albums/{}", id(&al)), Some(&ann.access))
        .await;
    assert_eq!(d.data()["photo_count"], 0);
    assert_eq!(d.data()["cover_photo_id"], Value::Null);
    s.get(&format!("/photos/{p1}"), Some(&ann.access))
        .await
        .expect(200);
    // Batch actions reach albums too.
    let r = s
        .post(
            "/photos/batch",
            Some(&ann.access),
            json!({"photo_ids": [p1, bobs], "action": "add_to_album", "data": {"album_id": id(&al)}}),
        )
        .await;
    assert_eq!(r.data()["succeeded"], json!([p1]));
    assert_eq!(r.data()["failed"][0]["id"], bobs);
    let r = s
        .post(
            "/photos/batch",
            Some(&ann.access),
            json!({"photo_ids": [p1], "action": "remove_from_album", "data": {"album_id": id(&al)}}),
        )
        .await;
    assert_eq!(r.data()["succeeded"], json!([p1]));
}

#[tokio::test]
async fn uploads_land_in_the_album_they_name() {
    let s = TestServer::start().await;
    let (ann, bob, _) = three_users(&s).await;
    let al = album(&s, &ann, json!({"title": "Inbox"})).await;
    let r = s
        .upload_parts(
            &format!("/albums/{}/photos", id(&al)),
            &ann.access,
            vec![
                Part::File("files[]", "a.png", png(20, 5)),
                Part::File("files[]", "b.png", png(21, 5)),
            ],
        )
        .await;
    r.expect(201);
    assert_eq!(r.data()["summary"]["success"], 2);
    assert_eq!(
        r.data()["uploaded"][0]["albums"][0]["id"],
        id(&al),
        "{}",
        r.text
    );
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("album_id", id(&al).to_string()),
                Part::File("file", "c.png", png(22, 5)),
            ],
        )
        .await;
    r.expect(201);
    // A duplicate named with an album lands in it as well.
    let other = album(&s, &ann, json!({"title": "Other"})).await;
    let r = s
        .upload_parts(
            "/photos",
            &ann.access,
            vec![
                Part::Text("album_id", id(&other).to_string()),
                Part::File("file", "c.png", png(22, 5)),
            ],
        )
        .await;
    assert_eq!(r.data()["uploaded"][0]["duplicate"], true);
    let d = s
        .get(&format!("/albums/{}", id(&other)), Some(&ann.access))
        .await;
    assert_eq!(d.data()["photo_count"], 1);
    let d = s
        .get(&format!("/albums/{}", id(&al)), Some(&ann.access))
        .await;
    assert_eq!(d.data()["photo_count"], 3);

    // Bob cannot see Ann's private album (404) and cannot add to her public one (403); in
    // both cases nothing is stored.
    let r = s
        .upload_parts(
            &format!("/albums/{}/photos", id(&al)),
            &bob.access,
            vec![Part::File("file", "x.png", png(30, 5))],
        )
        .await;
    r.expect(404);
    s.post(
        &format!("/albums/{}/share", id(&al)),
        Some(&ann.access),
        json!({}),
    )
    .await
    .expect(200);
    let r = s
        .upload_parts(
            "/photos",
            &bob.access,
            vec![
                Part::Text("album_id", id(&al).to_string()),
                Part::File("file", "x.png", png(30, 5)),
            ],
        )
        .await;
    r.expect(403);
    assert_eq!(
        s.get("/photos", Some(&bob.access)).await.data()["pagination"]["total_items"],
        0
    );
}

#[tokio::test]
async fn album_privacy_across_owner_family_member_outsider_and_anonymous() {
    let s = TestServer::start().await;
    let (ann, bob, eve) = three_users(&s).await;
    s.same_family(&ann, &bob).await;
    let private = album(&s, &ann, json!({"title": "Diary"})).await;
    let family = album(&s, &ann, json!({"title": "Home", "visibility": "family"})).await;
    let p = photo(&s, &ann, 40).await;
    for al in [&private, &family] {
        s.post(
            &format!("/albums/{}/photos", id(al)),
            Some(&ann.access),
            json!({"photo_ids": [p]}),
        )
        .await
        .expect(200);
    }

    // A private album: 404 to everybody else, on every endpoint.
    let pid = id(&private);
    for token in [Some(bob.access.as_str()), Some(eve.access.as_str()), None] {
        let paths = [format!("/albums/{pid}"), format!("/albums/{pid}/photos")];
        for path in &paths {
            s.get(path, token).await.expect(404);
        }
        if let Some(t) = token {
            let t = Some(t);
            s.put(&format!("/albums/{pid}"), t, json!({"title": "x"}))
                .await
                .expect(404);
            s.delete(&format!("/albums/{pid}"), t).await.expect(404);
            s.post(&format!("/albums/{pid}/like"), t, json!({}))
                .await
                .expect(404);
            s.post(&format!("/albums/{pid}/share"), t, json!({}))
                .await
                .expect(404);
            s.put(&format!("/albums/{pid}/cover"), t, json!({"photo_id": p}))
                .await
                .expect(404);
            s.post(
                &format!("/albums/{pid}/photos"),
                t,
                json!({"photo_ids": [p]}),
            )
            .await
            .expect(404);
            s.json(
                Method::DELETE,
                &format!("/albums/{pid}/photos"),
                t,
                json!({"photo_ids": [p]}),
            )
            .await
            .expect(404);
        }
    }

    // A family album: the member sees it and its (private) photo, may not change it (403),
    // may add their own photos; the outsider gets 404.
    let fid = id(&family);
    let seen = s.get(&format!("/albums/{fid}"), Some(&bob.access)).await;
    seen.expect(200);
    assert_eq!(seen.data()["photo_count"], 1);
    s.get(&format!("/photos/{p}"), Some(&bob.access))
        .await
        .expect(200);
    s.put(
        &format!("/albums/{fid}"),
        Some(&bob.access),
        json!({"title": "x"}),
    )
    .await
    .expect(403);
    s.delete(&format!("/albums/{fid}"), Some(&bob.access))
        .await
        .expect(403);
    let bobs = photo(&s, &bob, 41).await;
    let r = s
        .post(
            &format!("/albums/{fid}/photos"),
            Some(&bob.access),
            json!({"photo_ids": [bobs, p]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["added"], json!([bobs]), "only their own photos");
    let in_family_scope = s.get("/albums?scope=family", Some(&bob.access)).await;
    assert_eq!(in_family_scope.data()["pagination"]["total_items"], 1);
    for token in [Some(eve.access.as_str()), None] {
        s.get(&format!("/albums/{fid}"), token).await.expect(404);
        s.get(&format!("/photos/{p}"), token).await.expect(404);
    }
    // Deleting with its photos trashes only the caller's own.
    s.delete(
        &format!("/albums/{fid}?delete_photos=true"),
        Some(&ann.access),
    )
    .await
    .expect(200);
    assert!(s
        .get(&format!("/photos/{p}"), Some(&ann.access))
        .await
        .data()["deleted_at"]
        .is_string());
    assert_eq!(
        s.get(&format!("/photos/{bobs}"), Some(&bob.access))
            .await
            .data()["deleted_at"],
        Value::Null
    );
}

#[tokio::test]
async fn a_shared_album_shows_its_photos_to_anyone_and_takes_likes() {
    let s = TestServer::start().await;
    let (ann, _, eve) = three_users(&s).await;
    let al = album(&s, &ann, json!({"title": "Best of"})).await;
    let p = photo(&s, &ann, 50).await;
    s.post(
        &format!("/albums/{}/photos", id(&al)),
        Some(&ann.access),
        json!({"photo_ids": [p]}),
    )
    .await
    .expect(200);
    let aid = id(&al);
    s.get(&format!("/albums/{aid}"), None).await.expect(404);
    let shared = s
        .post(
            &format!("/albums/{aid}/share"),
            Some(&ann.access),
            json!({}),
        )
        .await;
    shared.expect(200);
    assert_eq!(shared.data()["visibility"], "public");
    assert_eq!(shared.data()["is_public"], true);

    // Anonymous: the album, its photos and the photo through it.
    let d = s.get(&format!("/albums/{aid}"), None).await;
    d.expect(200);
    assert_eq!(d.data()["photos"]["items"][0]["id"], p);
    s.get(&format!("/photos/{p}"), None).await.expect(200);
    s.get(&format!("/albums/{aid}/photos"), None)
        .await
        .expect(200);
    // But not to change it, nor to like it without an account.
    s.post(&format!("/albums/{aid}/like"), None, json!({}))
        .await
        .expect(401);
    s.put(
        &format!("/albums/{aid}"),
        Some(&eve.access),
        json!({"title": "x"}),
    )
    .await
    .expect(403);

    // Likes are idempotent per user.
    for _ in 0..2 {
        let r = s
            .post(&format!("/albums/{aid}/like"), Some(&eve.access), json!({}))
            .await;
        r.expect(200);
        assert_eq!(r.data(), &json!({"like_count": 1, "liked_by_me": true}));
    }
    let seen = s.get(&format!("/albums/{aid}"), Some(&eve.access)).await;
    assert_eq!(seen.data()["like_count"], 1);
    assert_eq!(seen.data()["liked_by_me"], true);
    let r = s
        .delete(&format!("/albums/{aid}/like"), Some(&eve.access))
        .await;
    assert_eq!(r.data(), &json!({"like_count": 0, "liked_by_me": false}));

    // Unsharing closes it again, at once.
    let r = s
        .delete(&format!("/albums/{aid}/share"), Some(&ann.access))
        .await;
    assert_eq!(r.data()["visibility"], "private");
    s.get(&format!("/albums/{aid}"), None).await.expect(404);
    s.get(&format!("/photos/{p}"), None).await.expect(404);
    s.get(&format!("/photos/{p}"), Some(&eve.access))
        .await
        .expect(404);
}

#[tokio::test]
async fn album_listing_validates_its_parameters() {
    let s = TestServer::start().await;
    let (ann, _, _) = three_users(&s).await;
    for q in ["scope=everyone", "sort=size", "per_page=0"] {
        s.get(&format!("/albums?{q}"), Some(&ann.access))
            .await
            .expect(400);
    }
    s.get("/albums", None).await.expect(401);
    s.post("/albums", None, json!({"title": "x"}))
        .await
        .expect(401);
    s.get("/albums/999", Some(&ann.access)).await.expect(404);
    for i in 0..3 {
        album(&s, &ann, json!({"title": format!("A{i}")})).await;
    }
    let r = s
        .get("/albums?per_page=2&page=2&sort=title", Some(&ann.access))
        .await;
    r.expect(200);
    assert_eq!(r.data()["items"][0]["title"], "A2");
    assert_eq!(r.data()["pagination"]["total_items"], 3);
    assert_eq!(r.data()["pagination"]["has_prev"], true);
}
