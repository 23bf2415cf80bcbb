//! Search and tags against the real daemon: words over every field, Chinese, hostile FTS
//! syntax, every filter, facets, scopes and visibility.

mod common;

use common::{fixture, png, Part, Session, TestServer};
use serde_json::{json, Value};

async fn upload_named(
    s: &TestServer,
    who: &Session,
    filename: &'static str,
    bytes: Vec<u8>,
    title: &str,
    description: &str,
) -> i64 {
    let r = s
        .upload_parts(
            "/photos",
            &who.access,
            vec![
                Part::Text("title", title.into()),
                Part::Text("description", description.into()),
                Part::File("file", filename, bytes),
            ],
        )
        .await;
    r.expect(201);
    r.data()["uploaded"][0]["id"].as_i64().unwrap()
}

fn ids(r: &common::Resp) -> Vec<i64> {
    let mut ids: Vec<i64> = r.data()["items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

async fn search(s: &TestServer, who: &Session, query: &str) -> common::Resp {
    let r = s
        .get(&format!("/search/photos?{query}"), Some(&who.access))
        .await;
    r.expect(200);
    r
}

fn q(text: &str) -> String {
    format!(
        "q={}",
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
    )
}

struct Library {
    ann: Session,
    bob: Session,
    eve: Session,
    sunset: i64,
    canon: i64,
    nikon: i64,
    wall: i64,
    bobs: i64,
}

async fn library(s: &TestServer) -> Library {
    let (_, ann, bob, eve) = s.household().await;

    let sunset = upload_named(
        s,
        &ann,
        "IMG_0001.png",
        png(20, 20),
        "Sunset at the Beach",
        "golden hour",
    )
    .await;
    let canon = upload_named(
        s,
        &ann,
        "rio.jpg",
        fixture("exif_orientation6_gps.jpg"),
        "Rio",
        "",
    )
    .await;
    let nikon = upload_named(
        s,
        &ann,
        "deadsea.jpg",
        fixture("exif_no_offset.jpg"),
        "",
        "floating",
    )
    .await;
    let wall = upload_named(
        s,
        &ann,
        "wall.png",
        png(21, 20),
        "长城上的日落",
        "和家人一起",
    )
    .await;
    let bobs = upload_named(s, &bob, "bob.png", png(22, 20), "Bob's beach", "").await;
    s.put(
        &format!("/photos/{sunset}"),
        Some(&ann.access),
        json!({"tags": ["beach", "Sea"]}),
    )
    .await
    .expect(200);
    s.put(
        &format!("/photos/{canon}"),
        Some(&ann.access),
        json!({"tags": ["beach", "city"]}),
    )
    .await
    .expect(200);
    s.put(
        &format!("/photos/{bobs}"),
        Some(&bob.access),
        json!({"tags": ["beach"], "visibility": "family"}),
    )
    .await
    .expect(200);
    Library {
        ann,
        bob,
        eve,
        sunset,
        canon,
        nikon,
        wall,
        bobs,
    }
}

#[tokio::test]
async fn words_match_every_field_case_insensitively() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("sunset", vec![l.sunset]),         // title
        ("GOLDEN", vec![l.sunset]),         // description, any case
        ("img_0001", vec![l.sunset]),       // original filename
        ("beach", vec![l.sunset, l.canon]), // title and tags; only the caller's
        ("canon eos", vec![l.canon]),       // camera
        ("RF24", vec![l.canon]),            // lens
        ("nikon", vec![l.nikon]),           // camera make
        ("beach sea", vec![l.sunset]),      // every word must occur
        ("nothing-like-this", vec![]),
    ];
    for (text, expected) in cases {
        let r = search(&s, &l.ann, &q(text)).await;
        let mut expected = expected;
        expected.sort();
        assert_eq!(ids(&r), expected, "q={text}: {}", r.text);
    }
    // Alias `keywords`.
    let r = search(&s, &l.ann, "keywords=golden").await;
    assert_eq!(ids(&r), [l.sunset]);

    // Album titles, also after a rename.
    let al = s
        .post(
            "/albums",
            Some(&l.ann.access),
            json!({"title": "Holidays 2023"}),
        )
        .await;
    let al = al.data()["id"].as_i64().unwrap();
    s.post(
        &format!("/albums/{al}/photos"),
        Some(&l.ann.access),
        json!({"photo_ids": [l.nikon]}),
    )
    .await
    .expect(200);
    assert_eq!(ids(&search(&s, &l.ann, &q("holidays")).await), [l.nikon]);
    s.put(
        &format!("/albums/{al}"),
        Some(&l.ann.access),
        json!({"title": "Israel"}),
    )
    .await
    .expect(200);
    assert!(ids(&search(&s, &l.ann, &q("holidays")).await).is_empty());
    assert_eq!(ids(&search(&s, &l.ann, &q("israel")).await), [l.nikon]);
    // Tags and titles edited later are found too; trashed photos are not.
    s.put(
        &format!("/photos/{}", l.wall),
        Some(&l.ann.access),
        json!({"tags": ["vacation"]}),
    )
    .await
    .expect(200);
    assert_eq!(ids(&search(&s, &l.ann, &q("vacat")).await), [l.wall]);
    s.delete(&format!("/photos/{}", l.sunset), Some(&l.ann.access))
        .await
        .expect(200);
    assert!(ids(&search(&s, &l.ann, &q("sunset")).await).is_empty());
}

#[tokio::test]
async fn chinese_queries_find_chinese_titles() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    for text in ["长城", "日落", "长城上", "长城上的日落", "家人", "城"] {
        let r = search(&s, &l.ann, &q(text)).await;
        assert_eq!(ids(&r), [l.wall], "q={text}: {}", r.text);
    }
    assert!(ids(&search(&s, &l.ann, &q("故宫")).await).is_empty());
}

#[tokio::test]
async fn fts_syntax_in_q_is_plain_text() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    for text in [
        "\"",
        "\"\"",
        "*",
        "beach*",
        "NEAR(",
        "NEAR(beach sea)",
        "%",
        "%%",
        "-",
        "- beach",
        "beach OR sea",
        "AND",
        "NOT",
        "'",
        "\\",
        "_",
        "^",
        "(",
        ")",
        ":",
        "body:beach",
        "{a b}",
        "beach\"",
        "a\"b\"c",
        "🙂",
    ] {
        let r = s
            .get(&format!("/search/photos?{}", q(text)), Some(&l.ann.access))
            .await;
        assert_eq!(r.status, 200, "q={text}: {}", r.text);
    }
    // `%` and `_` are not wildcards.
    assert!(ids(&search(&s, &l.ann, &q("%")).await).is_empty());
    assert!(ids(&search(&s, &l.ann, &q("IMG%0001")).await).is_empty());
    // "OR" is a word to find, not an operator.
    assert!(ids(&search(&s, &l.ann, &q("beach OR sea")).await).is_empty());
}

#[tokio::test]
async fn filters_combine_and_facets_count_every_match() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    let ann = &l.ann;
    assert_eq!(
        ids(&search(&s, ann, "tags=beach,city").await),
        [l.canon],
        "all the tags"
    );
    assert_eq!(
        ids(&search(&s, ann, "tags=BEACH").await),
        [l.sunset, l.canon]
    );
    assert_eq!(ids(&search(&s, ann, "camera=canon").await), [l.canon]);
    assert_eq!(ids(&search(&s, ann, "lens=24-105").await), [l.canon]);
    assert_eq!(
        ids(&search(&s, ann, "has_location=true").await),
        [l.canon, l.nikon]
    );
    assert_eq!(
        ids(&search(&s, ann, "has_location=false").await),
        [l.sunset, l.wall]
    );
    // Dates: inclusive, on taken_at else upload time; aliases.
    assert_eq!(
        ids(&search(&s, ann, "start_date=2023-07-14&end_date=2023-07-14").await),
        [l.canon]
    );
    assert_eq!(
        ids(&search(&s, ann, "date_from=2021-12-31&date_to=2021-12-31").await),
        [l.nikon]
    );
    assert_eq!(
        ids(&search(&s, ann, "end_date=2022-01-01").await),
        [l.nikon]
    );
    assert_eq!(
        ids(&search(&s, ann, &format!("{}&has_location=true", q("beach"))).await),
        [l.canon]
    );
    // A range that ends before it starts holds no day (the document says so; it cannot say
    // "end after start" in a schema, so it is not refused).
    assert!(ids(&search(&s, ann, "start_date=2024-01-02&end_date=2024-01-01").await).is_empty());
    for bad in [
        "start_date=2023-13-01",
        "start_date=2023-1-01",
        "end_date=yesterday",
        "date_to=2024-02-30",
        "scope=all",
        "scope=",
        "sort=relevance",
        "sort= title",
        "per_page=201",
        "page=0",
    ] {
        s.get(&format!("/search/photos?{bad}"), Some(&ann.access))
            .await
            .expect(400);
    }

    let r = search(&s, ann, &format!("{}&per_page=1", q("beach"))).await;
    assert_eq!(r.data()["pagination"]["total_items"], 2);
    assert_eq!(r.data()["items"].as_array().unwrap().len(), 1);
    let facets = &r.data()["facets"];
    assert_eq!(
        facets["tags"],
        json!([{"name": "beach", "count": 2}, {"name": "city", "count": 1}, {"name": "Sea", "count": 1}])
    );
    assert_eq!(
        facets["cameras"],
        json!([{"name": "Canon EOS R5", "count": 1}])
    );
    let years: i64 = facets["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["count"].as_i64().unwrap())
        .sum();
    assert_eq!(years, 2);
    assert!(facets["years"]
        .as_array()
        .unwrap()
        .contains(&json!({"year": 2023, "count": 1})));
}

#[tokio::test]
async fn search_shows_only_what_the_caller_may_see() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    // Mine: only own photos.
    assert_eq!(ids(&search(&s, &l.bob, &q("beach")).await), [l.bobs]);
    // Family: own and what the family shares (ann's are private).
    assert_eq!(
        ids(&search(&s, &l.bob, &format!("{}&scope=family", q("beach"))).await),
        [l.bobs]
    );
    s.put(
        &format!("/photos/{}", l.sunset),
        Some(&l.ann.access),
        json!({"visibility": "family"}),
    )
    .await
    .expect(200);
    let r = search(&s, &l.bob, &format!("{}&scope=family", q("beach"))).await;
    assert_eq!(ids(&r), [l.sunset, l.bobs]);
    assert_eq!(
        ids(&search(
            &s,
            &l.bob,
            &format!("scope=family&uploader_id={}", l.ann.id)
        )
        .await),
        [l.sunset]
    );
    // The outsider sees nothing of theirs, in any scope, and facets leak nothing.
    for scope in ["mine", "family"] {
        let r = search(&s, &l.eve, &format!("{}&scope={scope}", q("beach"))).await;
        assert_eq!(r.data()["pagination"]["total_items"], 0);
        assert_eq!(r.data()["facets"]["tags"], json!([]));
    }
    // An album the caller cannot see is a 404, like one that does not exist.
    let al = s
        .post(
            "/albums",
            Some(&l.ann.access),
            json!({"title": "beach days"}),
        )
        .await;
    let al = al.data()["id"].as_i64().unwrap();
    for album in [al, 999] {
        s.get(
            &format!("/search/photos?album_id={album}"),
            Some(&l.eve.access),
        )
        .await
        .expect(404);
    }
    s.get("/search/photos", None).await.expect(401);
}

#[tokio::test]
async fn tag_lists_suggestions_and_cloud() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    let ann = &l.ann.access;
    let r = s.get("/tags", Some(ann)).await;
    r.expect(200);
    assert_eq!(
        r.data()["items"],
        json!([{"name": "beach", "count": 2}, {"name": "city", "count": 1}, {"name": "Sea", "count": 1}])
    );
    let r = s.get("/tags?sort=name&limit=2", Some(ann)).await;
    assert_eq!(
        r.data()["items"],
        json!([{"name": "beach", "count": 2}, {"name": "city", "count": 1}])
    );
    s.get("/tags?sort=size", Some(ann)).await.expect(400);
    s.get("/tags?limit=0", Some(ann)).await.expect(400);

    s.put(
        &format!("/photos/{}", l.wall),
        Some(ann),
        json!({"tags": ["seaside", "overseas"]}),
    )
    .await
    .expect(200);
    let r = s.get("/tags/suggestions?q=sea", Some(ann)).await;
    let names: Vec<&str> = r.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sea", "seaside", "overseas"], "prefix first");
    let r = s.get("/tags/suggestions?q=%25", Some(ann)).await;
    assert_eq!(r.data()["items"], json!([]));

    let r = s.get("/tags/cloud", Some(ann)).await;
    r.expect(200);
    let first = &r.data()["items"][0];
    assert_eq!(first["name"], "beach");
    assert_eq!(first["relative_size"], 100);
    assert_eq!(r.data()["items"][1]["relative_size"], 50);
    let r = s.get("/tags/cloud?min_count=2", Some(ann)).await;
    assert_eq!(r.data()["items"].as_array().unwrap().len(), 1);
    // Other users' tags never show.
    let r = s.get("/tags", Some(&l.eve.access)).await;
    assert_eq!(r.data()["items"], Value::Array(vec![]));
}

#[tokio::test]
async fn the_index_follows_purges_and_account_deletion() {
    let s = TestServer::start().await;
    let l = library(&s).await;
    let index_size = || async {
        s.state
            .db()
            .run(|c| {
                Ok(c.query_row("SELECT count(*) FROM photo_search", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
            .await
            .unwrap()
    };
    assert_eq!(index_size().await, 5);
    s.delete(&format!("/photos/{}", l.sunset), Some(&l.ann.access))
        .await
        .expect(200);
    s.delete(
        &format!("/photos/{}/permanent", l.sunset),
        Some(&l.ann.access),
    )
    .await
    .expect(200);
    assert_eq!(index_size().await, 4);
    let root = s.login_ok("root").await;
    s.delete(
        &format!("/users/{}?purge=true", l.bob.id),
        Some(&root.access),
    )
    .await
    .expect(200);
    assert_eq!(index_size().await, 3);
    // What is left is still found.
    assert_eq!(ids(&search(&s, &l.ann, &q("rio")).await), [l.canon]);
}

/// Runs one statement through the real `sqlite3` shell, as an admin repairing the database
/// would (the daemon keeps running).
fn sqlite3(db: &std::path::Path, sql: &str) {
    // `.timeout`: wait for the daemon's own writes (background jobs) like any second writer.
    let out = std::process::Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 shell is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_sqlite3_shell_can_write_and_search_follows() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = upload_named(&s, &ann, "a.png", png(40, 30), "Garden", "").await;
    let db = s.data_dir().join("photox.db");

    sqlite3(
        &db,
        &format!("UPDATE photos SET title = 'x' WHERE id = {id}"),
    );
    assert_eq!(ids(&search(&s, &ann, &q("x")).await), [id]);
    assert!(ids(&search(&s, &ann, &q("Garden")).await).is_empty());

    // Short Chinese words go through the grams, which the daemon fills in for rows others wrote.
    sqlite3(
        &db,
        &format!("UPDATE photos SET title = '长城' WHERE id = {id}"),
    );
    assert_eq!(ids(&search(&s, &ann, &q("长城")).await), [id]);
    assert_eq!(ids(&search(&s, &ann, &q("城")).await), [id]);
    sqlite3(
        &db,
        &format!("INSERT INTO photo_tags (photo_id, name, source) VALUES ({id}, '猫', 'manual')"),
    );
    assert_eq!(ids(&search(&s, &ann, &q("猫")).await), [id]);
    let other = upload_named(&s, &ann, "b.png", png(41, 30), "Beach", "").await;
    sqlite3(
        &db,
        &format!(
            "INSERT INTO albums (owner_id, title, created_at, updated_at) VALUES ({}, '日落', 0, 0);
             INSERT INTO album_photos (album_id, photo_id, added_at)
             VALUES (last_insert_rowid(), {other}, 0);",
            ann.id
        ),
    );
    assert_eq!(ids(&search(&s, &ann, &q("日落")).await), [other]);
    sqlite3(
        &db,
        &format!("DELETE FROM photo_tags WHERE photo_id = {id}"),
    );
    assert!(ids(&search(&s, &ann, &q("猫")).await).is_empty());
}
