//! `/api/v1/uploads`: resumable uploads with tus 1.0.0 (API.md §5.1), for any tus client
//! (tus-js-client and Uppy, tuspy, curl by hand). The routes speak tus's own protocol — binary
//! bodies, answers told by headers, 460 for a checksum mismatch — so they are served beside the
//! OpenAPI document, not in it; README "Resumable uploads" describes them. Refusals carry the
//! API.md §1.1 envelope where the method has a body (all but `HEAD`).
//!
//! `OPTIONS` needs no token; everything else needs `Tus-Resumable: 1.0.0` (else 412) and the
//! bearer token (else 401). Another user's upload is 404 for every method.

use poem::http::{header, Method, StatusCode};
use poem::web::Path;
use poem::{handler, Body, Request, Response};

use super::error::ApiError;
use super::tus::{self, Concat};
use crate::app::AppState;
use crate::auth::{AuthError, Caller};
use crate::error::AppError;
use crate::uploads::{Chunk, NewUpload, Patch, Upload, UploadError};

type ApiResult<T> = Result<T, ApiError>;

/// `/api/v1/uploads`: `OPTIONS` (discovery) and `POST` (creation).
#[handler]
pub async fn collection(req: &Request, body: Body) -> Response {
    respond(serve(req, None, body).await)
}

/// `/api/v1/uploads/{id}`: `HEAD`, `PATCH`, `DELETE` and `OPTIONS`.
#[handler]
pub async fn resource(req: &Request, Path(id): Path<String>, body: Body) -> Response {
    respond(serve(req, Some(&id), body).await)
}

fn respond(result: ApiResult<Response>) -> Response {
    result.unwrap_or_else(tus::error_answer)
}

async fn serve(req: &Request, id: Option<&str>, body: Body) -> ApiResult<Response> {
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    let method = tus::method_of(req);
    let allowed: &[Method] = match id {
        None => &[Method::POST, Method::OPTIONS],
        Some(_) => &[Method::HEAD, Method::PATCH, Method::DELETE, Method::OPTIONS],
    };
    if !allowed.contains(&method) {
        let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "method not allowed on this resource",
        )
        .with_header(header::ALLOW, allow.join(", ")));
    }
    if method == Method::OPTIONS {
        return Ok(tus::discovery(state.uploads().settings().max_bytes));
    }
    tus::check_version(req)?;
    let caller = authenticate(state, req).await?;
    let uploads = state.uploads();
    match (id, method) {
        (None, _) => create(state, caller, req, body).await,
        (Some(id), Method::HEAD) => {
            let upload = uploads.head(caller, id).await.map_err(tus::refusal)?;
            let mut resp = tus::answer(StatusCode::OK);
            tus::describe(&mut resp, &upload, true);
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
            Ok(resp)
        }
        (Some(id), Method::PATCH) => {
            if !tus::is_offset_stream(req) {
                return Err(tus::wrong_content_type());
            }
            let offset = tus::number(req, "upload-offset")?.ok_or_else(|| {
                ApiError::validation(
                    StatusCode::BAD_REQUEST,
                    "Upload-Offset",
                    "is required",
                    "REQUIRED",
                )
            })?;
            let patch = Patch {
                offset,
                length: tus::number(req, "upload-length")?,
                chunk: chunk_of(req, body)?,
            };
            match uploads.append(caller, id, patch).await {
                Ok(upload) => Ok(written(StatusCode::NO_CONTENT, &upload)),
                // A refused PATCH of a live upload (409, 413, 460, 507) still tells its expiry.
                Err(e) => Err(tus::with_expiry(
                    tus::refusal(e),
                    uploads.expires_at(caller, id).await,
                )),
            }
        }
        (Some(id), _) => {
            uploads.terminate(caller, id).await.map_err(tus::refusal)?;
            Ok(tus::answer(StatusCode::NO_CONTENT))
        }
    }
}

/// `POST`: a new upload (with its first bytes, when the body has any), a partial one, or the
/// final upload of finished parts.
async fn create(
    state: &AppState,
    caller: Caller,
    req: &Request,
    body: Body,
) -> ApiResult<Response> {
    let uploads = state.uploads();
    let metadata = req
        .header("upload-metadata")
        .unwrap_or_default()
        .to_string();
    let length = tus::number(req, "upload-length")?;
    let deferred = tus::defers_length(req)?;
    let concat = tus::concat(req)?;
    if let Some(Concat::Final(parts)) = concat {
        if length.is_some() || deferred {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                "Upload-Length",
                "is not sent for a final upload: it is the sum of its parts",
                "INVALID_VALUE",
            ));
        }
        let raw = req.header("upload-concat").unwrap_or_default().trim();
        let upload = uploads
            .concatenate(caller, parts, raw.to_string(), metadata)
            .await
            .map_err(tus::refusal)?;
        return Ok(created(&upload));
    }
    let length = match (length, deferred) {
        (Some(_), true) => {
            return Err(ApiError::bad_request(
                "send either Upload-Length or Upload-Defer-Length, not both",
            ))
        }
        (None, false) => {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                "Upload-Length",
                "is required (or Upload-Defer-Length: 1)",
                "REQUIRED",
            ))
        }
        (length, _) => length,
    };
    let with_bytes = tus::has_body(req)?;
    if with_bytes && !tus::is_offset_stream(req) {
        return Err(tus::wrong_content_type());
    }
    let new = NewUpload {
        length,
        metadata,
        partial: matches!(concat, Some(Concat::Partial)),
    };
    let upload = uploads.create(caller, new).await.map_err(tus::refusal)?;
    if !with_bytes || upload.photo.is_some() {
        return Ok(created(&upload));
    }
    // creation-with-upload: the body is the first chunk. A body that broke off still leaves a
    // created upload to resume; a refused one leaves none.
    let patch = Patch {
        offset: 0,
        length: None,
        chunk: chunk_of(req, body)?,
    };
    match uploads.append(caller, &upload.id, patch).await {
        Ok(upload) => Ok(created(&upload)),
        // Another request (a HEAD or PATCH on the new URL) took it over: it goes on from there.
        Err(UploadError::TakenOver { offset }) => Ok(created(&Upload { offset, ..upload })),
        Err(UploadError::App(AppError::Io(e)))
            if crate::server::request_body_error(&e).is_some() =>
        {
            let upload = uploads
                .head(caller, &upload.id)
                .await
                .map_err(tus::refusal)?;
            Ok(created(&upload))
        }
        Err(e) => {
            let _ = uploads.terminate(caller, &upload.id).await;
            Err(tus::refusal(e))
        }
    }
}

/// The bytes of a request, with what its headers say about them.
fn chunk_of(req: &Request, body: Body) -> ApiResult<Chunk<'static>> {
    Ok(Chunk {
        body: Box::pin(body.into_bytes_stream()),
        declared: tus::number(req, "content-length")?,
        checksum: tus::checksum(req)?,
    })
}

fn created(upload: &Upload) -> Response {
    let mut resp = written(StatusCode::CREATED, upload);
    let location = format!("{}/{}", tus::UPLOADS_PATH, upload.id);
    resp.headers_mut().insert(
        header::LOCATION,
        location.parse().expect("an id is a valid path"),
    );
    resp
}

fn written(status: StatusCode, upload: &Upload) -> Response {
    let mut resp = tus::answer(status);
    tus::describe(&mut resp, upload, false);
    resp
}

async fn authenticate(state: &AppState, req: &Request) -> ApiResult<Caller> {
    let token = req
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::from(AppError::from(AuthError::MissingToken)))?;
    Ok(state.accounts().authenticate(token).await?)
}

#[cfg(test)]
mod tests {
    use crate::uploads::metadata;

    #[test]
    fn metadata_limits_are_those_of_post_photos() {
        assert_eq!(
            metadata::MAX_TITLE_CHARS,
            super::super::photos::MAX_TITLE_CHARS
        );
        assert_eq!(
            metadata::MAX_DESCRIPTION_CHARS,
            super::super::photos::MAX_DESCRIPTION_CHARS
        );
    }
}
