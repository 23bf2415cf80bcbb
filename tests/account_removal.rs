//! Deleting a user is one transaction: the checks, the family handed on, the user's photos,
//! albums and sessions all go together, and then their files. A crash just before the commit
//! (the process aborted, as kill -9 leaves it) changes nothing at all.

mod common;

use std::path::Path;

use common::daemon::Daemon;
use common::{files_under, png, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn deleting_a_family_owner_hands_the_family_on_and_removes_everything_they_had() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    s.same_family(&bob, &carol).await;
    let photo = s.upload(&bob.access, "b.png", png(21, 13)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&bob.access, photo).await;
    let bobs_album = s
        .post("/albums", Some(&bob.access), json!({"title": "Bob's"}))
        .await;
    bobs_album.expect(201);
    let bobs_album = bobs_album.data()["id"].as_i64().unwrap();
    let carols = s.upload(&carol.access, "c.png", png(17, 11)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&carol.access, carols).await;

    s.delete(&format!("/users/{}", bob.id), Some(&admin.access))
        .await
        .expect(409);
    s.delete(
        &format!("/users/{}?purge=true", bob.id),
        Some(&admin.access),
    )
    .await
    .expect(200);

    let family = s.get("/family", Some(&carol.access)).await;
    family.expect(200);
    assert_eq!(family.data()["owner_id"], carol.id, "{}", family.text);
    let members = family.data()["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{}", family.text);
    let users = s.get("/users", Some(&admin.access)).await;
    users.expect(200);
    let ids: Vec<_> = users.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [admin.id, carol.id], "{}", users.text);
    s.get("/auth/me", Some(&bob.access)).await.expect(401);
    s.post("/auth/refresh", None, json!({"refresh_token": bob.refresh}))
        .await
        .expect(401);
    s.get(&format!("/albums/{bobs_album}"), Some(&admin.access))
        .await
        .expect(404);
    // Only carol's original and renditions are left.
    assert_eq!(files_under(&s.data_dir().join("originals")).len(), 1);
    assert_eq!(files_under(&s.data_dir().join("thumbnails")).len(), 2);
    s.get(&format!("/photos/{carols}"), Some(&carol.access))
        .await
        .expect(200);
}

#[tokio::test]
async fn administrators_cannot_delete_themselves_and_others_cannot_delete_anyone() {
    let s = TestServer::start().await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let r = s
        .delete(&format!("/users/{}", admin.id), Some(&admin.access))
        .await;
    r.expect(409);
    assert_eq!(r.error_type(), "RESOURCE_CONFLICT");
    s.delete(&format!("/users/{}", admin.id), Some(&bob.access))
        .await
        .expect(403);
    s.delete("/users/999999", Some(&admin.access))
        .await
        .expect(404);
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
}

impl Client {
    fn new(daemon: &Daemon) -> Client {
        Client {
            http: reqwest::blocking::Client::new(),
            base: daemon.url("/api/v1"),
        }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().unwrap().json().unwrap()
    }

    fn register(&self, username: &str) -> (i64, String) {
        let r = self.call(
            "POST",
            "/auth/register",
            None,
            Some(json!({"username": username, "password": "crash-test-pw"})),
        );
        let d = &r["data"];
        (
            d["user"]["id"].as_i64().unwrap(),
            d["access_token"].as_str().unwrap().to_string(),
        )
    }
}

fn originals(data: &Path) -> Vec<String> {
    files_under(&data.join("originals"))
}

#[test]
fn a_crash_before_the_commit_of_a_user_deletion_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start_with_env(&data, &[("PHOTOX_CRASH_AT", "delete_user.before_commit")]);
    let c = Client::new(&daemon);
    let (_, admin) = c.register("admin");
    let (bob, bob_token) = c.register("bob");
    let (_, carol_token) = c.register("carol");
    let family = c.call(
        "POST",
        "/family",
        Some(&bob_token),
        Some(json!({"name": "Home"})),
    );
    let code = family["data"]["invite_code"].as_str().unwrap().to_string();
    c.call(
        "POST",
        "/family/join",
        Some(&carol_token),
        Some(json!({"invite_code": code})),
    );
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(png(19, 9)).file_name("b.png"),
    );
    let uploaded: Value = c
        .http
        .post(format!("{}/photos", c.base))
        .bearer_auth(&bob_token)
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let photo = uploaded["data"]["uploaded"][0]["id"].as_i64().unwrap();
    let before = originals(&data);
    assert_eq!(before.len(), 1);

    // The daemon aborts inside the deletion, after every statement and before the commit.
    let answer = c
        .http
        .delete(format!("{}/users/{bob}?purge=true", c.base))
        .bearer_auth(&admin)
        .send();
    assert!(
        answer.is_err(),
        "the deletion must not have answered: {answer:?}"
    );
    let mut daemon = daemon;
    assert!(!daemon.child.wait().unwrap().success());
    drop(daemon);

    let daemon = Daemon::start(&data);
    let c = Client::new(&daemon);
    let me = c.call("GET", "/auth/me", Some(&bob_token), None);
    assert_eq!(me["data"]["id"], bob, "bob's session survived: {me}");
    let fam = c.call("GET", "/family", Some(&carol_token), None);
    assert_eq!(fam["data"]["owner_id"], bob, "{fam}");
    let got = c.call("GET", &format!("/photos/{photo}"), Some(&bob_token), None);
    assert_eq!(got["data"]["id"], photo, "{got}");
    assert_eq!(originals(&data), before, "the original is untouched");

    // Done again without the crash, it all goes at once.
    let r = c.call(
        "DELETE",
        &format!("/users/{bob}?purge=true"),
        Some(&admin),
        None,
    );
    assert_eq!(r["code"], 200, "{r}");
    assert!(originals(&data).is_empty());
    let fam = c.call("GET", "/family", Some(&carol_token), None);
    assert_ne!(fam["data"]["owner_id"], bob, "{fam}");
    let me = c.call("GET", "/auth/me", Some(&bob_token), None);
    assert_eq!(me["error"]["type"], "INVALID_TOKEN", "{me}");
}
