//! `/api/v1/photos`: upload, exists, list, detail, status, update, trash, reprocess, likes.

use crate::db::ids::{AlbumId, PhotoId};
use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Enum, Object, OpenApi};
use serde::Deserialize;

use super::envelope::{
    empty, raw_query_value, Accepted, Created, Empty, Envelope, JsonBody, Null, Ok,
    OptionalJsonBody, Paging,
};
use super::error::ApiError;
use super::multipart::MultipartBody;
use super::params::{Month, PageNumber, PerPage, ScopeName, Sort, SortFields};
use super::photo_models::{photo_response, PhotoPage, PhotoResponse, StatusName, VisibilityName};
use super::photo_upload::{receive_upload, UploadResponse};
use super::responses::{
    Conflict, Forbidden, InsufficientStorage, NotFound, Reply, UnsupportedMedia,
};
use super::security::{BearerAuth, OptionalAuth};
use super::text::DateTimeOrEmpty;
use super::ApiTags;
use crate::app::AppState;
use crate::auth::Caller;
use crate::catalog::filter::{ListParams, SortKey};
use crate::catalog::repo::PhotoChange;
use crate::catalog::{Photo, Viewer};
use poem_openapi::types::ParseFromParameter;

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Most characters in a photo's title and description.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

pub fn present(state: &AppState, photo: Photo) -> PhotoResponse {
    let catalog = state.catalog();
    photo_response(
        photo,
        catalog.signer(),
        catalog.trash_retention_secs(),
        crate::db::now(),
    )
}

#[derive(Debug, Object, Deserialize)]
pub struct ExistsRequest {
    /// SHA-256 hex of files the client has (at most 1000; any case).
    #[oai(validator(max_items = 1000, pattern = "^[0-9A-Fa-f]{64}$"))]
    pub checksums: Vec<String>,
}

#[derive(Debug, Object)]
pub struct ExistsResponse {
    /// Checksum → photo id, for those the caller already has.
    pub existing: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Object, Deserialize)]
pub struct UpdatePhotoRequest {
    /// At most 200 characters; an empty (or blank) string clears it.
    #[oai(nullable, validator(max_length = 200))]
    pub title: Option<String>,
    /// At most 5000 characters; an empty (or blank) string clears it.
    #[oai(nullable, validator(max_length = 5000))]
    pub description: Option<String>,
    #[oai(nullable)]
    pub visibility: Option<VisibilityName>,
    #[oai(nullable)]
    pub is_favorite: Option<bool>,
    /// Stored as UTC, whole seconds; an empty string clears it.
    #[oai(nullable)]
    pub taken_at: Option<DateTimeOrEmpty>,
    /// Replaces the manual tags; AI tags stay. At most 100 tags of at most 64 characters;
    /// white space is folded, empty tags and case-insensitive duplicates are dropped.
    #[oai(nullable, validator(max_items = 100, max_length = 64))]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct ReprocessRequest {
    /// Default: exif and thumbnails.
    #[oai(nullable)]
    pub steps: Option<Vec<StepName>>,
}

/// A processing step that can be redone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum StepName {
    Exif,
    Thumbnails,
    Tags,
}

impl StepName {
    fn as_str(self) -> &'static str {
        match self {
            StepName::Exif => "exif",
            StepName::Thumbnails => "thumbnails",
            StepName::Tags => "tags",
        }
    }
}

#[derive(Debug, Object)]
pub struct StepResponse {
    /// stored, exif, thumbnails or tags.
    pub name: String,
    /// pending, running, done, failed or skipped.
    pub status: String,
    /// Why the step failed, while it is `failed`.
    #[oai(nullable)]
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

fn parse_taken_at(text: &str) -> ApiResult<Option<i64>> {
    if text.is_empty() {
        return Result::Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(text)
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
    /// Files that fail are listed in `failed`; if every file fails, the status is that of the
    /// first failure (403 or 404 for `album_id`, 413, 415, 422, 507). A bad field or a broken
    /// body after some files were stored ends the upload with 201: the stored files in
    /// `uploaded`, the problem in `failed` (under the field's name, or "" for the body).
    #[oai(path = "/", method = "post")]
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: MultipartBody,
    ) -> Reply<Created<UploadResponse>, (Forbidden, NotFound, UnsupportedMedia, InsufficientStorage)>
    {
        Result::Ok(Envelope(receive_upload(&state, &auth.0, body, None).await?))
    }

    /// Which of these checksums the caller already has (for backup clients).
    #[oai(path = "/exists", method = "post")]
    async fn exists(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ExistsRequest>,
    ) -> Reply<Ok<ExistsResponse>> {
        let found = state.catalog().existing(&auth.0, body.0.checksums).await?;
        Result::Ok(Envelope(ExistsResponse {
            existing: found.into_iter().map(|(sum, id)| (sum, id.get())).collect(),
        }))
    }

    /// The caller's photos (not in trash), or with `scope=family` all they see through their family.
    /// Sort (alias `ordering`): `taken_at` (photos without one by upload time), `created_at`,
    /// `updated_at`, `title`, `size`, `likes`; `-` for descending; default `-taken_at`.
    /// `year` and `month` are of `taken_at`, else of the upload time (UTC). An `album_id` the
    /// caller cannot see is a 404.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        scope: Query<Option<ScopeName>>,
        album_id: Query<Option<i64>>,
        /// Photos with this tag (case-insensitive); empty for any.
        tag: Query<Option<String>>,
        favorite: Query<Option<bool>>,
        year: Query<Option<i32>>,
        month: Query<Option<Month>>,
        visibility: Query<Option<VisibilityName>>,
        status: Query<Option<StatusName>>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        /// Aliases `page_size`, `perpage`, `limit`.
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>, NotFound> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = ListParams {
            scope: scope.0.into(),
            owner_id: None,
            album_id: album_id.0.map(AlbumId),
            tag: tag.0.filter(|t| !t.trim().is_empty()),
            favorite: favorite.0,
            year: year.0,
            month: month.0.map(|m| m.0 as u32),
            visibility: visibility.0.map(Into::into),
            status: status.0.map(Into::into),
            trash: false,
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
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let (photos, total) = state
            .trash()
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
    ) -> Reply<Ok<PurgedResponse>> {
        let purged = state.trash().empty_trash(&auth.0).await? as i64;
        Result::Ok(Envelope(PurgedResponse { purged }))
    }

    /// A photo the caller may see (public photos need no login). A photo in the trash is shown
    /// to its owner (and admins) with `deleted_at` set, so that it can be restored.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        id: Path<i64>,
    ) -> Reply<Ok<PhotoResponse>, NotFound> {
        let photo = state
            .catalog()
            .get_photo(Viewer::from(auth.0), PhotoId(id.0))
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
    ) -> Reply<Ok<PhotoStatusResponse>, NotFound> {
        let (status, steps) = state
            .processing()
            .photo_status(Viewer::User(auth.0), PhotoId(id.0))
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

    /// Change title, description, visibility, favorite, taken_at or manual tags (owner or admin;
    /// others who see the photo get 403). A photo in the trash is restored first (409).
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdatePhotoRequest>,
    ) -> Reply<Ok<PhotoResponse>, (Forbidden, NotFound, Conflict)> {
        Result::Ok(update_photo(&state, auth.0, id.0, body.0).await?)
    }

    /// Same as PUT: a partial update.
    #[oai(path = "/:id", method = "patch")]
    async fn patch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdatePhotoRequest>,
    ) -> Reply<Ok<PhotoResponse>, (Forbidden, NotFound, Conflict)> {
        Result::Ok(update_photo(&state, auth.0, id.0, body.0).await?)
    }

    /// Move a photo to the trash (its file moves into the trash directory); 409 if it is there
    /// already. It leaves every listing but `GET /photos/trash`; its owner still gets it from
    /// `GET /photos/{id}` (with `deleted_at`) until it is purged.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Empty, (Forbidden, NotFound, Conflict)> {
        state
            .trash()
            .trash_photo(Viewer::User(auth.0), PhotoId(id.0))
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
    ) -> Reply<Ok<PhotoResponse>, (Forbidden, NotFound, Conflict)> {
        let photo = state
            .trash()
            .restore_photo(Viewer::User(auth.0), PhotoId(id.0))
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
    ) -> Reply<Empty, (Forbidden, NotFound, Conflict)> {
        state
            .trash()
            .purge_photo(Viewer::User(auth.0), PhotoId(id.0))
            .await?;
        Result::Ok(empty())
    }

    /// Redo processing steps in the background (owner or admin). The body is optional; without
    /// one, exif and thumbnails are redone. A photo in the trash is a 409.
    #[oai(path = "/:id/reprocess", method = "post")]
    async fn reprocess(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: OptionalJsonBody<ReprocessRequest>,
    ) -> Reply<Accepted<Null>, (Forbidden, NotFound, Conflict)> {
        let steps = body
            .0
            .and_then(|r| r.steps)
            .map(|steps| steps.iter().map(|s| s.as_str().to_string()).collect());
        state
            .processing()
            .reprocess(Viewer::User(auth.0), PhotoId(id.0), steps)
            .await?;
        Result::Ok(Envelope(Null))
    }

    /// Like a photo the caller can see (idempotent).
    #[oai(path = "/:id/like", method = "post")]
    async fn like(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Ok<LikeResponse>, NotFound> {
        let (like_count, liked_by_me) = state
            .catalog()
            .set_like(&auth.0, PhotoId(id.0), true)
            .await?;
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
    ) -> Reply<Ok<LikeResponse>, NotFound> {
        let (like_count, liked_by_me) = state
            .catalog()
            .set_like(&auth.0, PhotoId(id.0), false)
            .await?;
        Result::Ok(Envelope(LikeResponse {
            like_count,
            liked_by_me,
        }))
    }
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
) -> ApiResult<Ok<PhotoResponse>> {
    let taken_at = b.taken_at.map(|t| parse_taken_at(&t.0)).transpose()?;
    let change = PhotoChange {
        title: b.title.map(blank_to_none),
        description: b.description.map(blank_to_none),
        visibility: b.visibility.map(Into::into),
        is_favorite: b.is_favorite,
        taken_at,
    };
    let photo = state
        .catalog()
        .update_photo(Viewer::User(caller), PhotoId(id), change, b.tags)
        .await?;
    Result::Ok(Envelope(present(state, photo)))
}

/// One page of photos as the API shows them.
pub(super) async fn photo_page(
    state: &AppState,
    viewer: Viewer,
    params: ListParams,
    paging: Paging,
) -> ApiResult<PhotoPage> {
    let (photos, total) = state.catalog().list_photos(viewer, params).await?;
    let items = photos.into_iter().map(|p| present(state, p)).collect();
    Result::Ok(PhotoPage(paging.page_of(items, total)))
}

pub(super) fn parse_sort(sort: Option<Sort<SortKey>>, req: &Request) -> ApiResult<(SortKey, bool)> {
    sort_or_alias(sort, req, (SortKey::TakenAt, true))
}

/// `sort`, else its alias `ordering` (checked the same way), else `default`.
pub(super) fn sort_or_alias<K: SortFields>(
    sort: Option<Sort<K>>,
    req: &Request,
    default: (K, bool),
) -> ApiResult<(K, bool)> {
    if let Some(sort) = sort {
        return Result::Ok(sort.key());
    }
    match raw_query_value(req, &["ordering"]) {
        None => Result::Ok(default),
        Some((_, text)) => Sort::<K>::parse_from_parameter(&text)
            .map(Sort::key)
            .map_err(|e| {
                ApiError::validation(
                    StatusCode::BAD_REQUEST,
                    "ordering",
                    e.message(),
                    "INVALID_VALUE",
                )
            }),
    }
}
