//! The tus extensions Photox announces, each against the real server: creation-with-upload,
//! creation-defer-length, checksum, concatenation, expiration; `X-HTTP-Method-Override`, CORS,
//! and the limits on unfinished uploads and free space.

mod common;

use common::tus::{checksum, metadata, noisy_jpeg, photo_of, upload_files, OFFSET_STREAM};
use common::TestServer;
use photox::jobs::JobKind;
use reqwest::Method;

#[tokio::test]
async fn creation_with_upload_sends_the_first_bytes_or_all_of_them() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(10, 60);
    let create = |body: Vec<u8>| {
        s.tus(Method::POST, "/uploads", &ann.access)
            .header("Upload-Length", bytes.len().to_string())
            .header("Upload-Metadata", metadata(&[("filename", "w.jpg")]))
            .header("Content-Type", OFFSET_STREAM)
            .body(body)
    };
    // All of it: the creation answers the photo.
    let r = s.send(create(bytes.clone())).await;
    r.expect(201);
    assert_eq!(
        r.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    let (id, _) = photo_of(&r);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    // Part of it, the rest by PATCH (a new file, so not a duplicate).
    let bytes = noisy_jpeg(11, 60);
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Length", bytes.len().to_string())
                .header("Content-Type", OFFSET_STREAM)
                .body(bytes[..5000].to_vec()),
        )
        .await;
    r.expect(201);
    assert_eq!(r.header("upload-offset"), Some("5000"));
    assert_eq!(r.header("photo-id"), None);
    let location = r.header("location").unwrap().to_string();
    let r = s
        .tus_patch(&ann.access, &location, 5000, &bytes[5000..])
        .await;
    r.expect(204);
    assert_eq!(s.original(&ann.access, photo_of(&r).0).await, bytes);
    // A body of another type is refused, and so is a body past the length (no upload left).
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Length", "10")
                .header("Content-Type", "image/jpeg")
                .body(vec![0u8; 10]),
        )
        .await;
    r.expect(415);
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Length", "10")
                .header("Content-Type", OFFSET_STREAM)
                .body(vec![0u8; 11]),
        )
        .await;
    r.expect(413);
    assert_eq!(upload_files(&s.data_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn a_deferred_length_is_told_by_a_later_patch() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(12, 80);
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Defer-Length", "1"),
        )
        .await;
    r.expect(201);
    let location = r.header("location").unwrap().to_string();
    let head = s.tus_head(&ann.access, &location).await;
    assert_eq!(head.header("upload-defer-length"), Some("1"));
    assert_eq!(head.header("upload-length"), None);
    s.tus_patch(&ann.access, &location, 0, &bytes[..30_000])
        .await
        .expect(204);
    let patch = |offset: usize, length: usize, body: &[u8]| {
        s.tus(Method::PATCH, &location, &ann.access)
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Length", length.to_string())
            .header("Content-Type", OFFSET_STREAM)
            .body(body.to_vec())
    };
    // A length below what is already there is refused.
    s.send(patch(30_000, 100, &[])).await.expect(400);
    let r = s.send(patch(30_000, bytes.len(), &bytes[30_000..])).await;
    r.expect(204);
    let (id, _) = photo_of(&r);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    // Both, or neither, is a 400.
    s.send(
        s.tus(Method::POST, "/uploads", &ann.access)
            .header("Upload-Defer-Length", "1")
            .header("Upload-Length", "10"),
    )
    .await
    .expect(400);
    s.send(
        s.tus(Method::POST, "/uploads", &ann.access)
            .header("Upload-Defer-Length", "2"),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn a_chunk_that_does_not_match_its_checksum_is_dropped_with_460() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(13, 90);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let patch = |offset: usize, body: &[u8], sum: String| {
        s.tus(Method::PATCH, &location, &ann.access)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", OFFSET_STREAM)
            .header("Upload-Checksum", sum)
            .body(body.to_vec())
    };
    let (a, b, c) = (&bytes[..20_000], &bytes[20_000..50_000], &bytes[50_000..]);
    s.send(patch(0, a, checksum("sha1", a))).await.expect(204);
    // The checksum of other bytes: 460, and the upload stays where it was.
    let r = s.send(patch(20_000, b, checksum("sha256", a))).await;
    r.expect(460);
    assert_eq!(r.error_type(), "CHECKSUM_MISMATCH");
    // A refused PATCH of a live upload still tells when the upload expires.
    assert!(r.header("upload-expires").unwrap().ends_with(" GMT"));
    assert_eq!(s.tus_offset(&ann.access, &location).await, 20_000);
    let file = s
        .data_dir()
        .join("uploads")
        .join(location.rsplit('/').next().unwrap());
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 20_000, "dropped");
    // An algorithm Photox does not know is a 400.
    s.send(patch(20_000, b, "crc32 AAAAAA==".into()))
        .await
        .expect(400);
    s.send(patch(20_000, b, checksum("md5", b)))
        .await
        .expect(204);
    let r = s.send(patch(50_000, c, checksum("sha256", c))).await;
    r.expect(204);
    let (id, _) = photo_of(&r);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["checksum"], common::sha256_hex(&bytes));
}

#[tokio::test]
async fn partial_uploads_are_concatenated_into_one_photo() {
    let s = TestServer::start().await;
    let (_, ann, _, eve) = s.household().await;
    let bytes = noisy_jpeg(14, 120);
    let thirds = [&bytes[..40_000], &bytes[40_000..80_000], &bytes[80_000..]];
    let mut urls = Vec::new();
    for part in thirds {
        let r = s
            .send(
                s.tus(Method::POST, "/uploads", &ann.access)
                    .header("Upload-Concat", "partial")
                    .header("Upload-Length", part.len().to_string()),
            )
            .await;
        r.expect(201);
        urls.push(r.header("location").unwrap().to_string());
    }
    // Parts are written in any order; a part finishing makes no photo.
    for (url, part) in urls.iter().zip(thirds).rev() {
        let r = s.tus_patch(&ann.access, url, 0, part).await;
        r.expect(204);
        assert_eq!(r.header("photo-id"), None);
    }
    let head = s.tus_head(&ann.access, &urls[0]).await;
    assert_eq!(head.header("upload-concat"), Some("partial"));
    let final_of = |who: &str, urls: &[String]| {
        // tus-js-client names the parts by absolute URL.
        let parts: Vec<String> = urls.iter().map(|u| format!("{}{u}", s.base)).collect();
        s.tus(Method::POST, "/uploads", who)
            .header("Upload-Concat", format!("final;{}", parts.join(" ")))
            .header("Upload-Metadata", metadata(&[("filename", "joined.jpg")]))
    };
    // Another user cannot use ann's parts.
    s.send(final_of(&eve.access, &urls)).await.expect(404);
    // An unfinished part is a 400.
    let unfinished = s.tus_new(&ann.access, 10, &[]).await;
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Concat", "partial")
                .header("Upload-Length", "10"),
        )
        .await;
    let open_part = r.header("location").unwrap().to_string();
    s.send(final_of(&ann.access, &[urls[0].clone(), open_part]))
        .await
        .expect(400);
    s.send(final_of(&ann.access, &[urls[0].clone(), unfinished]))
        .await
        .expect(400);
    // The final upload never takes an Upload-Length.
    s.send(final_of(&ann.access, &urls).header("Upload-Length", "5"))
        .await
        .expect(400);
    let r = s.send(final_of(&ann.access, &urls)).await;
    r.expect(201);
    let (id, _) = photo_of(&r);
    assert_eq!(s.original(&ann.access, id).await, bytes);
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["original_filename"], "joined.jpg");
    // The parts are used up; the final upload tells its photo.
    for url in &urls {
        assert_eq!(s.tus_head(&ann.access, url).await.status, 404);
    }
    let location = r.header("location").unwrap().to_string();
    let head = s.tus_head(&ann.access, &location).await;
    assert_eq!(head.header("photo-id"), Some(id.to_string().as_str()));
    assert!(head.header("upload-concat").unwrap().starts_with("final;"));
    assert_eq!(
        head.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    // A final upload is not written to.
    s.tus_patch(&ann.access, &location, bytes.len() as u64, b"x")
        .await
        .expect(403);
}

#[tokio::test]
async fn method_override_and_cors_let_browsers_and_old_proxies_through() {
    let origin = "https://photos.example.org";
    let s = TestServer::with_config(|c| c.server.cors_origins = vec![origin.into()]).await;
    let ann = s.register("ann").await;
    let bytes = noisy_jpeg(15, 40);
    let location = s.tus_new(&ann.access, bytes.len() as u64, &[]).await;
    let overridden = |method: &str| {
        s.tus(Method::POST, &location, &ann.access)
            .header("X-HTTP-Method-Override", method)
    };
    let r = s
        .send(
            overridden("PATCH")
                .header("Upload-Offset", "0")
                .header("Content-Type", OFFSET_STREAM)
                .body(bytes[..1000].to_vec()),
        )
        .await;
    r.expect(204);
    let r = s.send(overridden("HEAD")).await;
    assert_eq!(r.header("upload-offset"), Some("1000"));

    // A browser asks first, then sends with its Origin and reads the tus headers.
    let r = s
        .send(
            s.client
                .request(Method::OPTIONS, format!("{}{location}", s.base))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "PATCH")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization,content-type,tus-resumable,upload-offset,upload-checksum,\
                     upload-length,upload-metadata,upload-concat,upload-defer-length,\
                     x-http-method-override",
                ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.headers);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    let r = s
        .send(
            s.tus(Method::PATCH, &location, &ann.access)
                .header("Origin", origin)
                .header("Upload-Offset", "1000")
                .header("Content-Type", OFFSET_STREAM)
                .body(bytes[1000..].to_vec()),
        )
        .await;
    r.expect(204);
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "location",
        "upload-offset",
        "upload-length",
        "upload-expires",
        "tus-resumable",
        "tus-version",
        "tus-max-size",
        "tus-extension",
        "photo-id",
    ] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    // DELETE through the override, as well.
    let other = s.tus_new(&ann.access, 10, &[]).await;
    let r = s
        .send(
            s.tus(Method::POST, &other, &ann.access)
                .header("X-HTTP-Method-Override", "DELETE"),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(s.tus_head(&ann.access, &other).await.status, 404);
}

#[tokio::test]
async fn a_user_holds_a_limited_number_of_unfinished_uploads() {
    let s = TestServer::with_config(|c| c.uploads.max_pending_per_user = 2).await;
    let (_, ann, bob, _) = s.household().await;
    let first = s.tus_new(&ann.access, 10, &[]).await;
    s.tus_new(&ann.access, 10, &[]).await;
    let r = s.tus_create(&ann.access, 10, &[]).await;
    r.expect(409);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("max_pending_per_user"),
        "{}",
        r.text
    );
    // Others are not held back, and a terminated upload frees its place.
    s.tus_new(&bob.access, 10, &[]).await;
    s.send(s.tus(Method::DELETE, &first, &ann.access))
        .await
        .expect(204);
    s.tus_new(&ann.access, 10, &[]).await;
}

#[tokio::test]
async fn uploads_that_would_fill_the_disk_are_refused_with_507() {
    let dir = tempfile::tempdir().unwrap();
    let free_mb = photox::storage::files::free_bytes(dir.path()).unwrap() / (1024 * 1024);
    // Keep all but 200 MB free; uploads may be large (the limit is not what is tested here).
    let s = TestServer::with_config(|c| {
        c.storage.min_free_mb = free_mb.saturating_sub(200);
        c.storage.max_upload_mb = 100_000;
    })
    .await;
    let ann = s.register("ann").await;
    let r = s.tus_create(&ann.access, 1024 * 1024 * 1024, &[]).await;
    r.expect(507);
    assert_eq!(r.error_type(), "INSUFFICIENT_STORAGE");
    // Without a length it is created, and a PATCH that could fill the disk is refused.
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Defer-Length", "1"),
        )
        .await;
    r.expect(201);
    let location = r.header("location").unwrap().to_string();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![1u8; 1000])];
    let r = s
        .send(
            s.tus(Method::PATCH, &location, &ann.access)
                .header("Upload-Offset", "0")
                .header("Content-Type", OFFSET_STREAM)
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                ))),
        )
        .await;
    r.expect(507);
    assert_eq!(s.tus_offset(&ann.access, &location).await, 0);
    // A small upload still fits.
    s.tus_new(&ann.access, 1024 * 1024, &[]).await;
}

#[tokio::test]
async fn unfinished_uploads_expire_and_a_scheduled_job_removes_them() {
    let s = TestServer::with_config(|c| {
        c.uploads.expire_after = photox::config::HumanDuration(std::time::Duration::from_secs(1))
    })
    .await;
    let ann = s.register("ann").await;
    // The first bytes come with the creation (one request), so no check below depends on how
    // fast the test runs: the upload may expire at any moment after this answer.
    let r = s
        .send(
            s.tus(Method::POST, "/uploads", &ann.access)
                .header("Upload-Length", "5000")
                .header("Content-Type", OFFSET_STREAM)
                .body(vec![3u8; 1000]),
        )
        .await;
    r.expect(201);
    assert_eq!(r.header("upload-offset"), Some("1000"));
    assert!(r.header("upload-expires").is_some());
    let location = r.header("location").unwrap().to_string();
    let stray = s.data_dir().join("uploads").join("left-by-a-crash");
    std::fs::write(&stray, b"x").unwrap();
    // Expiry is to the second: after two seconds it has passed, however slow the machine.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(s.tus_head(&ann.access, &location).await.status, 404);
    s.tus_patch(&ann.access, &location, 1000, &[3u8; 10])
        .await
        .expect(404);
    let job = s
        .state
        .jobs()
        .enqueue(photox::uploads::ExpireUploads {})
        .await
        .unwrap();
    if let Some(job) = job {
        wait_done(&s, job).await;
    }
    wait_until(|| upload_files(&s.data_dir()).is_empty()).await;
    assert!(!stray.exists());
    // The schedule queues it on its own too.
    let fired = s
        .state
        .jobs()
        .fire_due_schedules(photox::db::now() + 3600)
        .await
        .unwrap();
    assert!(fired.queued >= 1);
    assert_eq!(photox::uploads::ExpireUploads::NAME, "expire_uploads");
}

async fn wait_done(s: &TestServer, job: photox::db::ids::JobId) {
    for _ in 0..400 {
        let row = s.state.jobs().find(job).await.unwrap();
        if row.as_ref().is_none_or(|r| r.state == "done") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the expiry job did not finish");
}

async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 10 s");
}
