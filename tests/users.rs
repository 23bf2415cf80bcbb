//! Profiles, avatars, sessions and user administration, across users.

mod common;

use common::{png, TestServer, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn profile_update_is_partial_and_validated() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = s
        .put(
            "/users/me",
            Some(&ann.access),
            json!({"display_name": "Ann B.", "bio": "Photos of cats", "email": "ann@example.org"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["display_name"], "Ann B.");
    let r = s
        .put("/users/me", Some(&ann.access), json!({"bio": ""}))
        .await;
    r.expect(200);
    assert_eq!(r.data()["display_name"], "Ann B.", "fields left out stay");
    assert!(r.data()["bio"].is_null(), "an empty string clears");
    let bad = s
        .put(
            "/users/me",
            Some(&ann.access),
            json!({"email": "not-an-email", "avatar_url": "javascript:x"}),
        )
        .await;
    bad.expect(422);
    let fields: Vec<_> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(fields, [json!("email"), json!("avatar_url")]);
    let me = s.get("/users/me", Some(&ann.access)).await;
    assert_eq!(me.data()["email"], "ann@example.org");
    assert_eq!(me.data()["storage_used_bytes"], 0);
}

async fn upload_avatar(
    s: &TestServer,
    token: &str,
    part: &str,
    bytes: Vec<u8>,
    name: &str,
) -> common::Resp {
    let form = reqwest::multipart::Form::new().part(
        part.to_string(),
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    s.send(
        s.client
            .put(s.url("/users/me/avatar"))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

#[tokio::test]
async fn avatar_is_resized_and_served_publicly() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = upload_avatar(&s, &ann.access, "file", png(900, 600), "me.png").await;
    r.expect(200);
    let url = r.data()["avatar_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("/api/v1/users/{}/avatar", ann.id)),
        "{url}"
    );
    let img = s
        .client
        .get(format!("{}{url}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/jpeg");
    assert_eq!(img.headers()["x-content-type-options"], "nosniff");
    let etag = img.headers()["etag"].to_str().unwrap().to_string();
    let bytes = img.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 256));
    let again = s
        .client
        .get(format!("{}{url}", s.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Someone without an avatar, and someone who does not exist.
    let bob = s.register("bob").await;
    s.get(&format!("/users/{}/avatar", bob.id), None)
        .await
        .expect(404);
    s.get("/users/999/avatar", None).await.expect(404);
}

#[tokio::test]
async fn avatar_that_is_not_an_image_is_refused() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let html = upload_avatar(
        &s,
        &ann.access,
        "file",
        b"<html><script>alert(1)</script></html>".to_vec(),
        "me.jpg",
    )
    .await;
    html.expect(415);
    assert_eq!(html.error_type(), "UNSUPPORTED_MEDIA_TYPE");
    let mut truncated = png(300, 300);
    truncated.truncate(100);
    upload_avatar(&s, &ann.access, "file", truncated, "t.png")
        .await
        .expect(422);
    upload_avatar(&s, &ann.access, "file", Vec::new(), "empty.png")
        .await
        .expect(415);
    let wrong_part = upload_avatar(&s, &ann.access, "other", png(10, 10), "x.png").await;
    wrong_part.expect(422);
    assert_eq!(wrong_part.body["error"]["details"][0]["field"], "file");
    let too_big = upload_avatar(
        &s,
        &ann.access,
        "file",
        vec![0xFF; 11 * 1024 * 1024],
        "big.jpg",
    )
    .await;
    too_big.expect(413);
    // The account is unchanged.
    assert!(s.get("/users/me", Some(&ann.access)).await.data()["avatar_url"].is_null());
}

#[tokio::test]
async fn sessions_are_listed_and_ended_only_by_their_owner() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let phone = s.login_ok("ann").await;
    let bob = s.register("bob").await;
    let list = s.get("/users/me/sessions", Some(&ann.access)).await;
    list.expect(200);
    let items = list.data()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(list.data()["pagination"]["total_items"], 2);
    let current: Vec<_> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["ip"], "127.0.0.1");
    let phone_session = items.iter().find(|i| i["current"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();
    // Bob cannot end Ann's session: it does not exist for him.
    s.delete(
        &format!("/users/me/sessions/{phone_session}"),
        Some(&bob.access),
    )
    .await
    .expect(404);
    s.get("/auth/me", Some(&phone.access)).await.expect(200);
    s.delete(
        &format!("/users/me/sessions/{phone_session}"),
        Some(&ann.access),
    )
    .await
    .expect(200);
    s.get("/auth/me", Some(&phone.access)).await.expect(401);
    s.post(
        "/auth/refresh",
        None,
        json!({"refresh_token": phone.refresh}),
    )
    .await
    .expect(401);
    s.delete(
        &format!("/users/me/sessions/{phone_session}"),
        Some(&ann.access),
    )
    .await
    .expect(404);
    let bob_list = s.get("/users/me/sessions", Some(&bob.access)).await;
    assert_eq!(bob_list.data()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn user_administration_is_for_admins_only() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let r = s.get("/users", Some(&bob.access)).await;
    r.expect(403);
    assert_eq!(r.error_type(), "PERMISSION_DENIED");
    s.post(
        "/users",
        Some(&bob.access),
        json!({"username": "eve", "password": PASSWORD}),
    )
    .await
    .expect(403);
    s.put(
        &format!("/users/{}", admin.id),
        Some(&bob.access),
        json!({"role": "user"}),
    )
    .await
    .expect(403);
    s.put(
        &format!("/users/{}", bob.id),
        Some(&bob.access),
        json!({"role": "admin"}),
    )
    .await
    .expect(403);
    s.delete(&format!("/users/{}", admin.id), Some(&bob.access))
        .await
        .expect(403);
    s.get("/users", None).await.expect(401);
    // Bob's attempts changed nothing.
    assert_eq!(
        s.get("/auth/me", Some(&bob.access)).await.data()["role"],
        "user"
    );
    assert_eq!(
        s.get("/auth/me", Some(&admin.access)).await.data()["role"],
        "admin"
    );
}

#[tokio::test]
async fn admin_lists_creates_updates_and_deletes_users() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    for name in ["carol", "carlos", "dave"] {
        let r = s
            .post(
                "/users",
                Some(&admin.access),
                json!({"username": name, "password": PASSWORD, "email": format!("{name}@x.org")}),
            )
            .await;
        r.expect(201);
        assert_eq!(r.data()["role"], "user");
    }
    s.post(
        "/users",
        Some(&admin.access),
        json!({"username": "dave", "password": PASSWORD}),
    )
    .await
    .expect(409);
    s.post(
        "/users",
        Some(&admin.access),
        json!({"username": "x", "password": PASSWORD, "role": "boss"}),
    )
    .await
    .expect(422);
    let all = s.get("/users?per_page=2&page=2", Some(&admin.access)).await;
    all.expect(200);
    assert_eq!(all.data()["pagination"]["total_items"], 4);
    assert_eq!(all.data()["pagination"]["total_pages"], 2);
    assert_eq!(all.data()["pagination"]["has_prev"], true);
    assert_eq!(all.data()["items"].as_array().unwrap().len(), 2);
    let alias = s.get("/users?page_size=3", Some(&admin.access)).await;
    assert_eq!(alias.data()["pagination"]["per_page"], 3);
    let q = s.get("/users?q=CAR", Some(&admin.access)).await;
    let names: Vec<_> = q.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["carol", "carlos"]);
    s.get("/users?q=%25", Some(&admin.access)).await.expect(200);
    assert_eq!(
        s.get("/users?q=%25", Some(&admin.access)).await.data()["pagination"]["total_items"],
        0
    );
    s.get("/users?per_page=500", Some(&admin.access))
        .await
        .expect(400);
    s.get("/users?page=0", Some(&admin.access))
        .await
        .expect(400);
    s.get("/users?page=abc", Some(&admin.access))
        .await
        .expect(400);

    let carol = s.login_ok("carol").await;
    let carol_id = carol.id;
    let r = s
        .put(
            &format!("/users/{carol_id}"),
            Some(&admin.access),
            json!({"role": "admin", "display_name": "Carol"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["role"], "admin");
    assert_eq!(
        s.get("/auth/me", Some(&carol.access)).await.data()["role"],
        "admin",
        "role change is seen at once"
    );
    // A new password ends Carol's sessions.
    s.put(
        &format!("/users/{carol_id}"),
        Some(&admin.access),
        json!({"password": "reset-by-admin"}),
    )
    .await
    .expect(200);
    s.get("/auth/me", Some(&carol.access)).await.expect(401);
    s.login("carol", "reset-by-admin").await.expect(200);
    s.put(
        &format!("/users/{carol_id}"),
        Some(&admin.access),
        json!({"password": "short"}),
    )
    .await
    .expect(422);
    s.put("/users/999", Some(&admin.access), json!({"role": "user"}))
        .await
        .expect(404);

    let dave = s.login_ok("dave").await;
    s.delete(&format!("/users/{}", dave.id), Some(&admin.access))
        .await
        .expect(200);
    s.get("/auth/me", Some(&dave.access)).await.expect(401);
    s.delete(&format!("/users/{}", dave.id), Some(&admin.access))
        .await
        .expect(404);
    s.login("dave", PASSWORD).await.expect(401);
}

#[tokio::test]
async fn deactivation_ends_sessions_at_once() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    s.get("/auth/me", Some(&bob.access)).await.expect(200); // now cached
    let r = s
        .put(
            &format!("/users/{}", bob.id),
            Some(&admin.access),
            json!({"is_active": false}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["is_active"], false);
    s.get("/auth/me", Some(&bob.access)).await.expect(401);
    s.post("/auth/refresh", None, json!({"refresh_token": bob.refresh}))
        .await
        .expect(401);
    s.put(
        &format!("/users/{}", bob.id),
        Some(&admin.access),
        json!({"is_active": true}),
    )
    .await
    .expect(200);
    s.login_ok("bob").await;
}

#[tokio::test]
async fn the_last_active_admin_is_protected() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let path = format!("/users/{}", admin.id);
    for change in [json!({"role": "user"}), json!({"is_active": false})] {
        let r = s.put(&path, Some(&admin.access), change).await;
        r.expect(409);
        assert_eq!(r.error_type(), "RESOURCE_CONFLICT");
    }
    s.delete(&path, Some(&admin.access)).await.expect(409);
    // With a second admin, the first may step down.
    let bob = s.register("bob").await;
    s.put(
        &format!("/users/{}", bob.id),
        Some(&admin.access),
        json!({"role": "admin"}),
    )
    .await
    .expect(200);
    s.put(&path, Some(&admin.access), json!({"role": "user"}))
        .await
        .expect(200);
    // Now Bob is the last admin.
    s.delete(&format!("/users/{}", bob.id), Some(&bob.access))
        .await
        .expect(409);
}

#[tokio::test]
async fn users_cannot_see_or_change_each_others_accounts() {
    let s = TestServer::start().await;
    let _admin = s.register("admin").await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    s.put(
        "/users/me",
        Some(&bob.access),
        json!({"display_name": "Bob"}),
    )
    .await
    .expect(200);
    let ann_me = s.get("/users/me", Some(&ann.access)).await;
    assert_eq!(ann_me.data()["username"], "ann");
    assert!(
        ann_me.data()["display_name"].is_null(),
        "Bob's change landed on his own account only"
    );
    s.get(&format!("/users/{}", ann.id), Some(&bob.access))
        .await
        .expect(405);
    s.put(
        &format!("/users/{}", ann.id),
        Some(&bob.access),
        json!({"display_name": "pwned"}),
    )
    .await
    .expect(403);
    s.delete(&format!("/users/{}", ann.id), Some(&bob.access))
        .await
        .expect(403);
    assert!(s.get("/users/me", Some(&ann.access)).await.data()["display_name"].is_null());
}

#[tokio::test]
async fn an_admin_cannot_lock_their_own_account() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let me = format!("/users/{}", admin.id);
    // Even with a second admin, who could otherwise take over.
    s.put(
        &format!("/users/{}", bob.id),
        Some(&admin.access),
        json!({"role": "admin"}),
    )
    .await
    .expect(200);
    let r = s
        .put(&me, Some(&admin.access), json!({"is_active": false}))
        .await;
    r.expect(409);
    assert_eq!(r.error_type(), "RESOURCE_CONFLICT");
    s.delete(&me, Some(&admin.access)).await.expect(409);
    // Their own password changes with the old one, through PUT /auth/password.
    let r = s
        .put(
            &me,
            Some(&admin.access),
            json!({"password": "taken-over-1"}),
        )
        .await;
    r.expect(403);
    assert_eq!(r.error_type(), "PERMISSION_DENIED");
    s.login_ok("admin").await;
    s.get("/auth/me", Some(&admin.access)).await.expect(200);
    // Stepping down is allowed while another admin remains, who may do all of the above.
    s.put(&me, Some(&admin.access), json!({"role": "user"}))
        .await
        .expect(200);
    s.put(&me, Some(&bob.access), json!({"password": "reset-by-bob"}))
        .await
        .expect(200);
    s.put(&me, Some(&bob.access), json!({"is_active": false}))
        .await
        .expect(200);
}
