//! Search (API.md §9): words over the full-text index, every filter combinable, facets over the
//! whole result, and the tag lists. Visibility comes from the photo listing's own conditions,
//! so search never shows a photo the caller may not see.

pub mod query;
pub mod repo;

use rusqlite::types::Value;

use crate::catalog::filter::ListParams;
use crate::catalog::repo::bind;
use crate::catalog::Catalog;
use crate::catalog::{Photo, Viewer};
use crate::db::Db;
use crate::error::AppError;
use query::{escape_like, TextQuery};

/// Filters of `GET /search/photos` beyond those of the photo listing (scope, album, sort, page).
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub q: Option<String>,
    /// All of these tags (case-insensitive).
    pub tags: Vec<String>,
    pub uploader_id: Option<i64>,
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
        let (mut conditions, mut values) = self.catalog.photo_filter(viewer, &list).await?;
        let text = TextQuery::parse(filters.q.as_deref().unwrap_or(""));
        if let Some(fts) = text.fts_match {
            bind(
                &mut conditions,
                &mut values,
                "p.id IN (SELECT rowid FROM photo_search WHERE photo_search MATCH ?)",
                Value::Text(fts),
            );
        }
        for pattern in text.like_patterns {
            bind(
                &mut conditions,
                &mut values,
                "p.id IN (SELECT rowid FROM photo_search WHERE body LIKE ? ESCAPE '\\')",
                Value::Text(pattern),
            );
        }
        for tag in filters.tags {
            bind(
                &mut conditions,
                &mut values,
                "EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id AND t.name = ? COLLATE NOCASE)",
                Value::Text(tag),
            );
        }
        if let Some(uploader) = filters.uploader_id {
            bind(
                &mut conditions,
                &mut values,
                "p.owner_id = ?",
                Value::Integer(uploader),
            );
        }
        if let Some(start) = filters.start {
            bind(
                &mut conditions,
                &mut values,
                "coalesce(p.taken_at, p.created_at) >= ?",
                Value::Integer(start),
            );
        }
        if let Some(end) = filters.end {
            bind(
                &mut conditions,
                &mut values,
                "coalesce(p.taken_at, p.created_at) < ?",
                Value::Integer(end),
            );
        }
        if let Some(camera) = filters.camera {
            // One parameter, used by both LIKEs.
            values.push(Value::Text(format!("%{}%", escape_like(&camera))));
            let n = values.len();
            conditions.push(format!(
                "(p.camera_make LIKE ?{n} ESCAPE '\\' OR p.camera_model LIKE ?{n} ESCAPE '\\')"
            ));
        }
        if let Some(lens) = filters.lens {
            bind(
                &mut conditions,
                &mut values,
                "p.lens LIKE ? ESCAPE '\\'",
                Value::Text(format!("%{}%", escape_like(&lens))),
            );
        }
        if let Some(has) = filters.has_location {
            conditions.push(if has {
                "p.latitude IS NOT NULL".into()
            } else {
                "p.latitude IS NULL".into()
            });
        }
        self.refresh_index().await?;
        let filter = conditions.join(" AND ");
        let page = repo::Page {
            sort: list.sort,
            limit: list.limit,
            offset: list.offset,
        };
        self.db
            .run(move |conn| Ok(repo::search(conn, viewer, &filter, &values, page)?))
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
        owner: i64,
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
        owner: i64,
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
        owner: i64,
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
