//! Serving originals, previews and thumbnails: headers, 304, Range, downloads, signed URLs.

mod common;

use common::daemon::Daemon;
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

#[tokio::test]
async fn failed_preconditions_are_412_not_a_missing_file() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "a.jpg", jpeg(60, 40)).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/photos/{id}/file");
    let first = s.get_raw(&path, Some(&ann.access), &[]).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let old = "Sat, 01 Jan 2000 00:00:00 GMT";
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    for (headers, status) in [
        (vec![("if-match", "\"nope\"")], 412),
        (vec![("if-match", etag.as_str())], 200),
        (vec![("if-match", "*")], 200),
        (vec![("if-unmodified-since", old)], 412),
        (vec![("if-unmodified-since", later)], 200),
        // If-Unmodified-Since counts only without If-Match (RFC 9110 §13.2.2).
        (
            vec![("if-match", etag.as_str()), ("if-unmodified-since", old)],
            200,
        ),
        // Preconditions come before the Range.
        (vec![("if-match", "\"nope\""), ("range", "bytes=-0")], 412),
        (
            vec![("if-none-match", etag.as_str()), ("range", "bytes=-0")],
            304,
        ),
    ] {
        let r = s.get_raw(&path, Some(&ann.access), &headers).await;
        assert_eq!(r.status(), status, "{headers:?}");
        if status == 412 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], 412);
            assert_eq!(body["error"]["type"], "PRECONDITION_FAILED", "{body}");
        }
    }
    // Nothing was reported missing: the file is served as before.
    assert_eq!(s.get_raw(&path, Some(&ann.access), &[]).await.status(), 200);
}

/// Range, If-Range, status, Content-Range, body (`None`: the 416 envelope).
type RangeCase<'a> = (
    String,
    Option<&'a str>,
    u16,
    Option<String>,
    Option<&'a [u8]>,
);

#[tokio::test]
async fn ranges_follow_rfc_9110() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let bytes = jpeg(60, 40);
    let n = bytes.len();
    let id = s.upload(&ann.access, "a.jpg", bytes.clone()).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/photos/{id}/file");
    let etag = s.get_raw(&path, Some(&ann.access), &[]).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let whole = format!("bytes 0-{}/{n}", n - 1);
    let cases: Vec<RangeCase> = vec![
        (
            "bytes=0-0".into(),
            None,
            206,
            Some(format!("bytes 0-0/{n}")),
            Some(&bytes[..1]),
        ),
        (
            "bytes=-10".into(),
            None,
            206,
            Some(format!("bytes {}-{}/{n}", n - 10, n - 1)),
            Some(&bytes[n - 10..]),
        ),
        (
            format!("bytes={}-", n - 1),
            None,
            206,
            Some(format!("bytes {0}-{0}/{n}", n - 1)),
            Some(&bytes[n - 1..]),
        ),
        // A last byte past the end is the end; a suffix longer than the file is all of it; a
        // range over the whole file is still a 206.
        (
            "bytes=5-999999".into(),
            None,
            206,
            Some(format!("bytes 5-{}/{n}", n - 1)),
            Some(&bytes[5..]),
        ),
        (
            "bytes=-999999".into(),
            None,
            206,
            Some(whole.clone()),
            Some(&bytes[..]),
        ),
        (
            format!("bytes=0-{}", n - 1),
            None,
            206,
            Some(whole.clone()),
            Some(&bytes[..]),
        ),
        // Unsatisfiable: 416 with bytes */N.
        (
            "bytes=-0".into(),
            None,
            416,
            Some(format!("bytes */{n}")),
            None,
        ),
        (
            format!("bytes={n}-"),
            None,
            416,
            Some(format!("bytes */{n}")),
            None,
        ),
        (
            format!("bytes={n}-{}", n + 10),
            None,
            416,
            Some(format!("bytes */{n}")),
            None,
        ),
        (
            "bytes=5-2".into(),
            None,
            416,
            Some(format!("bytes */{n}")),
            None,
        ),
        (
            "bytes=999999-,-0".into(),
            None,
            416,
            Some(format!("bytes */{n}")),
            None,
        ),
        // Several ranges: the whole file. Not a byte range: ignored.
        ("bytes=0-1,5-6".into(), None, 200, None, Some(&bytes[..])),
        ("bytes=abc".into(), None, 200, None, Some(&bytes[..])),
        ("items=0-1".into(), None, 200, None, Some(&bytes[..])),
        // If-Range: the part while the file is unchanged, else the whole file.
        (
            "bytes=0-0".into(),
            Some(etag.as_str()),
            206,
            Some(format!("bytes 0-0/{n}")),
            Some(&bytes[..1]),
        ),
        (
            "bytes=0-0".into(),
            Some("\"other\""),
            200,
            None,
            Some(&bytes[..]),
        ),
        (
            "bytes=0-0".into(),
            Some("Sat, 01 Jan 2000 00:00:00 GMT"),
            200,
            None,
            Some(&bytes[..]),
        ),
        (
            "bytes=-0".into(),
            Some("\"other\""),
            200,
            None,
            Some(&bytes[..]),
        ),
    ];
    for (range, if_range, status, content_range, body) in cases {
        let mut headers = vec![("range", range.as_str())];
        if let Some(v) = if_range {
            headers.push(("if-range", v));
        }
        let r = s.get_raw(&path, Some(&ann.access), &headers).await;
        let what = format!("{range} {if_range:?}");
        assert_eq!(r.status(), status, "{what}");
        assert_eq!(
            r.headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_string()),
            content_range,
            "{what}"
        );
        let got = r.bytes().await.unwrap();
        match body {
            Some(body) => assert_eq!(got.as_ref(), body, "{what}"),
            None => {
                let envelope: serde_json::Value = serde_json::from_slice(&got).unwrap();
                assert_eq!(envelope["code"], 416, "{what}");
            }
        }
    }
}

/// With the real binary: a failed precondition is no reason for the error log (it used to log
/// that an original was missing and the admin should run `photox verify`: a false data-loss
/// alarm anyone could raise).
#[test]
fn a_failed_precondition_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&dir.path().join("data"));
    let client = reqwest::blocking::Client::new();
    let registered: serde_json::Value = client
        .post(daemon.url("/api/v1/auth/register"))
        .json(&json!({"username": "ann", "password": common::PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = registered["data"]["access_token"].as_str().unwrap();
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(png(30, 20)).file_name("a.png"),
    );
    let uploaded: serde_json::Value = client
        .post(daemon.url("/api/v1/photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = uploaded["data"]["uploaded"][0]["id"].as_i64().unwrap();
    for (name, value) in [
        ("if-match", "\"nope\""),
        ("if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
    ] {
        let r = client
            .get(daemon.url(&format!("/api/v1/photos/{id}/file")))
            .bearer_auth(token)
            .header(name, value)
            .send()
            .unwrap();
        assert_eq!(r.status(), 412, "{name}");
    }
    // Whatever the 412s logged comes before the line of a later request.
    client.get(daemon.url("/health")).send().unwrap();
    let lines = daemon.log_until("GET /health 200");
    let errors: Vec<_> = lines.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
