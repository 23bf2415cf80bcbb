//! The tus 1.0.0 protocol's headers: reading a request's, writing an answer's, and the status
//! of each refusal (in the API.md §1.1 envelope where the answer has a body).

use poem::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use poem::{IntoResponse, Request, Response};

use super::error::ApiError;
use crate::uploads::{checksum, ChunkChecksum, Kind, Upload, UploadError};

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,\
     expiration,checksum,concatenation";
pub const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// Where uploads live; `Location` and `Upload-Concat` name them by this path.
pub const UPLOADS_PATH: &str = "/api/v1/uploads";
/// The request and answer headers a browser needs to be allowed (CORS).
pub const REQUEST_HEADERS: &[&str] = &[
    "tus-resumable",
    "upload-length",
    "upload-defer-length",
    "upload-offset",
    "upload-metadata",
    "upload-checksum",
    "upload-concat",
    "x-http-method-override",
    "x-requested-with",
];
pub const ANSWER_HEADERS: &[&str] = &[
    "location",
    "upload-offset",
    "upload-length",
    "upload-defer-length",
    "upload-metadata",
    "upload-expires",
    "upload-concat",
    "tus-resumable",
    "tus-version",
    "tus-extension",
    "tus-max-size",
    "tus-checksum-algorithm",
    "photo-id",
    "photo-duplicate",
];

/// The method the request stands for: `X-HTTP-Method-Override` wins over the real one.
pub fn method_of(req: &Request) -> Method {
    req.header("x-http-method-override")
        .and_then(|m| Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).ok())
        .unwrap_or_else(|| req.method().clone())
}

/// Every request but `OPTIONS` must speak tus 1.0.0.
pub fn check_version(req: &Request) -> Result<(), ApiError> {
    match req.header("tus-resumable") {
        Some(v) if v.trim() == VERSION => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "PRECONDITION_FAILED",
            format!("this server speaks tus {VERSION}: send Tus-Resumable: {VERSION}"),
        )
        .with_header(header::HeaderName::from_static("tus-version"), VERSION)),
    }
}

fn bad_header(name: &'static str, message: &str) -> ApiError {
    ApiError::validation(StatusCode::BAD_REQUEST, name, message, "INVALID_FORMAT")
}

/// A header holding a non-negative integer, if present.
pub fn number(req: &Request, name: &'static str) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.header(name) else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_header(name, "must be a non-negative integer"));
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| bad_header(name, "is too large"))
}

/// `Upload-Defer-Length: 1`, the only value it may have.
pub fn defers_length(req: &Request) -> Result<bool, ApiError> {
    match req.header("upload-defer-length").map(str::trim) {
        None => Ok(false),
        Some("1") => Ok(true),
        Some(_) => Err(bad_header("Upload-Defer-Length", "must be 1")),
    }
}

pub fn checksum(req: &Request) -> Result<Option<ChunkChecksum>, ApiError> {
    req.header("upload-checksum")
        .map(ChunkChecksum::parse)
        .transpose()
        .map_err(refusal)
}

/// Whether the request carries a body (by its `Content-Length` or chunked encoding).
pub fn has_body(req: &Request) -> Result<bool, ApiError> {
    if let Some(length) = number(req, "content-length")? {
        return Ok(length > 0);
    }
    Ok(req.headers().contains_key(header::TRANSFER_ENCODING))
}

/// Whether the body is `application/offset+octet-stream`.
pub fn is_offset_stream(req: &Request) -> bool {
    req.header("content-type")
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_STREAM))
}

pub fn wrong_content_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        format!("the bytes of an upload are sent as Content-Type: {OFFSET_STREAM}"),
    )
}

/// `Upload-Concat`: a partial upload, or a final one naming its parts (by URL or path).
pub enum Concat {
    Partial,
    Final(Vec<String>),
}

pub fn concat(req: &Request) -> Result<Option<Concat>, ApiError> {
    let Some(value) = req.header("upload-concat") else {
        return Ok(None);
    };
    let value = value.trim();
    if value == "partial" {
        return Ok(Some(Concat::Partial));
    }
    let Some(urls) = value.strip_prefix("final;") else {
        return Err(bad_header(
            "Upload-Concat",
            "must be `partial` or `final;` and the parts' URLs",
        ));
    };
    let ids = urls
        .split(' ')
        .filter(|u| !u.is_empty())
        .map(|url| upload_id_in(url).ok_or_else(not_found_part))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Concat::Final(ids)))
}

fn not_found_part() -> ApiError {
    refusal(UploadError::PartNotFound)
}

/// The upload id in a URL (`http://host/api/v1/uploads/<id>`) or path.
fn upload_id_in(url: &str) -> Option<String> {
    let path = match url.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => url,
    };
    let id = path.strip_prefix(UPLOADS_PATH)?.strip_prefix('/')?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

/// The answer's status and headers; the tus version is on every answer.
pub fn answer(status: StatusCode) -> Response {
    let mut resp = Response::builder().status(status).finish();
    set(resp.headers_mut(), "tus-resumable", VERSION);
    resp
}

/// `Upload-Expires` in the format of HTTP dates.
fn http_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn set(headers: &mut HeaderMap, name: &'static str, value: impl AsRef<str>) {
    if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
        headers.insert(header::HeaderName::from_static(name), value);
    }
}

/// The headers that describe `upload`; `Upload-Metadata` only where asked (`HEAD`).
pub fn describe(resp: &mut Response, upload: &Upload, with_metadata: bool) {
    let headers = resp.headers_mut();
    set(headers, "upload-offset", upload.offset.to_string());
    match upload.length {
        Some(length) => set(headers, "upload-length", length.to_string()),
        None => set(headers, "upload-defer-length", "1"),
    }
    if with_metadata && !upload.metadata.is_empty() {
        set(headers, "upload-metadata", &upload.metadata);
    }
    match (upload.kind, &upload.concat) {
        (Kind::Partial, _) => set(headers, "upload-concat", "partial"),
        (Kind::Final, Some(concat)) => set(headers, "upload-concat", concat),
        _ => {}
    }
    set(headers, "upload-expires", http_date(upload.expires_at));
    if let Some(photo) = upload.photo {
        set(headers, "photo-id", photo.photo_id.to_string());
        if photo.duplicate {
            set(headers, "photo-duplicate", "true");
        }
    }
}

/// A refusal as an `ApiError`: its status, type and message.
pub fn refusal(error: UploadError) -> ApiError {
    use StatusCode as S;
    let message = error.to_string();
    match error {
        UploadError::NotFound | UploadError::PartNotFound => ApiError::not_found(message),
        UploadError::TooLarge { .. } | UploadError::PastLength => {
            ApiError::new(S::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", message)
        }
        UploadError::OffsetMismatch { offset, .. } | UploadError::TakenOver { offset } => {
            ApiError::new(S::CONFLICT, "RESOURCE_CONFLICT", message).with_header(
                header::HeaderName::from_static("upload-offset"),
                offset.to_string(),
            )
        }
        UploadError::TooManyPending { .. } | UploadError::Busy => {
            ApiError::new(S::CONFLICT, "RESOURCE_CONFLICT", message)
        }
        UploadError::ChecksumMismatch => ApiError::new(
            S::from_u16(460).unwrap_or(S::BAD_REQUEST),
            "CHECKSUM_MISMATCH",
            message,
        ),
        UploadError::BadHeader { header, message } => {
            ApiError::validation(S::BAD_REQUEST, header, &message, "INVALID_VALUE")
        }
        UploadError::InvalidMetadata {
            field,
            message,
            code,
        } => {
            let mut api = ApiError::validation(S::BAD_REQUEST, &field, &message, code);
            api.message = format!("Upload-Metadata {field}: {message}");
            api
        }
        UploadError::PartUnfinished(_) => ApiError::bad_request(message),
        UploadError::InsufficientStorage => {
            ApiError::new(S::INSUFFICIENT_STORAGE, "INSUFFICIENT_STORAGE", message)
        }
        UploadError::FinalUpload => ApiError::new(S::FORBIDDEN, "PERMISSION_DENIED", message),
        UploadError::App(e) => ApiError::from(e),
    }
}

/// The discovery answer of `OPTIONS`.
pub fn discovery(max_bytes: u64) -> Response {
    let mut resp = answer(StatusCode::NO_CONTENT);
    let headers = resp.headers_mut();
    set(headers, "tus-version", VERSION);
    set(headers, "tus-extension", EXTENSIONS);
    set(headers, "tus-max-size", max_bytes.to_string());
    set(headers, "tus-checksum-algorithm", checksum::ALGORITHMS);
    resp
}

/// A refusal that concerns a live upload tells when it expires, as every answer about it does.
pub fn with_expiry(error: ApiError, expires_at: Option<i64>) -> ApiError {
    match expires_at {
        Some(at) => error.with_header(
            header::HeaderName::from_static("upload-expires"),
            http_date(at),
        ),
        None => error,
    }
}

/// An error answer with the tus headers (and, where known, the upload's expiry).
pub fn error_answer(error: ApiError) -> Response {
    let mut resp = error.into_response();
    set(resp.headers_mut(), "tus-resumable", VERSION);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_named_by_url_or_path() {
        let id = "0123456789abcdef0123456789abcdef";
        for url in [
            format!("http://nas.local:3333/api/v1/uploads/{id}"),
            format!("https://example.org/api/v1/uploads/{id}"),
            format!("/api/v1/uploads/{id}"),
        ] {
            assert_eq!(upload_id_in(&url).as_deref(), Some(id), "{url}");
        }
        for url in [
            "http://x/api/v1/photos/1",
            "/api/v1/uploads/",
            "/api/v1/uploads/a/b",
            "x",
        ] {
            assert_eq!(upload_id_in(url), None, "{url}");
        }
    }

    #[test]
    fn expiry_is_an_http_date() {
        assert_eq!(http_date(1_768_981_361), "Wed, 21 Jan 2026 07:42:41 GMT");
    }

    #[test]
    fn checksum_mismatch_is_460_and_offset_conflicts_tell_the_offset() {
        let api = refusal(UploadError::ChecksumMismatch);
        assert_eq!(api.status.as_u16(), 460);
        let api = refusal(UploadError::OffsetMismatch { sent: 1, offset: 5 });
        assert_eq!(api.status, StatusCode::CONFLICT);
        assert!(api
            .headers
            .iter()
            .any(|(n, v)| n == "upload-offset" && v == "5"));
    }
}
