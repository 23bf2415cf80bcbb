//! Search (API.md §9): words over the full-text index, every filter combinable, facets over the
//! whole result, and the tag lists. Visibility comes from the photo listing's own conditions,
//! so search never shows a photo the caller may not see.

pub mod query;
pub mod repo;

use crate::catalog::filter::ListParams;
use crate::catalog::Catalog;
use crate::catalog::{Photo, Viewer};
use crate::db::ids::UserId;
use crate::db::Db;
use crate::error::AppError;
use query::TextQuery;

/// Filters of `GET /search/photos` beyond those of the photo listing (scope, album, sort, page).
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub q: Option<String>,
    /// All of these tags (case-insensitive).
    pub tags: Vec<String>,
    pub uploader_id: Option<UserId>,
    /// Inclusive bounds in seconds on `taken_at`, else `created_at`: `[start, end)`.
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Substring of the camera make or model.
    pub camera: Option<String>,
    /// Substring of the lens.
    pub lens: Option<String>,
    pub has_location: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub tags: Vec<(String, i64)>,
    pub years: Vec<(i32, i64)>,
    pub cameras: Vec<(String, i64)>,
}

#[derive(Clone)]
pub struct Search {
    db: Db,
    catalog: Catalog,
}

impl Search {
    pub fn new(db: Db, catalog: Catalog) -> Self {
        Self { db, catalog }
    }

    /// One page of matching photos, the total, and facets over all of them.
    pub async fn search_photos(
        &self,
        viewer: Viewer,
        list: ListParams,
        filters: SearchFilters,
    ) -> Result<(Vec<Photo>, i64, Facets), AppError> {
        self.catalog
            .ensure_album_visible(viewer, list.album_id)
            .await?;
        let text = TextQuery::parse(filters.q.as_deref().unwrap_or(""));
        self.refresh_index().await?;
        self.db
            .run(move |conn| Ok(repo::search(conn, viewer, &list, &filters, &text)?))
            .await
    }

    /// Fills in the short-word grams of photos whose text changed (by the daemon or by any other
    /// SQLite client) since the last search; returns how many.
    pub async fn refresh_index(&self) -> Result<usize, AppError> {
        self.db
            .run(|conn| {
                if !repo::has_stale(conn)? {
                    return Ok(0);
                }
                let tx = crate::db::write_tx(conn)?;
                let n = repo::refresh_stale(&tx)?;
                tx.commit()?;
                Ok(n)
            })
            .await
    }

    /// Tags on the caller's live photos with the number of photos each: by count (most first)
    /// or by name.
    pub async fn tags(
        &self,
        owner: UserId,
        by_name: bool,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, AppError> {
        self.db
            .run(move |conn| Ok(repo::tag_counts(conn, owner, None, by_name, limit)?))
            .await
    }

    /// The caller's tags starting with `prefix`, then those containing it, most used first.
    pub async fn suggestions(
        &self,
        owner: UserId,
        text: String,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, AppError> {
        self.db
            .run(move |conn| Ok(repo::suggestions(conn, owner, &text, limit)?))
            .await
    }

    /// Tags used on at least `min_count` photos, most used first.
    pub async fn cloud(
        &self,
        owner: UserId,
        min_count: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, AppError> {
        self.db
            .run(move |conn| {
                Ok(repo::tag_counts(
                    conn,
                    owner,
                    Some(min_count),
                    false,
                    limit,
                )?)
            })
            .await
    }
}
