//! Health, service info, OpenAPI, the envelope on every kind of failure, headers and CORS.

mod common;

use common::{TestServer, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn health_answers_without_envelope() {
    let s = TestServer::start().await;
    let r = s.get("/health", None).await;
    r.expect(200);
    assert_eq!(r.body, json!({"status": "OK"}));
}

#[tokio::test]
async fn health_is_degraded_when_the_data_dir_is_not_writable() {
    let s = TestServer::start().await;
    // Replace tmp/ by a file, so the write probe fails (works as root too).
    let tmp = s.data_dir().join("tmp");
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::write(&tmp, b"blocker").unwrap();
    // The probe result is reused for a second; poll until the next probe has run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let r = loop {
        let r = s.get("/health", None).await;
        if r.status != 200 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(r.status, 503);
    assert_eq!(r.body["status"], "DEGRADED");
    assert!(
        !r.text.contains(s.data_dir().to_str().unwrap()),
        "no server paths: {}",
        r.text
    );
}

#[tokio::test]
async fn root_and_api_root_describe_the_service() {
    let s = TestServer::start().await;
    for path in ["/", "/api/v1", "/api/v1/"] {
        let r = s.get(path, None).await;
        r.expect(200);
        assert_eq!(r.body["code"], 200);
        assert_eq!(r.body["message"], "OK");
        let d = r.data();
        assert_eq!(d["name"], "photox");
        assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
        assert!(d["time"].as_str().unwrap().ends_with('Z'));
        for f in ["tagging", "mirror", "import", "registration"] {
            assert!(d["features"][f].is_boolean(), "{f}");
        }
        let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "message", "data"]);
    }
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let s = TestServer::start().await;
    let r = s.get("/api/v1/openapi.json", None).await;
    r.expect(200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/me",
        "/auth/password",
        "/users/me",
        "/users/me/avatar",
        "/users/me/sessions",
        "/users",
        "/users/{id}",
        "/users/{id}/avatar",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(r.body["components"]["securitySchemes"]["BearerAuth"].is_object());
    let ui = s.client.get(s.url("/api/docs")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().to_lowercase().contains("swagger"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let s = TestServer::start().await;
    let r = s.get("/api/v1/nothing-here", None).await;
    r.expect(404);
    assert_eq!(r.error_type(), "RESOURCE_NOT_FOUND");
    s.get("/favicon.ico", None).await.expect(404);
    let r = s.send(s.client.patch(s.url("/auth/login"))).await;
    r.expect(405);
}

#[tokio::test]
async fn method_not_allowed_lists_the_methods_the_path_has() {
    let s = TestServer::start().await;
    for (method, path, allow) in [
        ("PATCH", "/api/v1/auth/login", "POST"),
        ("GET", "/api/v1/auth/login", "POST"),
        // A literal segment wins over `{id}`, as in the router.
        ("PATCH", "/api/v1/photos/trash", "GET, HEAD, DELETE"),
        ("POST", "/api/v1/photos/7", "GET, HEAD, PUT, PATCH, DELETE"),
        ("PUT", "/api/v1/photos", "GET, HEAD, POST"),
        ("POST", "/api/v1/albums/3/cover", "PUT"),
        ("DELETE", "/api/v1/family", "GET, HEAD, POST"),
        ("DELETE", "/health", "GET, HEAD"),
        ("POST", "/api/v1/openapi.json", "GET, HEAD"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = s
            .send(
                s.client
                    .request(method.clone(), format!("{}{path}", s.base)),
            )
            .await;
        r.expect(405);
        assert_eq!(r.error_type(), "METHOD_NOT_ALLOWED", "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn malformed_oversized_and_wrong_shaped_json_get_clear_answers() {
    let s = TestServer::start().await;
    let raw = |body: Vec<u8>| {
        s.client
            .post(s.url("/auth/register"))
            .header("content-type", "application/json")
            .body(body)
    };
    let r = s.send(raw(b"{\"username\": \"ann\",".to_vec())).await;
    r.expect(400);
    assert_eq!(r.error_type(), "VALIDATION_ERROR");
    s.send(raw(Vec::new())).await.expect(400);
    s.send(raw(b"[1,2,3]".to_vec())).await.expect(422);
    let mut big = b"{\"username\":\"ann\",\"password\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 10));
    big.extend(b"\"}");
    let r = s.send(raw(big.clone())).await;
    r.expect(413);
    assert_eq!(r.error_type(), "PAYLOAD_TOO_LARGE");
    // The same on an authenticated endpoint without the login rate limiter in front.
    let ann = s.register("ann").await;
    let r = s
        .send(
            s.client
                .put(s.url("/users/me"))
                .bearer_auth(&ann.access)
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    r.expect(413);
    // Nothing internal leaks from any of these.
    let text = r.text.to_lowercase();
    assert!(!text.contains("/tmp") && !text.contains("sql") && !text.contains("panicked"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let s = TestServer::start().await;
    for path in ["/health", "/api/v1", "/api/v1/auth/me", "/missing"] {
        let r = s.get(path, None).await;
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
    let r = s.get("/api/v1", None).await;
    assert!(r.header("x-ratelimit-limit").is_some());
    assert!(s
        .get("/health", None)
        .await
        .header("x-ratelimit-limit")
        .is_none());
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let s = TestServer::with_config(|c| {
        c.server.cors_origins = vec!["https://photos.example.org".into()]
    })
    .await;
    let ok = s
        .client
        .get(s.url("/api/v1"))
        .header("origin", "https://photos.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://photos.example.org"
    );
    let preflight = s
        .client
        .request(reqwest::Method::OPTIONS, s.url("/auth/me"))
        .header("origin", "https://photos.example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let evil = s
        .client
        .get(s.url("/api/v1"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let closed = TestServer::start().await;
    let r = closed
        .client
        .get(closed.url("/api/v1"))
        .header("origin", "https://photos.example.org")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "no CORS without an allow-list"
    );
}

#[tokio::test]
async fn error_bodies_never_leak_internals() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let probes = [
        s.get("/users/abc/avatar", None).await,
        s.get("/users/-1/avatar", None).await,
        s.delete("/users/me/sessions/99999999999999999999", Some(&ann.access))
            .await,
        s.post(
            "/auth/login",
            None,
            json!({"username": "' OR 1=1 --", "password": PASSWORD}),
        )
        .await,
        s.get("/users/me", Some("Bearer")).await,
    ];
    for r in probes {
        assert!((400..500).contains(&r.status), "{} {}", r.status, r.text);
        let lower = r.text.to_lowercase();
        assert!(
            !lower.contains("sqlite")
                && !lower.contains("select ")
                && !lower.contains("/tmp")
                && !lower.contains("src/"),
            "{}",
            r.text
        );
    }
}
