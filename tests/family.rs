//! Families against the real daemon: invite codes, membership, ownership passing on, and what
//! joining and leaving do to access.

mod common;

use common::{png, Session, TestServer};
use serde_json::{json, Value};

async fn users(s: &TestServer) -> (Session, Session, Session, Session) {
    let root = s.register("root").await;
    let ann = s.register("ann").await;
    let bob = s.register("bob").await;
    let eve = s.register("eve").await;
    (root, ann, bob, eve)
}

fn code(r: &common::Resp) -> String {
    r.data()["invite_code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn family_lifecycle_codes_members_and_ownership() {
    let s = TestServer::start().await;
    let (_, ann, bob, eve) = users(&s).await;
    assert_eq!(
        s.get("/family", Some(&ann.access)).await.data(),
        &Value::Null
    );
    s.post("/family", Some(&ann.access), json!({"name": " "}))
        .await
        .expect(422);
    let created = s
        .post("/family", Some(&ann.access), json!({"name": "Millers"}))
        .await;
    created.expect(201);
    let first_code = code(&created);
    assert_eq!(first_code.len(), 8);
    assert_eq!(created.data()["owner_id"], ann.id);
    assert_eq!(created.data()["members"][0]["role"], "owner");
    assert_eq!(created.data()["members"][0]["username"], "ann");
    s.post("/family", Some(&ann.access), json!({"name": "Again"}))
        .await
        .expect(409);

    s.post(
        "/family/join",
        Some(&eve.access),
        json!({"invite_code": "NOPE2345"}),
    )
    .await
    .expect(404);
    // Codes are case-insensitive.
    let joined = s
        .post(
            "/family/join",
            Some(&bob.access),
            json!({"invite_code": first_code.to_lowercase()}),
        )
        .await;
    joined.expect(200);
    let members: Vec<(&str, &str)> = joined.data()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(members, [("ann", "owner"), ("bob", "member")]);
    s.post(
        "/family/join",
        Some(&bob.access),
        json!({"invite_code": first_code}),
    )
    .await
    .expect(409);
    assert_eq!(
        s.get("/family", Some(&bob.access)).await.data()["invite_code"],
        first_code.as_str()
    );

    // Only the owner renews the code; the old one stops working.
    s.post("/family/invite_code", Some(&bob.access), json!({}))
        .await
        .expect(403);
    let renewed = s
        .post("/family/invite_code", Some(&ann.access), json!({}))
        .await;
    renewed.expect(200);
    assert_ne!(code(&renewed), first_code);
    s.post(
        "/family/join",
        Some(&eve.access),
        json!({"invite_code": first_code}),
    )
    .await
    .expect(404);

    // Only the owner removes members; someone not in the family is 404.
    s.delete(&format!("/family/members/{}", ann.id), Some(&bob.access))
        .await
        .expect(403);
    s.delete(&format!("/family/members/{}", eve.id), Some(&ann.access))
        .await
        .expect(404);

    // The owner leaves: bob, the longest-standing member, owns it now.
    s.post("/family/leave", Some(&ann.access), json!({}))
        .await
        .expect(200);
    let f = s.get("/family", Some(&bob.access)).await;
    assert_eq!(f.data()["owner_id"], bob.id);
    assert_eq!(f.data()["members"][0]["role"], "owner");
    assert_eq!(f.data()["members"].as_array().unwrap().len(), 1);
    let last_code = f.data()["invite_code"].as_str().unwrap().to_string();
    // The last one out deletes it.
    s.post("/family/leave", Some(&bob.access), json!({}))
        .await
        .expect(200);
    assert_eq!(
        s.get("/family", Some(&bob.access)).await.data(),
        &Value::Null
    );
    s.post("/family/leave", Some(&bob.access), json!({}))
        .await
        .expect(404);
    s.post(
        "/family/join",
        Some(&eve.access),
        json!({"invite_code": last_code}),
    )
    .await
    .expect(404);
    for path in ["/family", "/family/leave", "/family/join"] {
        s.post(path, None, json!({})).await.expect(401);
    }
    s.get("/family", None).await.expect(401);
}

#[tokio::test]
async fn leaving_or_being_removed_ends_family_access_at_once() {
    let s = TestServer::start().await;
    let (_, ann, bob, eve) = users(&s).await;
    let r = s
        .post("/family", Some(&ann.access), json!({"name": "Home"}))
        .await;
    let c = code(&r);
    for who in [&bob, &eve] {
        s.post("/family/join", Some(&who.access), json!({"invite_code": c}))
            .await
            .expect(200);
    }
    let shared = s.upload(&ann.access, "f.png", png(15, 15)).await;
    let shared = shared["id"].as_i64().unwrap();
    s.put(
        &format!("/photos/{shared}"),
        Some(&ann.access),
        json!({"visibility": "family"}),
    )
    .await
    .expect(200);
    let private = s.upload(&ann.access, "p.png", png(16, 15)).await["id"]
        .as_i64()
        .unwrap();

    for who in [&bob, &eve] {
        s.get(&format!("/photos/{shared}"), Some(&who.access))
            .await
            .expect(200);
        s.get(&format!("/photos/{private}"), Some(&who.access))
            .await
            .expect(404);
        let listed = s.get("/photos?scope=family", Some(&who.access)).await;
        assert_eq!(listed.data()["pagination"]["total_items"], 1);
        // Seeing is not changing.
        s.put(
            &format!("/photos/{shared}"),
            Some(&who.access),
            json!({"title": "mine now"}),
        )
        .await
        .expect(403);
    }

    s.post("/family/leave", Some(&bob.access), json!({}))
        .await
        .expect(200);
    s.get(&format!("/photos/{shared}"), Some(&bob.access))
        .await
        .expect(404);
    assert_eq!(
        s.get("/photos?scope=family", Some(&bob.access))
            .await
            .data()["pagination"]["total_items"],
        0
    );

    let after = s
        .delete(&format!("/family/members/{}", eve.id), Some(&ann.access))
        .await;
    after.expect(200);
    assert_eq!(after.data()["members"].as_array().unwrap().len(), 1);
    s.get(&format!("/photos/{shared}"), Some(&eve.access))
        .await
        .expect(404);
    assert_eq!(
        s.get("/family", Some(&eve.access)).await.data(),
        &Value::Null
    );
    // The owner still sees her own photo.
    s.get(&format!("/photos/{shared}"), Some(&ann.access))
        .await
        .expect(200);
}

#[tokio::test]
async fn deleting_a_family_owner_hands_the_family_on() {
    let s = TestServer::start().await;
    let (root, ann, bob, _) = users(&s).await;
    let r = s
        .post("/family", Some(&ann.access), json!({"name": "Home"}))
        .await;
    s.post(
        "/family/join",
        Some(&bob.access),
        json!({"invite_code": code(&r)}),
    )
    .await
    .expect(200);
    s.delete(&format!("/users/{}", ann.id), Some(&root.access))
        .await
        .expect(200);
    let f = s.get("/family", Some(&bob.access)).await;
    assert_eq!(f.data()["owner_id"], bob.id);
    assert_eq!(f.data()["members"].as_array().unwrap().len(), 1);
}
