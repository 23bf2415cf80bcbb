//! Hostile and unusual files through the real API: each gets a clean answer, nothing leaks,
//! and the daemon stays up. EXIF (orientation 6, GPS) reaches the Photo object.

mod common;

use common::{fixture, png, Part, TestServer};
use serde_json::{json, Value};

async fn try_upload(s: &TestServer, token: &str, name: &'static str) -> common::Resp {
    s.upload_parts(
        "/photos",
        token,
        vec![Part::File("file", name, fixture(name))],
    )
    .await
}

#[tokio::test]
async fn exif_orientation_and_gps_reach_the_photo() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let r = try_upload(&s, &ann.access, "exif_orientation6_gps.jpg").await;
    r.expect(201);
    let p = &r.data()["uploaded"][0];
    let exif = &p["exif"];
    assert_eq!(exif["camera_make"], "Canon");
    assert_eq!(exif["camera_model"], "Canon EOS R5");
    assert_eq!(exif["lens"], "RF24-105mm F4 L IS USM");
    assert_eq!(exif["iso"], 400);
    assert_eq!(exif["aperture"], 2.8);
    assert_eq!(exif["exposure_time"], "1/250");
    assert_eq!(exif["focal_length"], 50.0);
    assert_eq!(exif["orientation"], 6);
    // 16:30:05 at -03:00.
    assert_eq!(p["taken_at"], "2023-07-14T19:30:05Z");
    let loc = &p["location"];
    assert!(
        (loc["latitude"].as_f64().unwrap() - -(22.0 + 57.0 / 60.0 + 7.68 / 3600.0)).abs() < 1e-6,
        "{loc}"
    );
    assert!(
        (loc["longitude"].as_f64().unwrap() - -(43.0 + 12.0 / 60.0 + 39.6 / 3600.0)).abs() < 1e-6,
        "{loc}"
    );
    assert!((loc["altitude"].as_f64().unwrap() - 704.5).abs() < 1e-6);
    // Stored 600×400 and turned upright by orientation 6: width and height are the size as
    // displayed (portrait), like the rendered thumbnail.
    assert_eq!(
        (p["width"].as_i64(), p["height"].as_i64()),
        (Some(400), Some(600))
    );
    let id = p["id"].as_i64().unwrap();
    assert_eq!(s.wait_processed(&ann.access, id).await["status"], "ready");
    let thumb = s
        .get_raw(
            &format!("/api/v1/photos/{id}/file?size=thumbnail"),
            Some(&ann.access),
            &[],
        )
        .await;
    let img = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (213, 320));
    // The year filter uses taken_at.
    let r = s.get("/photos?year=2023", Some(&ann.access)).await;
    assert_eq!(r.data()["pagination"]["total_items"], 1);
    // Reading the EXIF again keeps the displayed size.
    s.post(
        &format!("/photos/{id}/reprocess"),
        Some(&ann.access),
        json!({"steps": ["exif"]}),
    )
    .await
    .expect(202);
    s.wait_processed(&ann.access, id).await;
    let r = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    let p = r.expect(200).data();
    assert_eq!(
        (p["width"].as_i64(), p["height"].as_i64()),
        (Some(400), Some(600))
    );
}

#[tokio::test]
async fn hostile_files_get_clean_answers_and_the_daemon_stays_up() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    for (name, status) in [
        ("not_an_image.jpg", 415),
        ("empty.jpg", 415),
        ("bomb_40000.png", 422),
    ] {
        let r = try_upload(&s, &ann.access, name).await;
        r.expect(status);
        assert!(
            !r.text.contains("/tmp") && !r.text.contains("panick"),
            "{name}: {}",
            r.text
        );
    }
    // Refused files leave nothing under originals/, not even a dated directory.
    let originals: Vec<_> = std::fs::read_dir(s.data_dir().join("originals"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(originals.is_empty(), "{originals:?}");
    // Files whose header is fine but whose data is not are stored (they are the user's bytes)
    // and fail processing with a reason; the 16-bit bomb passes the pixel check but not the
    // decoder's memory limit.
    for name in ["truncated.jpg", "truncated.png", "bomb_16bit_9000.png"] {
        let r = try_upload(&s, &ann.access, name).await;
        r.expect(201);
        let photo: Value = r.data()["uploaded"][0].clone();
        let done = s
            .wait_processed(&ann.access, photo["id"].as_i64().unwrap())
            .await;
        assert_eq!(done["status"], "failed", "{name}: {done}");
        let thumbs = done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["name"] == "thumbnails")
            .unwrap()
            .clone();
        assert_eq!(thumbs["status"], "failed");
        assert!(!thumbs["error"].as_str().unwrap().is_empty());
        let detail = s
            .get(&format!("/photos/{}", photo["id"]), Some(&ann.access))
            .await;
        assert_eq!(detail.data()["status"], "failed");
        assert!(detail.data()["status_reason"].is_string());
    }
    // Broken EXIF offsets: the image is fine, the EXIF partly readable.
    let r = try_upload(&s, &ann.access, "broken_exif_offsets.jpg").await;
    r.expect(201);
    let id = r.data()["uploaded"][0]["id"].as_i64().unwrap();
    assert_eq!(s.wait_processed(&ann.access, id).await["status"], "ready");
    // Still healthy and working.
    s.get("/health", None).await.expect(200);
    let ok = s.upload(&ann.access, "fine.png", png(30, 30)).await;
    assert_eq!(
        s.wait_processed(&ann.access, ok["id"].as_i64().unwrap())
            .await["status"],
        "ready"
    );
}

#[tokio::test]
async fn every_format_renders() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    for (name, mime) in [
        ("plain.png", "image/png"),
        ("alpha.png", "image/png"),
        ("photo.webp", "image/webp"),
        ("two_frames.gif", "image/gif"),
        ("progressive.jpg", "image/jpeg"),
        ("grayscale.jpg", "image/jpeg"),
        ("cmyk.jpg", "image/jpeg"),
    ] {
        let r = try_upload(&s, &ann.access, name).await;
        r.expect(201);
        let p = &r.data()["uploaded"][0];
        assert_eq!(p["mime_type"], mime, "{name}");
        let done = s
            .wait_processed(&ann.access, p["id"].as_i64().unwrap())
            .await;
        assert_eq!(done["status"], "ready", "{name}: {done}");
    }
}
