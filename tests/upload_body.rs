//! The multipart/form-data body of `POST /photos` as clients write it: quoted boundaries,
//! preambles, RFC 5987 file names, folded headers, parts the server does not know, and bodies
//! that are cut short or malformed.

mod common;

use common::{files_under, png, TestServer};

/// Posts `body` with `content_type` to `/photos` as it is.
async fn post_raw(s: &TestServer, token: &str, content_type: &str, body: Vec<u8>) -> common::Resp {
    s.send(
        s.client
            .post(s.url("/photos"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

fn nothing_left(s: &TestServer) {
    let tmp = common::tmp_leftovers(&s.data_dir());
    assert!(tmp.is_empty(), "tmp/ holds {tmp:?}");
    assert!(files_under(&s.data_dir().join("originals")).is_empty());
}

#[tokio::test]
async fn a_hand_written_body_is_read_like_a_browser_form() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let image = png(20, 10);
    let mut body = b"This preamble is ignored.\r\n--a b:c\r\n".to_vec();
    body.extend_from_slice(
        b"Content-Disposition: form-data; name=\"title\"\r\n\r\n  Harbour at night \r\n--a b:c\r\n",
    );
    // A field the server does not know, larger than any text field it keeps: skipped unread.
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"client_notes\"\r\n\r\n");
    body.extend(std::iter::repeat_n(b'n', 200_000));
    body.extend_from_slice(b"\r\n--a b:c   \r\n");
    body.extend_from_slice(
        b"content-disposition: form-data; name=\"file\";\r\n\tfilename=\"EUR.png\"; filename*=UTF-8''%e2%82%ac%20rates.png\r\nContent-Type: image/png\r\n\r\n",
    );
    body.extend_from_slice(&image);
    body.extend_from_slice(b"\r\n--a b:c--\r\nAn epilogue, also ignored.\r\n");
    let r = post_raw(
        &s,
        &ann.access,
        "multipart/form-data; charset=utf-8; boundary=\"a b:c\"",
        body,
    )
    .await;
    r.expect(201);
    let photo = &r.data()["uploaded"][0];
    assert_eq!(photo["title"], "Harbour at night");
    assert_eq!(photo["original_filename"], "\u{20ac} rates.png");
    assert_eq!(photo["size"], image.len());
    assert_eq!(photo["checksum"], common::sha256_hex(&image));
    assert_eq!(r.data()["summary"]["total"], 1);
}

#[tokio::test]
async fn a_too_long_text_field_is_a_validation_error() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n".to_vec();
    body.extend(std::iter::repeat_n(b'd', 64 * 1024 + 1));
    body.extend_from_slice(
        b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n",
    );
    body.extend_from_slice(&png(8, 8));
    body.extend_from_slice(b"\r\n--B--\r\n");
    let r = post_raw(&s, &ann.access, "multipart/form-data; boundary=B", body).await;
    r.expect(422);
    assert_eq!(r.body["error"]["details"][0]["field"], "description");
    assert_eq!(r.body["error"]["details"][0]["code"], "TOO_LONG");
    nothing_left(&s);
}

#[tokio::test]
async fn bodies_that_are_not_multipart_or_are_cut_short_get_400_and_leave_nothing() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let file_part = |bytes: &[u8]| -> Vec<u8> {
        let mut b =
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
                .to_vec();
        b.extend_from_slice(bytes);
        b
    };
    let image = png(64, 64);
    for (content_type, body) in [
        ("application/json", b"{}".to_vec()),
        ("multipart/form-data", file_part(&image)),
        ("multipart/mixed; boundary=B", file_part(&image)),
        // No closing delimiter: the file's end is unknown, so nothing is stored.
        ("multipart/form-data; boundary=B", file_part(&image)),
        // The boundary is not where the body says it is.
        ("multipart/form-data; boundary=C", file_part(&image)),
        // Text after a delimiter.
        (
            "multipart/form-data; boundary=B",
            [file_part(&image), b"\r\n--Bx\r\n".to_vec()].concat(),
        ),
    ] {
        let r = post_raw(&s, &ann.access, content_type, body).await;
        assert_eq!(r.status, 400, "{content_type}: {}", r.text);
        assert_eq!(r.error_type(), "VALIDATION_ERROR");
    }
    nothing_left(&s);
    let listed = s.get("/photos", Some(&ann.access)).await;
    assert_eq!(listed.data()["pagination"]["total_items"], 0);
}

#[tokio::test]
async fn a_problem_after_stored_files_is_listed_with_them_not_hidden() {
    let s = TestServer::start().await;
    let ann = s.register("ann").await;
    let file = |name: &str, bytes: &[u8]| -> Vec<u8> {
        let mut b = format!(
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
        )
        .into_bytes();
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
        b
    };
    // A stored file, then a field the server refuses: 201 with both.
    let body = [
        file("first.png", &png(20, 20)),
        b"--B\r\nContent-Disposition: form-data; name=\"visibility\"\r\n\r\nbogus\r\n".to_vec(),
        file("never.png", &png(21, 20)),
        b"--B--\r\n".to_vec(),
    ]
    .concat();
    let r = post_raw(&s, &ann.access, "multipart/form-data; boundary=B", body).await;
    r.expect(201);
    assert_eq!(r.data()["uploaded"][0]["original_filename"], "first.png");
    assert_eq!(r.data()["failed"][0]["filename"], "visibility");
    assert_eq!(r.data()["failed"][0]["error"]["type"], "VALIDATION_ERROR");
    assert_eq!(r.data()["summary"]["success"], 1);
    // A stored file, then the body breaks off (a client that went away): the same.
    let body = [
        file("second.png", &png(22, 20)),
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.png\"\r\n\r\n"
            .to_vec(),
        png(23, 20)[..40].to_vec(),
    ]
    .concat();
    let r = post_raw(&s, &ann.access, "multipart/form-data; boundary=B", body).await;
    r.expect(201);
    assert_eq!(r.data()["uploaded"][0]["original_filename"], "second.png");
    assert_eq!(r.data()["failed"][0]["error"]["type"], "VALIDATION_ERROR");
    let listed = s.get("/photos", Some(&ann.access)).await;
    assert_eq!(listed.data()["pagination"]["total_items"], 2);
    assert!(common::tmp_leftovers(&s.data_dir()).is_empty());
}

#[test]
fn a_client_that_vanishes_mid_upload_is_a_client_error_not_an_error_in_the_log() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let daemon = common::daemon::Daemon::start(&dir.path().join("data"));
    let client = reqwest::blocking::Client::new();
    let registered: serde_json::Value = client
        .post(daemon.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"username": "ann", "password": common::PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = registered["data"]["access_token"].as_str().unwrap();
    let image = png(300, 200);
    let head = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
    );
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&image[..image.len() / 2]).unwrap();
    drop(conn);
    let lines = daemon.log_until("POST /api/v1/photos 400");
    let errors: Vec<_> = lines.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "{errors:?}");
}
