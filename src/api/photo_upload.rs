//! Receiving a multipart photo upload: parts are read in order and each file is stored as
//! its part arrives (shared by `POST /photos` and, later, album uploads).

use crate::db::ids::AlbumId;
use poem::http::StatusCode;
use poem_openapi::Object;

use super::error::ApiError;
use super::multipart::{malformed, MultipartBody, FILE_PARTS};
use super::photo_models::PhotoResponse;
use super::photos::{blank_to_none, present, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::app::AppState;
use crate::auth::Caller;
use crate::catalog::{Origin, Viewer, Visibility};
use crate::ingest::{Meta, Source};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// The text fields of an upload; other parts that are not files are skipped unread.
const TEXT_FIELDS: &[&str] = &["title", "description", "album_id", "visibility"];
/// Longest text field value.
const MAX_TEXT_BYTES: usize = 64 * 1024;

#[derive(Debug, Object)]
pub struct UploadFailure {
    /// The file's name; for a bad field after stored files, the field's name ("" for a body
    /// that broke off).
    pub filename: String,
    pub error: UploadError,
}

#[derive(Debug, Object)]
pub struct UploadError {
    #[oai(rename = "type")]
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Object)]
pub struct UploadSummary {
    pub total: u32,
    pub success: u32,
    pub failed: u32,
}

#[derive(Debug, Object)]
pub struct UploadResponse {
    pub uploaded: Vec<PhotoResponse>,
    pub failed: Vec<UploadFailure>,
    pub summary: UploadSummary,
}

/// A text field of an upload, checked as the OpenAPI document describes it.
fn apply_text_field(meta: &mut Meta, name: &str, value: String) -> ApiResult<()> {
    let invalid = |message: &str, code: &'static str| {
        ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, name, message, code)
    };
    let limit = match name {
        "title" => MAX_TITLE_CHARS,
        "description" => MAX_DESCRIPTION_CHARS,
        _ => usize::MAX,
    };
    if value.chars().count() > limit {
        return Err(invalid(
            &format!("must be at most {limit} characters"),
            "TOO_LONG",
        ));
    }
    match name {
        "title" => meta.title = blank_to_none(value),
        "description" => meta.description = blank_to_none(value),
        "visibility" => {
            meta.visibility = Visibility::parse(&value)
                .ok_or_else(|| invalid("must be private, family or public", "INVALID_VALUE"))?
        }
        "album_id" => {
            meta.album_id =
                Some(AlbumId(value.parse().map_err(|_| {
                    invalid("must be an integer", "INVALID_FORMAT")
                })?))
        }
        _ => {}
    }
    Result::Ok(())
}

/// A problem with the request itself (a bad field, a broken or cut-off body): refused when
/// nothing is stored yet; after stored files, they are answered (201) with the problem listed
/// in `failed` under the field's name, so a client never loses sight of what it uploaded.
fn request_problem(
    uploaded: &[PhotoResponse],
    failed: &mut Vec<UploadFailure>,
    name: &str,
    api: ApiError,
) -> ApiResult<()> {
    if uploaded.is_empty() {
        return Err(api);
    }
    failed.push(UploadFailure {
        filename: name.to_string(),
        error: UploadError {
            kind: api.kind.to_string(),
            message: api.message.clone(),
        },
    });
    Result::Ok(())
}

/// Reads the parts of an upload in order, storing each file as it arrives.
pub async fn receive_upload(
    state: &AppState,
    caller: &Caller,
    body: MultipartBody,
    album_id: Option<AlbumId>,
) -> ApiResult<UploadResponse> {
    let mut form = body.0;
    let mut meta = Meta {
        owner: *caller,
        filename: String::new(),
        title: None,
        description: None,
        visibility: Visibility::Private,
        album_id,
        origin: Origin::Upload,
    };
    let (mut uploaded, mut failed, mut first_error) = (Vec::new(), Vec::new(), None);
    loop {
        let part = match form.next_part().await {
            Result::Ok(Some(part)) => part,
            Result::Ok(None) => break,
            Err(_) => {
                request_problem(&uploaded, &mut failed, "", malformed())?;
                break;
            }
        };
        let name = part.name.unwrap_or_default();
        if FILE_PARTS.contains(&name.as_str()) {
            let filename = part
                .filename
                .as_deref()
                .unwrap_or("upload")
                .chars()
                .take(255)
                .collect::<String>();
            meta.filename = filename.clone();
            let source = Source::Stream(Box::pin(form.part_body()));
            let stored = match state.ingest().ingest(source, meta.clone()).await {
                std::result::Result::Ok(done) => state
                    .catalog()
                    .get_photo(Viewer::User(*caller), done.photo_id)
                    .await
                    .map(|photo| (photo, done.duplicate)),
                Err(e) => Err(e),
            };
            match stored {
                std::result::Result::Ok((photo, duplicate)) => {
                    let mut photo = present(state, photo);
                    photo.duplicate = Some(duplicate);
                    uploaded.push(photo);
                }
                Err(e) => {
                    let api = ApiError::from(e);
                    failed.push(UploadFailure {
                        filename,
                        error: UploadError {
                            kind: api.kind.to_string(),
                            message: api.message.clone(),
                        },
                    });
                    first_error.get_or_insert(api);
                }
            }
            continue;
        }
        if !TEXT_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let value = match form.read_to_end(MAX_TEXT_BYTES).await {
            Result::Ok(Some(value)) => String::from_utf8(value).map_err(|_| malformed()),
            Result::Ok(None) => Err(ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                &name,
                "is too long",
                "TOO_LONG",
            )),
            Err(_) => Err(malformed()),
        };
        if let Err(api) = value.and_then(|value| apply_text_field(&mut meta, &name, value)) {
            request_problem(&uploaded, &mut failed, &name, api)?;
            break;
        }
    }
    if uploaded.is_empty() {
        return Err(first_error.unwrap_or_else(|| {
            ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                "file",
                "at least one file is required",
                "REQUIRED",
            )
        }));
    }
    let summary = UploadSummary {
        total: (uploaded.len() + failed.len()) as u32,
        success: uploaded.len() as u32,
        failed: failed.len() as u32,
    };
    Result::Ok(UploadResponse {
        uploaded,
        failed,
        summary,
    })
}
