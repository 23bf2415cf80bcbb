//! `/api/v1/albums`: nested albums, their photos, cover, sharing and likes.

use crate::db::ids::{AlbumId, PhotoId};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::OpenApi;

use super::album_models::{
    album_response, chosen_visibility, AddFailure, AddPhotosResponse, AlbumDetailResponse,
    AlbumPhotosBody, AlbumResponse, CoverRequest, CreateAlbumRequest, PhotoIdsRequest,
    RemovedResponse, UpdateAlbumRequest,
};
use super::envelope::{empty, Created, Either, Empty, Envelope, JsonBody, Ok, Page, Paging};
use super::error::ApiError;
use super::params::{PageNumber, PerPage, ScopeName, Sort};
use super::photo_models::PhotoPage;
use super::photo_upload::{receive_upload, UploadError, UploadResponse};
use super::photos::{blank_to_none, parse_sort, photo_page, sort_or_alias, LikeResponse};
use super::responses::{Forbidden, InsufficientStorage, NotFound, Reply, UnsupportedMedia};
use super::security::{BearerAuth, OptionalAuth};
use super::text::Text;
use super::ApiTags;
use crate::app::AppState;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::Viewer;
use crate::sharing::album_repo::AlbumChange;
use crate::sharing::albums::{AlbumInput, AlbumListParams, AlbumScope, AlbumSort};
use crate::sharing::Album;

type ApiResult<T> = std::result::Result<T, ApiError>;

pub fn present_album(state: &AppState, album: Album) -> AlbumResponse {
    album_response(album, state.catalog().signer(), crate::db::now())
}

/// One page of albums as the API shows them.
pub async fn album_page(
    state: &AppState,
    viewer: Viewer,
    params: AlbumListParams,
    paging: Paging,
) -> ApiResult<Page<AlbumResponse>> {
    let (albums, total) = state.sharing().list_albums(viewer, params).await?;
    let items = albums
        .into_iter()
        .map(|a| present_album(state, a))
        .collect();
    Result::Ok(paging.page_of(items, total))
}

/// A page of the album's photos the viewer can see.
async fn album_photos(
    state: &AppState,
    viewer: Viewer,
    id: i64,
    paging: Paging,
    sort: Option<Sort<SortKey>>,
    req: &Request,
) -> ApiResult<PhotoPage> {
    let params = ListParams {
        album_id: Some(AlbumId(id)),
        sort: parse_sort(sort, req)?,
        ..ListParams::page(Scope::Visible, paging.per_page, paging.offset())
    };
    photo_page(state, viewer, params, paging).await
}

async fn update(
    state: &AppState,
    viewer: Viewer,
    id: i64,
    b: UpdateAlbumRequest,
) -> ApiResult<Ok<AlbumResponse>> {
    let description = match b.description {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(d) => Some(blank_to_none(d)),
    };
    let parent_id = match b.parent_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null | MaybeUndefined::Value(0) => Some(None),
        MaybeUndefined::Value(p) => Some(Some(AlbumId(p))),
    };
    let change = AlbumChange {
        title: b.title.map(Text::into_inner),
        description,
        visibility: chosen_visibility(b.visibility, b.is_public),
        parent_id,
    };
    let album = state
        .sharing()
        .update_album(viewer, AlbumId(id), change)
        .await?;
    Result::Ok(Envelope(present_album(state, album)))
}

pub struct AlbumsApi;

#[OpenApi(prefix_path = "/albums", tag = "ApiTags::Albums")]
impl AlbumsApi {
    /// Create an album (input aliases: `name` for `title`, `is_public` for `visibility`). A
    /// `parent_id` that is not one of the caller's albums is a 422.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<CreateAlbumRequest>,
    ) -> Reply<Created<AlbumResponse>> {
        let b = body.0;
        let input = AlbumInput {
            title: b.title.into_inner(),
            description: b.description.and_then(blank_to_none),
            visibility: chosen_visibility(b.visibility, b.is_public)
                .unwrap_or(crate::catalog::Visibility::Private),
            parent_id: b.parent_id.filter(|p| *p != 0).map(AlbumId),
        };
        let album = state.sharing().create_album(&auth.0, input).await?;
        Result::Ok(Envelope(present_album(&state, album)))
    }

    /// The caller's albums (`scope=mine`, default) or those shared in their family
    /// (`scope=family`, own included). `parent_id` lists the children of an album, `parent_id=0`
    /// the top level (an unknown parent lists nothing). Sort (alias `ordering`): `created_at`,
    /// `updated_at`, `title`, `likes`; default `-created_at`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        scope: Query<Option<ScopeName>>,
        parent_id: Query<Option<i64>>,
        sort: Query<Option<Sort<AlbumSort>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<Page<AlbumResponse>>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let scope = match Scope::from(scope.0) {
            Scope::Family => AlbumScope::Family,
            _ => AlbumScope::Mine,
        };
        let params = AlbumListParams {
            scope,
            parent: parent_id.0.map(|p| (p != 0).then_some(AlbumId(p))),
            sort: sort_or_alias(sort.0, req, (AlbumSort::CreatedAt, true))?,
            limit: paging.per_page,
            offset: paging.offset(),
        };
        Result::Ok(Envelope(
            album_page(&state, Viewer::User(auth.0), params, paging).await?,
        ))
    }

    /// An album with the first page of its photos (`page`/`per_page`/`sort` apply to them,
    /// sorted as `GET /photos`). Public albums need no login.
    #[oai(path = "/:id", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        id: Path<i64>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<AlbumDetailResponse>, NotFound> {
        let viewer = Viewer::from(auth.0);
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let album = state.sharing().get_album(viewer, AlbumId(id.0)).await?;
        let photos = album_photos(&state, viewer, id.0, paging, sort.0, req)
            .await?
            .0;
        Result::Ok(Envelope(AlbumDetailResponse {
            album: present_album(&state, album),
            photos,
        }))
    }

    /// Photos in the album the caller can see (trash left out), sorted as `GET /photos`.
    #[oai(path = "/:id/photos", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn photos(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        id: Path<i64>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>, NotFound> {
        let viewer = Viewer::from(auth.0);
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let page = album_photos(&state, viewer, id.0, paging, sort.0, req).await?;
        Result::Ok(Envelope(page))
    }

    /// Partial update (owner or admin; others who see the album get 403). Moving an album under
    /// itself or one of its descendants, or under an album that is not the owner's, is a 422.
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdateAlbumRequest>,
    ) -> Reply<Ok<AlbumResponse>, (Forbidden, NotFound)> {
        Result::Ok(update(&state, Viewer::User(auth.0), id.0, body.0).await?)
    }

    /// Same as PUT.
    #[oai(path = "/:id", method = "patch")]
    async fn patch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<UpdateAlbumRequest>,
    ) -> Reply<Ok<AlbumResponse>, (Forbidden, NotFound)> {
        Result::Ok(update(&state, Viewer::User(auth.0), id.0, body.0).await?)
    }

    /// Delete an album (owner or admin); its child albums move up to its parent. With
    /// `delete_photos=true` the caller's own photos in it go to the trash too.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        /// Also move the caller's own photos in it to the trash.
        delete_photos: Query<Option<bool>>,
    ) -> Reply<Empty, (Forbidden, NotFound)> {
        state
            .sharing()
            .delete_album(
                Viewer::User(auth.0),
                AlbumId(id.0),
                delete_photos.0.unwrap_or(false),
            )
            .await?;
        Result::Ok(empty())
    }

    /// Add the caller's photos (JSON `{photo_ids}`, alias `{image_id}`), or upload new ones
    /// straight into the album (multipart, as `POST /photos`: answers 201 like it). The album's
    /// owner adds to it; family members add to a family album (others who see it get 403).
    /// A photo that is not the caller's, in the trash or unknown is listed in `failed`.
    #[oai(path = "/:id/photos", method = "post")]
    async fn add_photos(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: AlbumPhotosBody,
    ) -> Reply<
        Either<Ok<AddPhotosResponse>, Created<UploadResponse>>,
        (Forbidden, NotFound, UnsupportedMedia, InsufficientStorage),
    > {
        match body {
            AlbumPhotosBody::Upload(upload) => {
                let done = receive_upload(&state, &auth.0, *upload, Some(AlbumId(id.0))).await?;
                Result::Ok(Either::Right(Envelope(done)))
            }
            AlbumPhotosBody::Ids(ids) => {
                let outcome = state
                    .members()
                    .add_to_album(Viewer::User(auth.0), AlbumId(id.0), ids.ids())
                    .await?;
                let failed = outcome
                    .failed
                    .into_iter()
                    .map(|(id, e)| {
                        let api = ApiError::from(e);
                        AddFailure {
                            id: id.get(),
                            error: UploadError {
                                kind: api.kind.to_string(),
                                message: api.message,
                            },
                        }
                    })
                    .collect();
                Result::Ok(Either::Left(Envelope(AddPhotosResponse {
                    added: outcome.added.into_iter().map(PhotoId::get).collect(),
                    already_present: outcome
                        .already_present
                        .into_iter()
                        .map(PhotoId::get)
                        .collect(),
                    failed,
                })))
            }
        }
    }

    /// Take photos out of the album (`{photo_ids}`); the photos themselves stay. The album's
    /// owner removes any photo, a contributor their own; photos not in the album are skipped.
    #[oai(path = "/:id/photos", method = "delete")]
    async fn remove_photos(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<PhotoIdsRequest>,
    ) -> Reply<Ok<RemovedResponse>, (Forbidden, NotFound)> {
        let removed = state
            .members()
            .remove_from_album(Viewer::User(auth.0), AlbumId(id.0), body.0.ids())
            .await?;
        Result::Ok(Envelope(RemovedResponse {
            removed: removed.len() as i64,
        }))
    }

    /// Choose the cover photo (owner or admin): a photo in the album, not in the trash, that
    /// the caller can see; any other `photo_id` is a 422.
    #[oai(path = "/:id/cover", method = "put")]
    async fn cover(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<CoverRequest>,
    ) -> Reply<Ok<AlbumResponse>, (Forbidden, NotFound)> {
        let album = state
            .sharing()
            .set_cover(
                Viewer::User(auth.0),
                AlbumId(id.0),
                PhotoId(body.0.photo_id),
            )
            .await?;
        Result::Ok(Envelope(present_album(&state, album)))
    }

    /// Share the album with the community (visibility `public`; owner or admin).
    #[oai(path = "/:id/share", method = "post")]
    async fn share(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Ok<AlbumResponse>, (Forbidden, NotFound)> {
        let album = state
            .sharing()
            .share_album(Viewer::User(auth.0), AlbumId(id.0), true)
            .await?;
        Result::Ok(Envelope(present_album(&state, album)))
    }

    /// Stop sharing (visibility `private`; owner or admin). The album stays.
    #[oai(path = "/:id/share", method = "delete")]
    async fn unshare(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Ok<AlbumResponse>, (Forbidden, NotFound)> {
        let album = state
            .sharing()
            .share_album(Viewer::User(auth.0), AlbumId(id.0), false)
            .await?;
        Result::Ok(Envelope(present_album(&state, album)))
    }

    /// Like an album the caller can see (idempotent).
    #[oai(path = "/:id/like", method = "post")]
    async fn like(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Ok<LikeResponse>, NotFound> {
        Result::Ok(like(&state, &auth, id.0, true).await?)
    }

    /// Take a like back (idempotent).
    #[oai(path = "/:id/like", method = "delete")]
    async fn unlike(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Ok<LikeResponse>, NotFound> {
        Result::Ok(like(&state, &auth, id.0, false).await?)
    }
}

async fn like(
    state: &AppState,
    auth: &BearerAuth,
    id: i64,
    liked: bool,
) -> ApiResult<Ok<LikeResponse>> {
    let (like_count, liked_by_me) = state
        .sharing()
        .like_album(&auth.0, AlbumId(id), liked)
        .await?;
    Result::Ok(Envelope(LikeResponse {
        like_count,
        liked_by_me,
    }))
}
