//! `/api/v1/photos`: upload, exists, list, detail, status, update, trash, reprocess, likes.

use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::envelope::{
    empty, raw_query_value, Accepted, Created, Empty, Envelope, JsonBody, Ok, Paging,
};
use super::error::ApiError;
use super::multipart::MultipartBody;
use super::photo_models::{photo_response, PhotoPage, PhotoResponse, StatusName, VisibilityName};
use super::photo_upload::{receive_upload, UploadError, UploadResponse};
use super::security::{BearerAuth, OptionalAuth};
use super::ApiTags;
use crate::app::AppState;
use crate::auth::Caller;
use crate::photos::batch::BatchAction;
use crate::photos::library::{ListParams, Scope, SortKey};
use crate::photos::repo::PhotoChange;
use crate::photos::{Photo, Viewer};

type Result<T> = std::result::Result<T, ApiError>;

pub fn present(state: &AppState, photo: Photo) -> PhotoResponse {
    let library = state.library();
    photo_response(
        photo,
        library.signer(),
        library.trash_retention_secs(),
        crate::db::now(),
    )
}

#[derive(Debug, Object, Deserialize)]
pub struct ExistsRequest {
    /// SHA-256 hex of files the client has (at most 1000).
    pub checksums: Vec<String>,
}

#[derive(Debug, Object)]
pub struct ExistsResponse {
    /// Checksum → photo id, for those the caller already has.
    pub existing: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Object, Deserialize)]
pub struct UpdatePhotoRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<VisibilityName>,
    pub is_favorite: Option<bool>,
    /// RFC 3339; an empty string clears it.
    pub taken_at: Option<String>,
    /// Replaces the manual tags; AI tags stay.
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct ReprocessRequest {
    /// Any of `exif`, `thumbnails`, `tags`; default exif and thumbnails.
    pub steps: Option<Vec<String>>,
}

#[derive(Debug, Object)]
pub struct StepResponse {
    pub name: String,
    /// pending, running, done, failed or skipped.
    pub status: String,
    pub error: Option<String>,
}

#[derive(Debug, Object)]
pub struct PhotoStatusResponse {
    pub status: StatusName,
    pub steps: Vec<StepResponse>,
}

#[derive(Debug, Object)]
pub struct LikeResponse {
    pub like_count: i64,
    pub liked_by_me: bool,
}

fn parse_taken_at(text: &str) -> Result<Option<i64>> {
    if text.trim().is_empty() {
        return Result::Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Some(t.timestamp()))
        .map_err(|_| {
            ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                "taken_at",
                "must be an RFC 3339 time",
                "INVALID_FORMAT",
            )
        })
}

pub(super) fn blank_to_none(text: String) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub struct PhotosApi;

#[OpenApi(prefix_path = "/photos", tag = "ApiTags::Photos")]
impl PhotosApi {
    /// Upload one or more photos (multipart). Each file at most `storage.max_upload_mb`; the type
    /// is decided by content. A file the caller already has comes back with `duplicate: true`.
    /// If every file fails, the status is that of the first failure (413, 415, 422, 507).
    #[oai(path = "/", method = "post")]
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: MultipartBody,
    ) -> Result<Created<UploadResponse>> {
        Result::Ok(Envelope(receive_upload(&state, &auth.0, body, None).await?))
    }

    /// Which of these checksums the caller already has (for backup clients).
    #[oai(path = "/exists", method = "post")]
    async fn exists(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ExistsRequest>,
    ) -> Result<Ok<ExistsResponse>> {
        let found = state.library().existing(&auth.0, body.0.checksums).await?;
        Result::Ok(Envelope(ExistsResponse {
            existing: found.into_iter().collect(),
        }))
    }

    /// The caller's photos (not in trash), or with `scope=family` all they see through their family.
    /// Sort (alias `ordering`): `taken_at` (photos without one by upload time), `created_at`,
    /// `title`, `size`; `-` for descending; default `-taken_at`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// `mine` (default) or `family`.
        scope: Query<Option<String>>,
        album_id: Query<Option<i64>>,
        tag: Query<Option<String>>,
        favorite: Query<Option<bool>>,
        year: Query<Option<i32>>,
        month: Query<Option<u32>>,
        visibility: Query<Option<VisibilityName>>,
        status: Query<Option<StatusName>>,
        sort: Query<Option<String>>,
        page: Query<Option<i64>>,
        /// 1–200, default 20 (aliases `page_size`, `perpage`, `limit`).
        per_page: Query<Option<i64>>,
    ) -> Result<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let scope = parse_scope(scope.0)?;
        if month.0.is_some_and(|m| !(1..=12).contains(&m)) {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                "month",
                "must be 1 to 12",
                "OUT_OF_RANGE",
            ));
        }
        let params = ListParams {
            scope,
            owner_id: None,
            album_id: album_id.0,
            tag: tag.0.filter(|t| !t.trim().is_empty()),
            favorite: favorite.0,
            year: year.0,
            month: month.0,
            visibility: visibility.0.map(Into::into),
            status: status.0.map(Into::into),
            sort: parse_sort(sort.0, req)?,
            limit: paging.per_page,
            offset: paging.offset(),
        };
        Result::Ok(Envelope(
            photo_page(&state, Viewer::User(auth.0), params, paging).await?,
        ))
    }

    /// The caller's trash, newest first, with `deleted_at` and `purge_at`.
    #[oai(path = "/trash", method = "get")]
    async fn trash(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let (photos, total) = state
            .library()
            .list_trash(&auth.0, paging.per_page, paging.offset())
            .await?;
        let items = photos.into_iter().map(|p| present(&state, p)).collect();
        Result::Ok(Envelope(PhotoPage(paging.page_of(items, total))))
    }

    /// Empty the caller's trash: `data: {purged: n}`.
    #[oai(path = "/trash", method = "delete")]
    async fn empty_trash(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Ok<PurgedResponse>> {
        let purged = state.library().empty_trash(&auth.0).await? as i64;
        Result::Ok(Envelope(PurgedResponse { purged }))
    }

    /// A photo the caller may see (public photos need no login).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        id: Path<i64>,
    ) -> Result<Ok<PhotoResponse>> {
        let photo = state
            .library()
            .get_photo(Viewer::from(auth.0), id.0)
            .await?;
        Result::Ok(Envelope(present(&state, photo)))
    }

    /// Processing state of each step: stored, exif, thumbnails, tags.
    #[oai(path = "/:id/status", method = "get")]
    async fn status(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Ok<PhotoStatusResponse>> {
        let (status, steps) = state
            .library()
            .photo_status(Viewer::User(auth.0), id.0)
            .await?;
        let steps = steps
            .into_iter()
            .map(|s| StepResponse {
                name: s.name,
                status: s.status,
                error: s.error,
            })
            .collect();
        Result::Ok(Envelope(PhotoStatusResponse {
            status: status.into(),
            steps,
        }))
    }

    /// Change title, description, visibility, favorite, taken_at or manual tags (owner or admin).
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdatePhotoRequest>,
    ) -> Result<Ok<PhotoResponse>> {
        update_photo(&state, auth.0, id.0, body.0).await
    }

    /// Same as PUT: a partial update.
    #[oai(path = "/:id", method = "patch")]
    async fn patch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdatePhotoRequest>,
    ) -> Result<Ok<PhotoResponse>> {
        update_photo(&state, auth.0, id.0, body.0).await
    }

    /// Move a photo to the trash (its file moves into the trash directory).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Empty> {
        state
            .library()
            .trash_photo(Viewer::User(auth.0), id.0)
            .await?;
        Result::Ok(empty())
    }

    /// Bring a photo back from the trash; 409 if it is not in the trash.
    #[oai(path = "/:id/restore", method = "post")]
    async fn restore(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Ok<PhotoResponse>> {
        let photo = state
            .library()
            .restore_photo(Viewer::User(auth.0), id.0)
            .await?;
        Result::Ok(Envelope(present(&state, photo)))
    }

    /// Delete a trashed photo for good (original, thumbnails, row); 409 if not in the trash.
    #[oai(path = "/:id/permanent", method = "delete")]
    async fn permanent(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Empty> {
        state
            .library()
            .purge_photo(Viewer::User(auth.0), id.0)
            .await?;
        Result::Ok(empty())
    }

    /// Redo processing steps in the background.
    #[oai(path = "/:id/reprocess", method = "post")]
    async fn reprocess(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: poem::Body,
    ) -> Result<Accepted<Option<bool>>> {
        // The body is optional: no body means the default steps.
        let bytes = super::envelope::read_json_body(body).await?;
        let request: ReprocessRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
            ReprocessRequest::default()
        } else {
            super::envelope::parse_json(&bytes)?
        };
        state
            .library()
            .reprocess(Viewer::User(auth.0), id.0, request.steps)
            .await?;
        Result::Ok(Envelope(None))
    }

    /// One action over many photos; each succeeds or fails on its own.
    #[oai(path = "/batch", method = "post")]
    async fn batch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<BatchRequest>,
    ) -> Result<Ok<BatchResponse>> {
        let b = body.0;
        let action = batch_action(&b.action, b.data.unwrap_or_default())?;
        let (succeeded, failures) = state.library().batch(&auth.0, b.photo_ids, action).await?;
        let failed = failures
            .into_iter()
            .map(|(id, e)| {
                let api = ApiError::from(e);
                BatchFailure {
                    id,
                    error: UploadError {
                        kind: api.kind.to_string(),
                        message: api.message,
                    },
                }
            })
            .collect();
        Result::Ok(Envelope(BatchResponse { succeeded, failed }))
    }

    /// Like a photo the caller can see (idempotent).
    #[oai(path = "/:id/like", method = "post")]
    async fn like(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Ok<LikeResponse>> {
        let (like_count, liked_by_me) = state.library().set_like(&auth.0, id.0, true).await?;
        Result::Ok(Envelope(LikeResponse {
            like_count,
            liked_by_me,
        }))
    }

    /// Take a like back (idempotent).
    #[oai(path = "/:id/like", method = "delete")]
    async fn unlike(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Ok<LikeResponse>> {
        let (like_count, liked_by_me) = state.library().set_like(&auth.0, id.0, false).await?;
        Result::Ok(Envelope(LikeResponse {
            like_count,
            liked_by_me,
        }))
    }
}

#[derive(Debug, Object, Deserialize)]
pub struct BatchRequest {
    /// At most 500.
    pub photo_ids: Vec<i64>,
    /// delete, restore, purge, favorite, unfavorite, set_visibility, add_tags, remove_tags,
    /// add_to_album, remove_from_album.
    pub action: String,
    pub data: Option<BatchData>,
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct BatchData {
    /// For set_visibility.
    pub visibility: Option<VisibilityName>,
    /// For add_tags and remove_tags.
    pub tags: Option<Vec<String>>,
    /// For add_to_album and remove_from_album.
    pub album_id: Option<i64>,
}

#[derive(Debug, Object)]
pub struct BatchFailure {
    pub id: i64,
    pub error: UploadError,
}

#[derive(Debug, Object)]
pub struct BatchResponse {
    pub succeeded: Vec<i64>,
    pub failed: Vec<BatchFailure>,
}

fn batch_action(action: &str, data: BatchData) -> Result<BatchAction> {
    let missing = |field: &str| {
        ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            "is required for this action",
            "REQUIRED",
        )
    };
    Result::Ok(match action {
        "delete" => BatchAction::Delete,
        "restore" => BatchAction::Restore,
        "purge" => BatchAction::Purge,
        "favorite" => BatchAction::Favorite,
        "unfavorite" => BatchAction::Unfavorite,
        "set_visibility" => BatchAction::SetVisibility(
            data.visibility
                .ok_or_else(|| missing("data.visibility"))?
                .into(),
        ),
        "add_tags" => BatchAction::AddTags(data.tags.ok_or_else(|| missing("data.tags"))?),
        "remove_tags" => BatchAction::RemoveTags(data.tags.ok_or_else(|| missing("data.tags"))?),
        "add_to_album" => {
            BatchAction::AddToAlbum(data.album_id.ok_or_else(|| missing("data.album_id"))?)
        }
        "remove_from_album" => {
            BatchAction::RemoveFromAlbum(data.album_id.ok_or_else(|| missing("data.album_id"))?)
        }
        _ => {
            return Err(ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                "action",
                "is not a known batch action",
                "INVALID_VALUE",
            ))
        }
    })
}

#[derive(Debug, Object)]
pub struct PurgedResponse {
    pub purged: i64,
}

async fn update_photo(
    state: &AppState,
    caller: Caller,
    id: i64,
    b: UpdatePhotoRequest,
) -> Result<Ok<PhotoResponse>> {
    let taken_at = b.taken_at.as_deref().map(parse_taken_at).transpose()?;
    let change = PhotoChange {
        title: b.title.map(blank_to_none),
        description: b.description.map(blank_to_none),
        visibility: b.visibility.map(Into::into),
        is_favorite: b.is_favorite,
        taken_at,
    };
    let photo = state
        .library()
        .update_photo(Viewer::User(caller), id, change, b.tags)
        .await?;
    Result::Ok(Envelope(present(state, photo)))
}

/// One page of photos as the API shows them.
pub(super) async fn photo_page(
    state: &AppState,
    viewer: Viewer,
    params: ListParams,
    paging: Paging,
) -> Result<PhotoPage> {
    let (photos, total) = state.library().list_photos(viewer, params).await?;
    let items = photos.into_iter().map(|p| present(state, p)).collect();
    Result::Ok(PhotoPage(paging.page_of(items, total)))
}

/// `scope=mine` (default) or `family`.
pub(super) fn parse_scope(scope: Option<String>) -> Result<Scope> {
    match scope.as_deref().map(str::trim) {
        None | Some("") | Some("mine") => Result::Ok(Scope::Mine),
        Some("family") => Result::Ok(Scope::Family),
        Some(_) => Err(ApiError::validation(
            StatusCode::BAD_REQUEST,
            "scope",
            "must be mine or family",
            "INVALID_VALUE",
        )),
    }
}

pub(super) fn parse_sort(sort: Option<String>, req: &Request) -> Result<(SortKey, bool)> {
    let text = sort.or_else(|| raw_query_value(req, &["ordering"]).map(|(_, v)| v));
    match text {
        None => Result::Ok((SortKey::TakenAt, true)),
        Some(t) => SortKey::parse(t.trim()).ok_or_else(|| {
            ApiError::validation(
                StatusCode::BAD_REQUEST,
                "sort",
                "must be taken_at, created_at, updated_at, title, size or likes, optionally with -",
                "INVALID_VALUE",
            )
        }),
    }
}
