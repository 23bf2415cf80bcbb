//! `/api/v1/timeline`: photos by year and month on `taken_at`, else `created_at`.

use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi};

use super::envelope::{Envelope, Ok, Paging};
use super::params::{Month, PageNumber, PerPage, ScopeName, Sort, Year};
use super::photo_models::{PhotoPage, PhotoResponse};
use super::photos::{parse_sort, photo_page, present};
use super::responses::Reply;
use super::security::BearerAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::Viewer;

#[derive(Debug, Object)]
pub struct TimelineMonth {
    pub month: u32,
    pub count: i64,
    /// The month's newest photo.
    pub cover: PhotoResponse,
}

#[derive(Debug, Object)]
pub struct TimelineYear {
    pub year: i32,
    pub count: i64,
    /// Newest first.
    pub months: Vec<TimelineMonth>,
}

#[derive(Debug, Object)]
pub struct TimelineResponse {
    /// Newest first.
    pub years: Vec<TimelineYear>,
}

pub struct TimelineApi;

#[OpenApi(prefix_path = "/timeline", tag = "ApiTags::Timeline")]
impl TimelineApi {
    /// Photo counts per year and month (UTC) with a cover photo each; `year` narrows to one
    /// year; `scope=family` counts what the caller sees through the family.
    #[oai(path = "/", method = "get")]
    async fn years(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only this year.
        year: Query<Option<i32>>,
        scope: Query<Option<ScopeName>>,
    ) -> Reply<Ok<TimelineResponse>> {
        let params = ListParams {
            year: year.0,
            ..ListParams::page(Scope::from(scope.0), 1, 0)
        };
        let years = state
            .catalog()
            .timeline(Viewer::User(auth.0), params)
            .await?;
        let years = years
            .into_iter()
            .map(|y| TimelineYear {
                year: y.year,
                count: y.count,
                months: y
                    .months
                    .into_iter()
                    .map(|m| TimelineMonth {
                        month: m.month,
                        count: m.count,
                        cover: present(&state, m.cover),
                    })
                    .collect(),
            })
            .collect();
        Result::Ok(Envelope(TimelineResponse { years }))
    }

    /// The photos of one month, paginated, sorted as `GET /photos` (default `-taken_at`).
    #[oai(path = "/:year/:month", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn month(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        year: Path<Year>,
        month: Path<Month>,
        scope: Query<Option<ScopeName>>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = ListParams {
            year: Some(year.0 .0 as i32),
            month: Some(month.0 .0 as u32),
            sort: parse_sort(sort.0, req)?,
            ..ListParams::page(Scope::from(scope.0), paging.per_page, paging.offset())
        };
        Result::Ok(Envelope(
            photo_page(&state, Viewer::User(auth.0), params, paging).await?,
        ))
    }
}
