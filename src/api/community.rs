//! `/api/v1/community` (public): albums and photos shared with everyone.

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

use super::album_models::AlbumResponse;
use super::albums::album_page;
use super::envelope::{Envelope, Ok, Page, Paging};
use super::params::{PageNumber, PerPage, Sort};
use super::photo_models::PhotoPage;
use super::photos::{photo_page, sort_or_alias};
use super::responses::Reply;
use super::security::OptionalAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::Viewer;
use crate::sharing::albums::{AlbumListParams, AlbumScope, AlbumSort};

pub struct CommunityApi;

#[OpenApi(prefix_path = "/community", tag = "ApiTags::Community")]
impl CommunityApi {
    /// Public albums, no login needed. Sort (alias `ordering`): `-created_at` (default),
    /// `-likes`, `-updated_at` (also ascending, and `title`).
    #[oai(path = "/albums", method = "get")]
    async fn albums(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        sort: Query<Option<Sort<AlbumSort>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<Page<AlbumResponse>>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = AlbumListParams {
            scope: AlbumScope::Public,
            parent: None,
            sort: sort_or_alias(sort.0, req, (AlbumSort::CreatedAt, true))?,
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
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = ListParams {
            sort: sort_or_alias(sort.0, req, (SortKey::CreatedAt, true))?,
            ..ListParams::page(Scope::Public, paging.per_page, paging.offset())
        };
        Result::Ok(Envelope(
            photo_page(&state, Viewer::from(auth.0), params, paging).await?,
        ))
    }
}
