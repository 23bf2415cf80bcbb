//! A file on disk as a response: poem's `StaticFileRequest` (ETag, Last-Modified, 304) with its
//! conditional and range handling brought to RFC 9110. A failed `If-Match` or
//! `If-Unmodified-Since` is 412; `Range` is read here (§14.1.2): an open or too-long range is
//! clamped to the file, a suffix longer than the file is the whole file, a range that starts
//! at or beyond the end (or ends before it starts, or `bytes=-0`) is 416 with
//! `Content-Range: bytes */N`, several ranges are answered with the whole file (200, which
//! §14.2 allows), and a Range the server does not understand is ignored. `If-Range` (§13.1.5)
//! is honoured: a changed file is sent whole.

use std::path::Path;

use poem::error::StaticFileError;
use poem::http::{header, HeaderMap, HeaderValue, StatusCode};
use poem::web::headers::{ETag, HeaderMapExt, IfRange, LastModified};
use poem::web::{StaticFileRequest, StaticFileResponse};
use poem::{FromRequest, Request};

use super::error::ApiError;
use crate::catalog::PhotoError;
use crate::error::AppError;

/// Conditional headers handed on to poem. If-Unmodified-Since counts only without If-Match
/// (RFC 9110 §13.2.2); poem would evaluate both.
const CONDITIONALS: &[header::HeaderName] = &[
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
];

/// One `byte-range-spec` or `suffix-byte-range-spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-`.
    From(u64, Option<u64>),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

/// What to send for a Range header and a file of some length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Whole,
    /// Inclusive first and last byte.
    Part(u64, u64),
    Unsatisfiable,
}

/// The specs of a `bytes=` Range value; `None` when it is not one (then it is ignored).
fn parse_range(value: &str) -> Option<Vec<Spec>> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut specs = Vec::new();
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (first, last) = spec.split_once('-')?;
        specs.push(match (first.trim(), last.trim()) {
            ("", last) => Spec::Suffix(number(last)?),
            (first, "") => Spec::From(number(first)?, None),
            (first, last) => Spec::From(number(first)?, Some(number(last)?)),
        });
    }
    (!specs.is_empty()).then_some(specs)
}

/// Where `spec` falls in a file of `len` bytes, if anywhere.
fn satisfiable(spec: Spec, len: u64) -> Option<(u64, u64)> {
    match spec {
        Spec::From(first, _) if first >= len => None,
        Spec::From(first, Some(last)) if last < first => None,
        Spec::From(first, last) => Some((first, last.unwrap_or(u64::MAX).min(len - 1))),
        Spec::Suffix(0) => None,
        Spec::Suffix(_) if len == 0 => None,
        Spec::Suffix(n) => Some((len.saturating_sub(n), len - 1)),
    }
}

fn plan(specs: &[Spec], len: u64) -> Plan {
    let parts: Vec<(u64, u64)> = specs.iter().filter_map(|s| satisfiable(*s, len)).collect();
    match (specs.len(), parts.as_slice()) {
        (_, []) => Plan::Unsatisfiable,
        (1, [(first, last)]) => Plan::Part(*first, *last),
        _ => Plan::Whole,
    }
}

/// The response for the file at `path` under the conditional and Range headers of `req`.
pub async fn respond(req: &Request, path: &Path) -> Result<StaticFileResponse, ApiError> {
    let specs = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    let len = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let plan = match (&specs, len) {
        (Some(specs), Some(len)) => plan(specs, len),
        _ => Plan::Whole,
    };
    let part = match plan {
        Plan::Part(first, last) => Some((first, last)),
        _ => None,
    };
    let file = open(req, path, part, true).await?;
    let StaticFileResponse::Ok {
        content_length,
        ref etag,
        ref last_modified,
        ..
    } = file
    else {
        return Ok(file); // 304
    };
    if plan == Plan::Whole {
        return Ok(file);
    }
    if changed_since_if_range(req, etag.as_deref(), last_modified.as_deref()) {
        return open(req, path, None, false).await;
    }
    if plan == Plan::Unsatisfiable {
        return Err(unsatisfiable(content_length));
    }
    Ok(partial(file))
}

/// poem answers a range over the whole file with 200; the client asked for a part, so 206.
fn partial(file: StaticFileResponse) -> StaticFileResponse {
    match file {
        StaticFileResponse::Ok {
            body,
            content_length,
            content_type,
            etag,
            last_modified,
            content_range,
            cache_control,
        } => StaticFileResponse::Ok {
            body,
            content_length,
            content_type,
            etag,
            last_modified,
            content_range: content_range.or(Some((0..content_length, content_length))),
            cache_control,
        },
        other => other,
    }
}

/// Whether an `If-Range` validator no longer matches, so the Range must be ignored.
fn changed_since_if_range(req: &Request, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    let Some(if_range) = req.headers().typed_get::<IfRange>() else {
        return req.headers().contains_key(header::IF_RANGE);
    };
    let etag = etag.and_then(|e| e.parse::<ETag>().ok());
    let last_modified = last_modified.and_then(|date| {
        let mut headers = HeaderMap::new();
        headers.insert(header::LAST_MODIFIED, HeaderValue::from_str(date).ok()?);
        headers.typed_get::<LastModified>()
    });
    if_range.is_modified(etag.as_ref(), last_modified.as_ref())
}

/// poem's response for `path` with the conditional headers of `req` (when `conditional`) and
/// the byte range `part`.
async fn open(
    req: &Request,
    path: &Path,
    part: Option<(u64, u64)>,
    conditional: bool,
) -> Result<StaticFileResponse, ApiError> {
    let mut builder = Request::builder();
    if conditional {
        let if_match = req.headers().contains_key(header::IF_MATCH);
        for name in CONDITIONALS {
            if *name == header::IF_UNMODIFIED_SINCE && if_match {
                continue;
            }
            for value in req.headers().get_all(name) {
                builder = builder.header(name.clone(), value.clone());
            }
        }
    }
    if let Some((first, last)) = part {
        builder = builder.header(header::RANGE, format!("bytes={first}-{last}"));
    }
    let file_req = builder.finish();
    let request = StaticFileRequest::from_request_without_body(&file_req)
        .await
        .map_err(|_| ApiError::bad_request("invalid conditional or range headers"))?;
    request
        .create_response(path, false, false)
        .map_err(|e| match e {
            StaticFileError::PreconditionFailed => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION_FAILED",
                "a precondition (If-Match or If-Unmodified-Since) does not hold",
            ),
            StaticFileError::RangeNotSatisfiable { size } => unsatisfiable(size),
            StaticFileError::Io(e) => ApiError::from(AppError::Io(e)),
            _ => ApiError::from(AppError::from(PhotoError::FileMissing)),
        })
}

/// 416 with the `Content-Range: bytes */N` that RFC 9110 §15.5.17 asks for.
fn unsatisfiable(size: u64) -> ApiError {
    ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "VALIDATION_ERROR",
        "the requested range is not satisfiable",
    )
    .with_header(header::CONTENT_RANGE, format!("bytes */{size}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(range: &str, len: u64) -> Option<Plan> {
        parse_range(range).map(|specs| plan(&specs, len))
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        use Plan::*;
        let cases: &[(&str, u64, Option<Plan>)] = &[
            ("bytes=0-9", 100, Some(Part(0, 9))),
            ("bytes=10-", 100, Some(Part(10, 99))),
            ("bytes=90-1000", 100, Some(Part(90, 99))),
            ("bytes=-10", 100, Some(Part(90, 99))),
            ("bytes=-1000", 100, Some(Part(0, 99))),
            ("bytes=0-0", 1, Some(Part(0, 0))),
            ("bytes=0-", 1, Some(Part(0, 0))),
            (" Bytes = 5 - 6 ", 100, Some(Part(5, 6))),
            ("bytes=-0", 100, Some(Unsatisfiable)),
            ("bytes=100-", 100, Some(Unsatisfiable)),
            ("bytes=100-200", 100, Some(Unsatisfiable)),
            ("bytes=5-2", 100, Some(Unsatisfiable)),
            ("bytes=0-", 0, Some(Unsatisfiable)),
            ("bytes=-5", 0, Some(Unsatisfiable)),
            ("bytes=200-300,400-", 100, Some(Unsatisfiable)),
            ("bytes=0-1,5-6", 100, Some(Whole)),
            ("bytes=0-1,200-", 100, Some(Whole)),
            ("bytes=0-1,,", 100, Some(Part(0, 1))),
            ("bytes=", 100, None),
            ("bytes=-", 100, None),
            ("bytes=a-b", 100, None),
            ("bytes=1-2-3", 100, None),
            ("bytes=+1-2", 100, None),
            ("bytes=0-99999999999999999999999", 100, None),
            ("items=0-1", 100, None),
            ("0-1", 100, None),
        ];
        for (range, len, expected) in cases {
            assert_eq!(plan_for(range, *len), *expected, "{range} of {len}");
        }
    }
}
