//! tus 1.0.0 requests by hand, as a client library would send them.

use base64::Engine;

use super::{Resp, TestServer};

pub const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
pub const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// `Upload-Metadata` of these pairs (values base64-encoded).
pub fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `Upload-Checksum` of `bytes` with `algorithm` (sha1, sha256, md5).
pub fn checksum(algorithm: &str, bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = match algorithm {
        "sha1" => sha1::Sha1::digest(bytes).to_vec(),
        "sha256" => sha2::Sha256::digest(bytes).to_vec(),
        "md5" => md5::Md5::digest(bytes).to_vec(),
        other => panic!("no digest {other}"),
    };
    format!(
        "{algorithm} {}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl TestServer {
    /// A request to an upload URL (a `Location`) or to `/uploads`, with `Tus-Resumable`.
    pub fn tus(&self, method: reqwest::Method, url: &str, token: &str) -> reqwest::RequestBuilder {
        let url = if url.starts_with("/api/") {
            format!("{}{url}", self.base)
        } else {
            self.url(url)
        };
        self.client
            .request(method, url)
            .bearer_auth(token)
            .header(TUS.0, TUS.1)
    }

    /// `POST /uploads` with `Upload-Length` and metadata.
    pub async fn tus_create(&self, token: &str, length: u64, meta: &[(&str, &str)]) -> Resp {
        self.send(
            self.tus(reqwest::Method::POST, "/uploads", token)
                .header("Upload-Length", length.to_string())
                .header("Upload-Metadata", metadata(meta)),
        )
        .await
    }

    /// Creates an upload and returns its `Location`.
    pub async fn tus_new(&self, token: &str, length: u64, meta: &[(&str, &str)]) -> String {
        let r = self.tus_create(token, length, meta).await;
        r.expect(201);
        r.header("location").unwrap().to_string()
    }

    pub async fn tus_patch(&self, token: &str, location: &str, offset: u64, bytes: &[u8]) -> Resp {
        self.send(
            self.tus(reqwest::Method::PATCH, location, token)
                .header("Upload-Offset", offset.to_string())
                .header("Content-Type", OFFSET_STREAM)
                .body(bytes.to_vec()),
        )
        .await
    }

    pub async fn tus_head(&self, token: &str, location: &str) -> Resp {
        self.send(self.tus(reqwest::Method::HEAD, location, token))
            .await
    }

    /// The `Upload-Offset` a `HEAD` reports.
    pub async fn tus_offset(&self, token: &str, location: &str) -> u64 {
        let r = self.tus_head(token, location).await;
        assert_eq!(r.status, 200, "HEAD {location}: {:?}", r.headers);
        r.header("upload-offset").unwrap().parse().unwrap()
    }

    /// Uploads `bytes` in chunks of `chunk` bytes; returns the photo id and whether it was a
    /// duplicate.
    pub async fn tus_upload(
        &self,
        token: &str,
        bytes: &[u8],
        chunk: usize,
        meta: &[(&str, &str)],
    ) -> (i64, bool) {
        let location = self.tus_new(token, bytes.len() as u64, meta).await;
        let mut offset = 0;
        for piece in bytes.chunks(chunk) {
            let r = self.tus_patch(token, &location, offset, piece).await;
            r.expect(204);
            offset += piece.len() as u64;
            assert_eq!(r.header("upload-offset"), Some(offset.to_string().as_str()));
            if offset < bytes.len() as u64 {
                assert_eq!(r.header("photo-id"), None, "no photo before the last byte");
            } else {
                return photo_of(&r);
            }
        }
        panic!("an empty upload has no chunks");
    }

    /// The original's bytes of photo `id`.
    pub async fn original(&self, token: &str, id: i64) -> Vec<u8> {
        let r = self
            .client
            .get(self.url(&format!("/photos/{id}/file")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }
}

/// The `Photo-Id` (and `Photo-Duplicate`) of the answer that finished an upload.
#[track_caller]
pub fn photo_of(r: &Resp) -> (i64, bool) {
    let id = r
        .header("photo-id")
        .unwrap_or_else(|| panic!("no Photo-Id: {:?}", r.headers))
        .parse()
        .unwrap();
    (id, r.header("photo-duplicate") == Some("true"))
}

/// The offset recorded for the upload at `location`, read from the database beside the server
/// (a `HEAD` would take a running request over; this watches it without disturbing it).
pub fn recorded_offset(data_dir: &std::path::Path, location: &str) -> u64 {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("photox.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let id = location.rsplit('/').next().unwrap();
    conn.query_row(
        "SELECT durable_offset FROM uploads WHERE id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// Files under `<data_dir>/uploads`.
pub fn upload_files(data_dir: &std::path::Path) -> Vec<String> {
    super::files_under(&data_dir.join("uploads"))
}

/// A distinct JPEG of about `kb` KB (noise, so it does not compress), valid for every decoder.
pub fn noisy_jpeg(seed: u32, kb: usize) -> Vec<u8> {
    let side = ((kb * 1024) as f64 / 1.2).sqrt() as u32;
    let img = image::RgbImage::from_fn(side.max(16), side.max(16), |x, y| {
        let v = x
            .wrapping_mul(2654435761)
            .wrapping_add(y.wrapping_mul(40503))
            .wrapping_add(seed.wrapping_mul(97))
            .wrapping_mul(2246822519);
        image::Rgb([(v >> 3) as u8, (v >> 11) as u8, (v >> 19) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(&img)
        .unwrap();
    out
}
