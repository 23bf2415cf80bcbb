//! Resumable uploads (tus 1.0.0, API.md §5.1) against the real server: discovery, creation,
//! HEAD, PATCH, termination, what a finished upload becomes, and every refusal.

mod common;

use common::tus::{noisy_jpeg, photo_of, upload_files, OFFSET_STREAM, TUS};
use common::{fixture, sha256_hex, tmp_leftovers, Part, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn options_announces_the_protocol_without_a_token() {
    let s = TestServer::start().await;
    for path in ["/uploads", "/uploads/0123456789abcdef0123456789abcdef"] {
        let r = s.send(s.client.request(Method::OPTIONS, s.url(path))).await;
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
        assert_eq!(r.header("tus-max-size"), Some("52428800"));
        assert_eq!(r.header("tus-checksum-algorithm"), Some("sha1,sha256,md5"));
        let extensions: Vec<&str> = r.header("tus-extension").unwrap().split(',').collect();
        for ext in [
            "creation",
            "creation-with-upload",
            "creation-defer-length",
            "termination",
            "expiration",
            "checksum",
            "concatenation",
        ] {
            assert!(extensions.contains(&ext), "{ext} in {extensions:?}");
        }
    }
}

#[tokio::test]
async fn one_patch_makes_the_photo_post_photos_would_make() {
    let s = TestServer::start().await;
    let (_, ann, bob, _) = s.household().await;
    let bytes = fixture("exif_orientation6_gps.jpg");
    let meta = [
        ("filename", "Strand.jpg"),
        ("filetype", "image/jpeg"),
        ("title", "Am Strand"),
        ("description", "Nordsee, 2019"),
        ("visibility", "family"),
    ];
    let r = s.tus_create(&ann.access, bytes.len() as u64, &meta).await;
    r.expect(201);
    let location = r.header("location").unwrap().to_string();
    assert!(location.starts_with("/api/v1/uploads/"), "{location}");
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert!(r.header("upload-expires").unwrap().ends_with(" GMT"));

    let head = s.tus_head(&ann.access, &location).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("upload-offset"), Some("0"));
    assert_eq!(
        head.header("upload-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(
        head.header("upload-metadata"),
        Some(common::tus::metadata(&meta).as_str())
    );
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert!(head.header("upload-expires").is_some());

    let r = s.tus_patch(&ann.access, &location, 0, &bytes).await;
    r.expect(204);
    assert_eq!(
        r.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    assert!(r.header("upload-expires").unwrap().ends_with(" GMT"));
    let (id, duplicate) = photo_of(&r);
    assert!(!duplicate);
    assert_eq!(s.original(&ann.access, id).await, bytes, "byte for byte");

    // The same file through POST /photos (by bob, so it is not a duplicate).
    let posted = s
        .upload_parts(
            "/photos",
            &bob.access,
            vec![
                Part::Text("title", "Am Strand".into()),
                Part::Text("description", "Nordsee, 2019".into()),
                Part::Text("visibility", "family".into()),
                Part::File("file", "Strand.jpg", bytes.clone()),
            ],
        )
        .await;
    posted.expect(201);
    let posted = posted.data()["uploaded"][0].clone();
    s.wait_processed(&ann.access, id).await;
    s.wait_processed(&bob.access, posted["id"].as_i64().unwrap())
        .await;
    let ours = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    ours.expect(200);
    let ours = ours.data();
    let theirs = s
        .get(&format!("/photos/{}", posted["id"]), Some(&bob.access))
        .await;
    let theirs = theirs.data();
    for field in [
        "title",
        "description",
        "original_filename",
        "mime_type",
        "size",
        "width",
        "height",
        "checksum",
        "taken_at",
        "visibility",
        "status",
        "exif",
        "location",
        "origin",
    ] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    assert_eq!(ours["checksum"], sha256_hex(&bytes));
    assert_eq!(ours["original_filename"], "Strand.jpg");
    assert!(
        ours["location"]["latitude"].is_number(),
        "EXIF GPS was read"
    );
    let steps = s
        .get(&format!("/photos/{id}/status"), Some(&ann.access))
        .await;
    assert_eq!(steps.data()["status"], "ready");

    // The finished upload still tells its photo, and nothing is left behind.
    let head = s.tus_head(&ann.access, &location).await;
    assert_eq!(
        head.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(head.header("photo-id"), Some(id.to_string().as_str()));
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
    assert_eq!(tmp_leftovers(&s.data_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn chunks_make_the_same_bytes_and_a_second_upload_is_a_duplicate() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(1, 300);
    let (id, duplicate) = s
        .tus_upload(&ann.access, &bytes, 64 * 1024, &[("filename", "a.jpg")])
        .await;
    assert!(!duplicate);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    let (again, duplicate) = s
        .tus_upload(&ann.access, &bytes, bytes.len(), &[("filename", "b.jpg")])
        .await;
    assert_eq!((again, duplicate), (id, true));
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
    // An empty PATCH at the end of a finished upload answers its photo again.
    let bytes = noisy_jpeg(2, 20);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let first = s.tus_patch(&ann.access, &location, 0, &bytes).await;
    first.expect(204);
    let again = s
        .tus_patch(&ann.access, &location, bytes.len() as u64, &[])
        .await;
    again.expect(204);
    assert_eq!(photo_of(&again), photo_of(&first));
    let conflict = s.tus_patch(&ann.access, &location, 0, &bytes).await;
    conflict.expect(409);
    let head = s.tus_head(&ann.access, &location).await;
    assert_eq!(
        conflict.header("upload-expires"),
        head.header("upload-expires"),
        "a refusal tells the upload's expiry too"
    );
}

#[tokio::test]
async fn metadata_is_checked_at_creation_and_the_album_is_filled() {
    let s = TestServer::start().await;
    let (_, ann, bob, eve) = s.household().await;
    let album = s
        .post("/albums", Some(&ann.access), json!({"title": "Sea"}))
        .await;
    let album_id = album.data()["id"].as_i64().unwrap().to_string();
    let bytes = noisy_jpeg(3, 40);
    let (id, _) = s
        .tus_upload(&ann.access, &bytes, 10_000, &[("album_id", &album_id)])
        .await;
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["albums"][0]["id"].to_string(), album_id);
    assert_eq!(photo.data()["original_filename"], "upload");

    // Refused before a byte is sent.
    let cases = [
        ("title ***", 400, "title"),
        ("album_id MQ,album_id Mg", 400, "album_id"),
        ("visibility c2VjcmV0", 400, "visibility"),
        ("album_id c2V2ZW4=", 400, "album_id"),
    ];
    for (header, status, field) in cases {
        let r = s
            .send(
                s.tus(Method::POST, "/uploads", &ann.access)
                    .header("Upload-Length", "10")
                    .header("Upload-Metadata", header),
            )
            .await;
        r.expect(status);
        assert_eq!(r.body["error"]["details"][0]["field"], field, "{header}");
    }
    let long_title = "x".repeat(201);
    let r = s
        .tus_create(&ann.access, 10, &[("title", &long_title)])
        .await;
    r.expect(400);
    assert_eq!(r.body["error"]["details"][0]["code"], "TOO_LONG");
    // An album that does not exist, or that another user cannot add to.
    s.tus_create(&ann.access, 10, &[("album_id", "999")])
        .await
        .expect(404);
    s.tus_create(&eve.access, 10, &[("album_id", &album_id)])
        .await
        .expect(404);
    // bob sees ann's private album only through... nothing: it is private.
    s.tus_create(&bob.access, 10, &[("album_id", &album_id)])
        .await
        .expect(404);
}

#[tokio::test]
async fn bad_requests_get_clear_answers() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let location = s.tus_new(&ann.access, 1000, &[]).await;

    // Tus-Resumable missing or of another version: 412 with Tus-Version.
    for version in [None, Some("0.2.2")] {
        let mut req = s
            .client
            .post(s.url("/uploads"))
            .bearer_auth(&ann.access)
            .header("Upload-Length", "10");
        if let Some(v) = version {
            req = req.header("Tus-Resumable", v);
        }
        let r = s.send(req).await;
        r.expect(412);
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(r.error_type(), "PRECONDITION_FAILED");
    }
    // No token: 401, for every method.
    for (method, path) in [
        (Method::POST, "/uploads".to_string()),
        (Method::HEAD, location.clone()),
        (Method::PATCH, location.clone()),
        (Method::DELETE, location.clone()),
    ] {
        let url = if path.starts_with("/api") {
            format!("{}{path}", s.base)
        } else {
            s.url(&path)
        };
        let r = s
            .send(
                s.client
                    .request(method.clone(), url)
                    .header(TUS.0, TUS.1)
                    .header("Upload-Length", "10")
                    .header("Upload-Offset", "0")
                    .header("Content-Type", OFFSET_STREAM),
            )
            .await;
        assert_eq!(r.status, 401, "{method} {path}");
        if method != Method::HEAD {
            assert_eq!(r.error_type(), "AUTHENTICATION_REQUIRED");
        }
    }
    // Larger than storage.max_upload_mb: 413; no length at all: 400.
    let r = s.tus_create(&ann.access, 50 * 1024 * 1024 + 1, &[]).await;
    r.expect(413);
    let r = s.send(s.tus(Method::POST, "/uploads", &ann.access)).await;
    r.expect(400);
    assert_eq!(r.body["error"]["details"][0]["field"], "Upload-Length");
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Length", "-3"),
        )
        .await;
    r.expect(400);
    // PATCH: wrong Content-Type 415, wrong offset 409 (with the real one), past the end 413.
    let r = s
        .send(
            s.tus(Method::PATCH, &location, &ann.access)
                .header("Upload-Offset", "0")
                .header("Content-Type", "application/octet-stream")
                .body(vec![1u8; 10]),
        )
        .await;
    r.expect(415);
    s.tus_patch(&ann.access, &location, 0, &[7u8; 100])
        .await
        .expect(204);
    let r = s.tus_patch(&ann.access, &location, 50, &[7u8; 10]).await;
    r.expect(409);
    assert_eq!(r.header("upload-offset"), Some("100"));
    let r = s.tus_patch(&ann.access, &location, 100, &[7u8; 901]).await;
    r.expect(413);
    // Also when the length is only found out while reading (no Content-Length).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![7u8; 600]), Ok(vec![7u8; 600])];
    let r = s
        .send(
            s.tus(Method::PATCH, &location, &ann.access)
                .header("Upload-Offset", "100")
                .header("Content-Type", OFFSET_STREAM)
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                ))),
        )
        .await;
    r.expect(413);
    assert_eq!(
        s.tus_offset(&ann.access, &location).await,
        100,
        "nothing past the end"
    );
    let file = s
        .data_dir()
        .join("uploads")
        .join(location.rsplit('/').next().unwrap());
    assert!(std::fs::metadata(&file).unwrap().len() <= 1000);
    // Methods tus does not have here: 405 with Allow.
    let r = s.send(s.tus(Method::GET, &location, &ann.access)).await;
    r.expect(405);
    assert_eq!(r.header("allow"), Some("HEAD, PATCH, DELETE, OPTIONS"));
    let r = s.send(s.tus(Method::PUT, "/uploads", &ann.access)).await;
    r.expect(405);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    // Unknown or malformed upload ids: 404.
    for bad in [
        "0123456789abcdef0123456789abcdef",
        "..%2F..%2Fphotox.db",
        "x",
    ] {
        let r = s
            .tus_head(&ann.access, &format!("/api/v1/uploads/{bad}"))
            .await;
        assert_eq!(r.status, 404, "{bad}");
    }
}

#[tokio::test]
async fn a_finished_upload_that_is_not_an_image_is_refused_and_removed() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let html = b"<!doctype html><html><body>not a photo</body></html>".repeat(40);
    let location = s
        .tus_new(&ann.access, html.len() as u64, &[("filename", "x.jpg")])
        .await;
    s.tus_patch(&ann.access, &location, 0, &html[..1000])
        .await
        .expect(204);
    let r = s
        .tus_patch(&ann.access, &location, 1000, &html[1000..])
        .await;
    r.expect(415);
    assert_eq!(r.error_type(), "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(s.tus_head(&ann.access, &location).await.status, 404);
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
    assert_eq!(tmp_leftovers(&s.data_dir()), Vec::<String>::new());
    let photos = s.get("/photos", Some(&ann.access)).await;
    assert_eq!(photos.data()["pagination"]["total_items"], 0);
    // An empty upload is finished (and refused) at once.
    s.tus_create(&ann.access, 0, &[]).await.expect(415);
}

#[tokio::test]
async fn another_users_upload_is_404_for_every_method() {
    let s = TestServer::start().await;
    let (root, ann, _, eve) = s.household().await;
    let bytes = noisy_jpeg(4, 30);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    s.tus_patch(&ann.access, &location, 0, &bytes[..1000])
        .await
        .expect(204);
    // Not even an admin reaches it.
    for intruder in [&eve, &root] {
        assert_eq!(s.tus_head(&intruder.access, &location).await.status, 404);
        s.tus_patch(&intruder.access, &location, 1000, &bytes[1000..])
            .await
            .expect(404);
        s.send(s.tus(Method::DELETE, &location, &intruder.access))
            .await
            .expect(404);
    }
    assert_eq!(
        s.tus_offset(&ann.access, &location).await,
        1000,
        "untouched"
    );
    let r = s
        .tus_patch(&ann.access, &location, 1000, &bytes[1000..])
        .await;
    r.expect(204);
    let (id, _) = photo_of(&r);
    assert_eq!(s.tus_head(&eve.access, &location).await.status, 404);
    assert_eq!(s.original(&ann.access, id).await, bytes);
}

#[tokio::test]
async fn termination_removes_the_upload_and_its_bytes() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let location = s.tus_new(&ann.access, 5000, &[]).await;
    s.tus_patch(&ann.access, &location, 0, &[1u8; 2000])
        .await
        .expect(204);
    assert_eq!(upload_files(&s.data_dir()).len(), 1);
    let r = s.send(s.tus(Method::DELETE, &location, &ann.access)).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(s.tus_head(&ann.access, &location).await.status, 404);
    s.tus_patch(&ann.access, &location, 2000, &[1u8; 10])
        .await
        .expect(404);
    s.send(s.tus(Method::DELETE, &location, &ann.access))
        .await
        .expect(404);
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn unfinished_uploads_survive_a_restart() {
    let mut s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(5, 200);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let half = bytes.len() / 2;
    s.tus_patch(&ann.access, &location, 0, &bytes[..half])
        .await
        .expect(204);
    s.restart().await;
    assert_eq!(s.tus_offset(&ann.access, &location).await, half as u64);
    let r = s
        .tus_patch(&ann.access, &location, half as u64, &bytes[half..])
        .await;
    r.expect(204);
    let (id, _) = photo_of(&r);
    // The hash went on from the file after the restart: the checksum is that of all bytes.
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["checksum"], sha256_hex(&bytes));
    assert_eq!(s.original(&ann.access, id).await, bytes);
}

#[tokio::test]
async fn the_openapi_document_points_to_the_tus_routes_instead_of_listing_them() {
    let s = TestServer::start().await;
    let r = s
        .client
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let spec: serde_json::Value = r.json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(
        paths.keys().all(|p| !p.starts_with("/uploads")),
        "tus routes are not OpenAPI operations: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    let description = spec["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("tus 1.0.0 protocol at `/api/v1/uploads`"),
        "{description}"
    );
}

#[tokio::test]
async fn deleting_a_user_removes_their_uploads_and_bytes() {
    let s = TestServer::start().await;
    let (root, ann, _, _) = s.household().await;
    let location = s.tus_new(&ann.access, 5000, &[]).await;
    s.tus_patch(&ann.access, &location, 0, &[1u8; 2000])
        .await
        .expect(204);
    let bytes = noisy_jpeg(6, 20);
    let (photo, _) = s.tus_upload(&ann.access, &bytes, bytes.len(), &[]).await;
    s.wait_processed(&ann.access, photo).await;
    assert_eq!(upload_files(&s.data_dir()).len(), 1);
    s.delete(&format!("/users/{}?purge=true", ann.id), Some(&root.access))
        .await
        .expect(200);
    // At once, not at the next expiry run.
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
    let rows = s
        .state
        .db()
        .run(|conn| Ok(conn.query_row("SELECT count(*) FROM uploads", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap();
    assert_eq!(rows, 0);
}
