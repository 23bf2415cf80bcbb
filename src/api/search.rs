//! `/api/v1/search/photos` and `/api/v1/tags` (API.md §9).

use crate::db::ids::{AlbumId, UserId};
use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::types::ParseFromParameter;
use poem_openapi::{Enum, Object, OpenApi};

use super::envelope::{raw_query_value, Envelope, Ok, Pagination, Paging};
use super::error::ApiError;
use super::params::{Day, Limit, PageNumber, PerPage, ScopeName, Sort};
use super::photo_models::PhotoResponse;
use super::photos::{parse_sort, present};
use super::responses::{NotFound, Reply};
use super::security::BearerAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::Viewer;
use crate::search::SearchFilters;

#[derive(Debug, Object)]
pub struct NameCount {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Object)]
pub struct YearCount {
    pub year: i32,
    pub count: i64,
}

#[derive(Debug, Object)]
pub struct SearchFacets {
    /// Most used first (at most 20).
    pub tags: Vec<NameCount>,
    /// Newest first.
    pub years: Vec<YearCount>,
    /// Camera model (else make), most used first (at most 20).
    pub cameras: Vec<NameCount>,
}

#[derive(Debug, Object)]
pub struct SearchResponse {
    pub items: Vec<PhotoResponse>,
    pub pagination: Pagination,
    /// Over every matching photo, not only this page.
    pub facets: SearchFacets,
}

#[derive(Debug, Object)]
pub struct TagList {
    pub items: Vec<NameCount>,
}

#[derive(Debug, Object)]
pub struct CloudTag {
    pub name: String,
    pub count: i64,
    /// 100 for the most used tag, the others in proportion (at least 1).
    pub relative_size: i64,
}

#[derive(Debug, Object)]
pub struct TagCloud {
    pub items: Vec<CloudTag>,
}

/// A day parameter, else its alias in the raw query (checked the same way); `end` gives the
/// start of the next day, so both ends are inclusive.
fn day_or_alias(
    value: Option<Day>,
    req: &Request,
    alias: &str,
    end: bool,
) -> Result<Option<i64>, ApiError> {
    let day = match value {
        Some(day) => Some(day),
        None => match raw_query_value(req, &[alias]) {
            Some((key, text)) => Some(Day::parse_from_parameter(&text).map_err(|e| {
                ApiError::validation(StatusCode::BAD_REQUEST, &key, e.message(), "INVALID_FORMAT")
            })?),
            None => None,
        },
    };
    Result::Ok(day.map(|Day(date)| {
        let date = if end {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        date.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
    }))
}

/// The value of `q`, else of its alias `keywords`.
fn with_alias(value: Option<String>, req: &Request, alias: &str) -> Option<String> {
    value
        .or_else(|| raw_query_value(req, &[alias]).map(|(_, v)| v))
        .filter(|v| !v.trim().is_empty())
}

/// `sort` of `GET /tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TagSort {
    /// Most used first (the default).
    #[oai(rename = "-count")]
    CountDesc,
    /// Also most used first.
    #[oai(rename = "count")]
    Count,
    /// By name.
    #[oai(rename = "name")]
    Name,
}

fn name_counts(pairs: Vec<(String, i64)>) -> Vec<NameCount> {
    pairs
        .into_iter()
        .map(|(name, count)| NameCount { name, count })
        .collect()
}

pub struct SearchApi;

#[OpenApi(tag = "ApiTags::Search")]
impl SearchApi {
    /// Search the photos the caller can see (`scope=mine`, default, or `family`). Every filter
    /// combines with the others. `q` (alias `keywords`): each word must occur, case-insensitive,
    /// as part of the title, description, filename, tags, camera, lens or an album title; any
    /// script (Chinese too); FTS syntax characters are plain text. Paginated and sorted as
    /// `GET /photos`, plus `facets` over all matches. An `end_date` before `start_date` matches
    /// nothing; an `album_id` the caller cannot see is a 404.
    #[oai(path = "/search/photos", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn search_photos(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// Words to find (alias `keywords`).
        q: Query<Option<String>>,
        scope: Query<Option<ScopeName>>,
        /// Comma-separated; photos must have all of them.
        tags: Query<Option<String>>,
        uploader_id: Query<Option<i64>>,
        /// Inclusive, on `taken_at` else upload time, UTC (alias `date_from`).
        start_date: Query<Option<Day>>,
        /// Inclusive (alias `date_to`).
        end_date: Query<Option<Day>>,
        /// Part of the camera make or model.
        camera: Query<Option<String>>,
        /// Part of the lens name.
        lens: Query<Option<String>>,
        album_id: Query<Option<i64>>,
        has_location: Query<Option<bool>>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<SearchResponse>, NotFound> {
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let start = day_or_alias(start_date.0, req, "date_from", false)?;
        let end = day_or_alias(end_date.0, req, "date_to", true)?;
        let filters = SearchFilters {
            q: with_alias(q.0, req, "keywords"),
            tags: tags
                .0
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            uploader_id: uploader_id.0.map(UserId),
            start,
            end,
            camera: camera.0.filter(|c| !c.trim().is_empty()),
            lens: lens.0.filter(|l| !l.trim().is_empty()),
            has_location: has_location.0,
        };
        let list = ListParams {
            album_id: album_id.0.map(AlbumId),
            sort: parse_sort(sort.0, req)?,
            ..ListParams::page(Scope::from(scope.0), paging.per_page, paging.offset())
        };
        let (photos, total, facets) = state
            .search()
            .search_photos(Viewer::User(auth.0), list, filters)
            .await?;
        let items = photos.into_iter().map(|p| present(&state, p)).collect();
        let page = paging.page_of(items, total);
        Result::Ok(Envelope(SearchResponse {
            items: page.items,
            pagination: page.pagination,
            facets: SearchFacets {
                tags: name_counts(facets.tags),
                years: facets
                    .years
                    .into_iter()
                    .map(|(year, count)| YearCount { year, count })
                    .collect(),
                cameras: name_counts(facets.cameras),
            },
        }))
    }

    /// Tags on the caller's photos (trash left out) with photo counts, most used first (or by
    /// name with `sort=name`); `limit` default 100.
    #[oai(path = "/tags", method = "get")]
    async fn tags(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        sort: Query<Option<TagSort>>,
        limit: Query<Option<Limit>>,
    ) -> Reply<Ok<TagList>> {
        let by_name = sort.0 == Some(TagSort::Name);
        let limit = limit.0.map_or(100, |l| l.0);
        let items = state.search().tags(auth.0.user_id, by_name, limit).await?;
        Result::Ok(Envelope(TagList {
            items: name_counts(items),
        }))
    }

    /// The caller's tags starting with `q`, then those containing it (case-insensitive;
    /// default `limit` 10). Without `q`, the most used tags.
    #[oai(path = "/tags/suggestions", method = "get")]
    async fn suggestions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        q: Query<Option<String>>,
        limit: Query<Option<Limit>>,
    ) -> Reply<Ok<TagList>> {
        let text = q.0.unwrap_or_default().trim().to_string();
        let limit = limit.0.map_or(10, |l| l.0);
        let items = state
            .search()
            .suggestions(auth.0.user_id, text, limit)
            .await?;
        Result::Ok(Envelope(TagList {
            items: name_counts(items),
        }))
    }

    /// Tags used on at least `min_count` (default 1; less counts as 1) of the caller's photos,
    /// most used first (default `limit` 100), each with a size relative to the most used (100).
    #[oai(path = "/tags/cloud", method = "get")]
    async fn cloud(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        min_count: Query<Option<i64>>,
        limit: Query<Option<Limit>>,
    ) -> Reply<Ok<TagCloud>> {
        let min = min_count.0.unwrap_or(1).max(1);
        let limit = limit.0.map_or(100, |l| l.0);
        let items = state.search().cloud(auth.0.user_id, min, limit).await?;
        let top = items.first().map_or(1, |(_, n)| (*n).max(1));
        let items = items
            .into_iter()
            .map(|(name, count)| CloudTag {
                name,
                count,
                relative_size: ((count * 100 + top / 2) / top).clamp(1, 100),
            })
            .collect();
        Result::Ok(Envelope(TagCloud { items }))
    }
}
