//! `/api/v1/community` (public): albums and photos shared with everyone.

use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

use super::album_models::AlbumResponse;
use super::albums::{album_page, parse_album_sort};
use super::envelope::{raw_query_value, Envelope, Ok, Page, Paging};
use super::error::ApiError;
use super::photo_models::PhotoPage;
use super::photos::photo_page;
use super::security::OptionalAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::photos::library::{ListParams, Scope, SortKey};
use crate::photos::Viewer;
use crate::sharing::albums::{AlbumListParams, AlbumScope, AlbumSort};

type Result<T> = std::result::Result<T, ApiError>;

/// Sorts of the public photo feed: newest, most liked, recently updated (and the photo sorts).
fn photo_feed_sort(sort: Option<String>, req: &Request) -> Result<(SortKey, bool)> {
    let text = sort.or_else(|| raw_query_value(req, &["ordering"]).map(|(_, v)| v));
    match text {
        None => Result::Ok((SortKey::CreatedAt, true)),
        Some(t) => SortKey::parse(t.trim()).ok_or_else(|| {
            ApiError::validation(
                StatusCode::BAD_REQUEST,
                "sort",
                "must be created_at, likes or updated_at (also taken_at, title, size), optionally with -",
                "INVALID_VALUE",
            )
        }),
    }
}

pub struct CommunityApi;

#[OpenApi(prefix_path = "/community", tag = "ApiTags::Community")]
impl CommunityApi {
    /// Public albums, no login needed. Sort: `-created_at` (default), `-likes`, `-updated_at`
    /// (also ascending, and `title`).
    #[oai(path = "/albums", method = "get")]
    async fn albums(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        sort: Query<Option<String>>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<Ok<Page<AlbumResponse>>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = AlbumListParams {
            scope: AlbumScope::Public,
            parent: None,
            sort: parse_album_sort(sort.0, req, (AlbumSort::CreatedAt, true))?,
            limit: paging.per_page,
            offset: paging.offset(),
        };
        Result::Ok(Envelope(
            album_page(&state, Viewer::from(auth.0), params, paging).await?,
        ))
    }

    /// Public photos, no login needed. Photos that are only inside a public album are seen
    /// through the album (`GET /albums/{id}/photos`). Sort: `-created_at` (default), `-likes`,
    /// `-updated_at` (also ascending, and the sorts of `GET /photos`).
    #[oai(path = "/photos", method = "get")]
    async fn photos(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        sort: Query<Option<String>>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = ListParams {
            sort: photo_feed_sort(sort.0, req)?,
            ..ListParams::page(Scope::Public, paging.per_page, paging.offset())
        };
        Result::Ok(Envelope(
            photo_page(&state, Viewer::from(auth.0), params, paging).await?,
        ))
    }
}
