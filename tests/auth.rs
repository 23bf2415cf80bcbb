//! Registration, login, refresh rotation, logout, password change and token checks.

mod common;

use common::{session_from, TestServer, PASSWORD};
use photox::auth::tokens::{Claims, TokenKeys, TokenKind};
use photox::config::Registration;
use serde_json::json;

#[tokio::test]
async fn first_user_becomes_admin_and_later_ones_are_users() {
    let s = TestServer::start().await;
    let r = s
        .post(
            "/auth/register",
            None,
            json!({"username": "ann", "password": PASSWORD, "email": "ann@example.org"}),
        )
        .await;
    r.expect(201);
    let d = r.data();
    assert_eq!(d["user"]["role"], "admin");
    assert_eq!(d["user"]["email"], "ann@example.org");
    assert_eq!(d["token_type"], "Bearer");
    assert_eq!(d["expires_in"], 900);
    assert!(d["user"].get("password_hash").is_none());
    let bob = s.register("bob").await;
    let me = s.get("/auth/me", Some(&bob.access)).await;
    me.expect(200);
    assert_eq!(me.data()["role"], "user");
    assert_eq!(me.data()["username"], "bob");
    assert!(me.data()["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn registration_names_every_invalid_field() {
    let s = TestServer::start().await;
    let r = s
        .post(
            "/auth/register",
            None,
            json!({"username": "a b", "password": "short", "email": "nope"}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.error_type(), "VALIDATION_ERROR");
    let details = r.body["error"]["details"].as_array().unwrap();
    let fields: Vec<&str> = details
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password", "email"]);
    assert_eq!(details[1]["code"], "TOO_SHORT");
    let missing = s
        .post("/auth/register", None, json!({"username": "anna"}))
        .await;
    missing.expect(422);
    assert_eq!(missing.body["error"]["details"][0]["field"], "password");
    assert_eq!(missing.body["error"]["details"][0]["code"], "REQUIRED");
    let wrong_type = s
        .post(
            "/auth/register",
            None,
            json!({"username": 5, "password": PASSWORD}),
        )
        .await;
    wrong_type.expect(422);
    assert_eq!(wrong_type.body["error"]["details"][0]["field"], "username");
}

#[tokio::test]
async fn taken_username_is_a_conflict_case_insensitively() {
    let s = TestServer::start().await;
    s.register("Ann").await;
    let r = s
        .post(
            "/auth/register",
            None,
            json!({"username": "ann", "password": PASSWORD}),
        )
        .await;
    r.expect(409);
    assert_eq!(r.error_type(), "RESOURCE_CONFLICT");
    // Login ignores case too.
    s.login_ok("ANN").await;
}

#[tokio::test]
async fn closed_registration_still_admits_the_first_user() {
    let s = TestServer::with_config(|c| c.auth.registration = Registration::Closed).await;
    let info = s.get("/", None).await;
    assert_eq!(info.data()["features"]["registration"], false);
    let first = s.register("admin").await;
    let me = s.get("/auth/me", Some(&first.access)).await;
    assert_eq!(me.data()["role"], "admin");
    let r = s
        .post(
            "/auth/register",
            None,
            json!({"username": "second", "password": PASSWORD}),
        )
        .await;
    r.expect(403);
    assert_eq!(r.error_type(), "PERMISSION_DENIED");
    // Admins still create users.
    let created = s
        .post(
            "/users",
            Some(&first.access),
            json!({"username": "second", "password": PASSWORD}),
        )
        .await;
    created.expect(201);
    s.login_ok("second").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let s = TestServer::start().await;
    s.register("ann").await;
    let wrong = s.login("ann", "wrong-password").await;
    wrong.expect(401);
    let unknown = s.login("nobody", "wrong-password").await;
    unknown.expect(401);
    assert_eq!(wrong.error_type(), "INVALID_CREDENTIALS");
    assert_eq!(wrong.body, unknown.body);
    let ok = s.login_ok("ann").await;
    assert_eq!(s.get("/auth/me", Some(&ok.access)).await.status, 200);
}

#[tokio::test]
async fn deactivated_user_cannot_log_in() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    s.put(
        &format!("/users/{}", bob.id),
        Some(&admin.access),
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    let r = s.login("bob", PASSWORD).await;
    r.expect(403);
    assert_eq!(r.error_type(), "PERMISSION_DENIED");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_ends_the_session() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let first = s
        .post("/auth/refresh", None, json!({"refresh_token": ann.refresh}))
        .await;
    first.expect(200);
    let r2 = first.data()["refresh_token"].as_str().unwrap().to_string();
    let a2 = first.data()["access_token"].as_str().unwrap().to_string();
    assert_ne!(r2, ann.refresh);
    assert_eq!(s.get("/auth/me", Some(&a2)).await.status, 200);
    // The alias `refresh` works and the new token is usable once.
    let second = s.post("/auth/refresh", None, json!({"refresh": r2})).await;
    second.expect(200);
    let r3 = second.data()["refresh_token"].as_str().unwrap().to_string();
    // Presenting a used token again revokes the whole session.
    let reuse = s
        .post("/auth/refresh", None, json!({"refresh_token": ann.refresh}))
        .await;
    reuse.expect(401);
    assert_eq!(reuse.error_type(), "INVALID_TOKEN");
    s.post("/auth/refresh", None, json!({"refresh_token": r3}))
        .await
        .expect(401);
    s.get("/auth/me", Some(&a2)).await.expect(401);
    s.get("/auth/me", Some(&ann.access)).await.expect(401);
    // Logging in again opens a fresh session.
    s.login_ok("ann").await;
}

#[tokio::test]
async fn logout_ends_access_and_refresh_token_at_once() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let other = s.login_ok("ann").await;
    s.post("/auth/logout", Some(&ann.access), json!({}))
        .await
        .expect(200);
    let me = s.get("/auth/me", Some(&ann.access)).await;
    me.expect(401);
    assert_eq!(me.error_type(), "INVALID_TOKEN");
    s.post("/auth/refresh", None, json!({"refresh_token": ann.refresh}))
        .await
        .expect(401);
    // Other sessions of the same user are untouched.
    s.get("/auth/me", Some(&other.access)).await.expect(200);
}

#[tokio::test]
async fn password_change_ends_the_other_sessions() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let laptop = s.login_ok("ann").await;
    let wrong = s
        .put(
            "/auth/password",
            Some(&ann.access),
            json!({"old_password": "nope-nope", "new_password": "brand-new-pw"}),
        )
        .await;
    wrong.expect(422);
    assert_eq!(wrong.body["error"]["details"][0]["field"], "old_password");
    let short = s
        .put(
            "/auth/password",
            Some(&ann.access),
            json!({"old_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    short.expect(422);
    assert_eq!(short.body["error"]["details"][0]["field"], "new_password");
    s.put(
        "/auth/password",
        Some(&ann.access),
        json!({"old_password": PASSWORD, "new_password": "brand-new-pw"}),
    )
    .await
    .expect(200);
    s.get("/auth/me", Some(&ann.access)).await.expect(200);
    s.get("/auth/me", Some(&laptop.access)).await.expect(401);
    s.post(
        "/auth/refresh",
        None,
        json!({"refresh_token": laptop.refresh}),
    )
    .await
    .expect(401);
    s.login("ann", PASSWORD).await.expect(401);
    s.login("ann", "brand-new-pw").await.expect(200);
}

fn forge(s: &TestServer, user_id: i64, sid: i64, kind: TokenKind, exp_offset: i64) -> String {
    let keys = TokenKeys::load_or_create(&s.data_dir()).unwrap();
    let now = photox::db::now();
    let claims = Claims {
        sub: user_id.to_string(),
        sid,
        // Not the session's secret: forged tokens cannot know it.
        sk: String::new(),
        typ: kind,
        gen: Some(0),
        iat: now - 100,
        exp: now + exp_offset,
    };
    keys.issue(&claims).unwrap()
}

#[tokio::test]
async fn expired_tampered_and_wrong_kind_tokens_are_refused() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let missing = s.get("/auth/me", None).await;
    missing.expect(401);
    assert_eq!(missing.error_type(), "AUTHENTICATION_REQUIRED");

    // Session 1 belongs to ann: a token signed with the real key but expired.
    let expired = forge(&s, ann.id, 1, TokenKind::Access, -10);
    let r = s.get("/auth/me", Some(&expired)).await;
    r.expect(401);
    assert_eq!(r.error_type(), "TOKEN_EXPIRED");

    let mut tampered = ann.access.clone();
    let payload_start = tampered.find('.').unwrap() + 1;
    tampered.replace_range(payload_start..payload_start + 1, "X");
    assert_eq!(
        s.get("/auth/me", Some(&tampered)).await.error_type(),
        "INVALID_TOKEN"
    );
    assert_eq!(
        s.get("/auth/me", Some("not-a-jwt")).await.error_type(),
        "INVALID_TOKEN"
    );

    // A refresh token is not an access token, and the other way round.
    let r = s.get("/auth/me", Some(&ann.refresh)).await;
    r.expect(401);
    assert_eq!(r.error_type(), "INVALID_TOKEN");
    s.post("/auth/refresh", None, json!({"refresh_token": ann.access}))
        .await
        .expect(401);

    // A valid signature on a session of another user is refused.
    let bob = s.register("bob").await;
    let stolen_sid = forge(&s, bob.id, 1, TokenKind::Access, 60);
    s.get("/auth/me", Some(&stolen_sid)).await.expect(401);
    // The right user and session, signed with the real key, but without the session's secret.
    let guessed = forge(&s, ann.id, 1, TokenKind::Access, 60);
    s.get("/auth/me", Some(&guessed)).await.expect(401);
    s.get("/auth/me", Some(&ann.access)).await.expect(200);
    // A token for a session that never existed.
    s.get(
        "/auth/me",
        Some(&forge(&s, ann.id, 999, TokenKind::Access, 60)),
    )
    .await
    .expect(401);
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip_and_username() {
    let s = TestServer::with_config(|c| c.limits.login_per_minute = 5).await;
    s.register("ann").await; // the first of five for "ann"
    for i in 0..4 {
        let r = s.login("ann", "wrong-password").await;
        r.expect(401);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some((3 - i).to_string().as_str())
        );
    }
    let limited = s.login("ann", PASSWORD).await;
    limited.expect(429);
    assert_eq!(limited.error_type(), "RATE_LIMIT_EXCEEDED");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(limited.header("x-ratelimit-reset").is_some());
    // Another username from the same address is not affected.
    let r = s
        .post(
            "/auth/register",
            None,
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    r.expect(201);
    let bob = session_from(&r);
    s.get("/auth/me", Some(&bob.access)).await.expect(200);
}

#[tokio::test]
async fn requests_are_limited_per_user() {
    let s = TestServer::with_config(|c| c.limits.requests_per_minute = 3).await;
    let ann = s.register("ann").await;
    for _ in 0..3 {
        s.get("/auth/me", Some(&ann.access)).await.expect(200);
    }
    let r = s.get("/auth/me", Some(&ann.access)).await;
    r.expect(429);
    assert!(r.header("retry-after").is_some());
    // Bob has his own budget.
    let bob = s.register("bob").await;
    s.get("/auth/me", Some(&bob.access)).await.expect(200);
}
