//! Serving originals, previews and thumbnails: headers, 304, Range, downloads, signed URLs.

mod common;

use common::{jpeg, png, TestServer};
use serde_json::json;

#[tokio::test]
async fn originals_are_served_with_caching_headers_304_and_ranges() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = jpeg(300, 200);
    let p = s.upload(&ann.access, "holiday.jpg", bytes.clone()).await;
    let id = p["id"].as_i64().unwrap();
    let path = format!("/api/v1/photos/{id}/file");
    let r = s.get_raw(&path, Some(&ann.access), &[]).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["cache-control"].to_str().unwrap().starts_with("private"));
    assert!(h.contains_key("last-modified"));
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let again = s
        .get_raw(&path, Some(&ann.access), &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status(), 304);

    let part = s
        .get_raw(&path, Some(&ann.access), &[("range", "bytes=10-19")])
        .await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", bytes.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[10..20]);
    let bad = s
        .get_raw(&path, Some(&ann.access), &[("range", "bytes=999999-")])
        .await;
    assert_eq!(bad.status(), 416);

    let dl = s
        .get_raw(&format!("{path}?download=1"), Some(&ann.access), &[])
        .await;
    let disposition = dl.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("holiday.jpg"),
        "{disposition}"
    );
}

#[tokio::test]
async fn previews_and_thumbnails_have_their_sizes() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "wide.png", png(2000, 1000)).await["id"]
        .as_i64()
        .unwrap();
    // Before processing ends a rendition may not exist yet; afterwards it must.
    assert_eq!(s.wait_processed(&ann.access, id).await["status"], "ready");
    for (q, side) in [
        ("?size=thumbnail", 320),
        ("?thumbnail=1", 320),
        ("?size=preview", 1600),
    ] {
        let r = s
            .get_raw(
                &format!("/api/v1/photos/{id}/file{q}"),
                Some(&ann.access),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200, "{q}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(img.width().max(img.height()), side, "{q}");
    }
    // A small image is never upscaled.
    let small = s.upload(&ann.access, "small.png", png(200, 100)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&ann.access, small).await;
    let r = s
        .get_raw(
            &format!("/api/v1/photos/{small}/file?size=preview"),
            Some(&ann.access),
            &[],
        )
        .await;
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (200, 100));
    s.get(&format!("/photos/{id}/file?size=huge"), Some(&ann.access))
        .await
        .expect(400);
}

#[tokio::test]
async fn photo_urls_work_without_a_token_and_only_for_their_photo() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let a = s.upload(&ann.access, "a.png", png(40, 30)).await;
    let b = s.upload(&ann.access, "b.png", png(41, 30)).await;
    s.wait_processed(&ann.access, a["id"].as_i64().unwrap())
        .await;
    for size in ["original", "preview", "thumbnail"] {
        let url = a["urls"][size].as_str().unwrap();
        assert!(url.contains("sig="), "{url}");
        assert_eq!(
            s.get_raw(url, None, &[]).await.status(),
            200,
            "{size}: {url}"
        );
    }
    // The signature of photo a does not open photo b, nor another size.
    let a_url = a["urls"]["original"].as_str().unwrap();
    let b_id = b["id"].as_i64().unwrap();
    let forged = a_url.replace(
        &format!("/photos/{}/", a["id"]),
        &format!("/photos/{b_id}/"),
    );
    assert_eq!(s.get_raw(&forged, None, &[]).await.status(), 404);
    let other_size = a["urls"]["thumbnail"]
        .as_str()
        .unwrap()
        .replace("size=thumbnail", "size=original");
    assert_eq!(s.get_raw(&other_size, None, &[]).await.status(), 404);
    let tampered = format!("{}x", &a_url[..a_url.len() - 1]);
    assert_eq!(s.get_raw(&tampered, None, &[]).await.status(), 404);
    let expired = a_url.replace("exp=", "exp=1");
    assert_eq!(s.get_raw(&expired, None, &[]).await.status(), 404);

    // Public photos have plain URLs that work for anyone.
    let r = s
        .put(
            &format!("/photos/{b_id}"),
            Some(&ann.access),
            json!({"visibility": "public"}),
        )
        .await;
    let url = r.data()["urls"]["original"].as_str().unwrap().to_string();
    assert!(!url.contains("sig="));
    let anon = s.get_raw(&url, None, &[]).await;
    assert_eq!(anon.status(), 200);
    assert!(anon.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public"));
}
