//! SQL of search: the typed filters and words turned into a WHERE clause (over the catalog's
//! own, which carries who may see what), the matches, facets and tag lists.

use crate::db::ids::{PhotoId, UserId};
use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use super::query::{escape_like, TextQuery};
use super::{Facets, SearchFilters};
use crate::catalog::filter::ListParams;
use crate::catalog::repo as photo_repo;
use crate::catalog::repo::query::{self, Where};
use crate::catalog::{Photo, Viewer};
use crate::db::grams::short_grams;

/// Most values listed per facet.
const FACET_LIMIT: i64 = 20;

/// The photos `list` and `filters` select, as `viewer` may see them, that contain every word of
/// `text`: the WHERE clause over `p`.
fn conditions(
    viewer: Viewer,
    list: &ListParams,
    filters: &SearchFilters,
    text: &TextQuery,
) -> Where {
    let mut w = query::conditions(viewer, list);
    if let Some(fts) = &text.fts_match {
        w.bind(
            "p.id IN (SELECT rowid FROM photo_search WHERE photo_search MATCH ?)",
            Value::Text(fts.clone()),
        );
    }
    for pattern in &text.like_patterns {
        w.bind(
            "p.id IN (SELECT rowid FROM photo_search WHERE body LIKE ? ESCAPE '\\')",
            Value::Text(pattern.clone()),
        );
    }
    for tag in &filters.tags {
        w.bind(
            "EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id AND t.name = ? COLLATE NOCASE)",
            Value::Text(tag.clone()),
        );
    }
    if let Some(uploader) = filters.uploader_id {
        w.bind("p.owner_id = ?", Value::Integer(uploader.get()));
    }
    if let Some(start) = filters.start {
        w.bind(
            "coalesce(p.taken_at, p.created_at) >= ?",
            Value::Integer(start),
        );
    }
    if let Some(end) = filters.end {
        w.bind(
            "coalesce(p.taken_at, p.created_at) < ?",
            Value::Integer(end),
        );
    }
    if let Some(camera) = &filters.camera {
        w.bind(
            "(p.camera_make LIKE ? ESCAPE '\\' OR p.camera_model LIKE ? ESCAPE '\\')",
            Value::Text(format!("%{}%", escape_like(camera))),
        );
    }
    if let Some(lens) = &filters.lens {
        w.bind(
            "p.lens LIKE ? ESCAPE '\\'",
            Value::Text(format!("%{}%", escape_like(lens))),
        );
    }
    match filters.has_location {
        Some(true) => w.push("p.latitude IS NOT NULL"),
        Some(false) => w.push("p.latitude IS NULL"),
        None => {}
    }
    w
}

/// One page of the photos that `list`, `filters` and `text` select, the total and the facets.
/// The matches are found once, into a temporary table with their sort key, time and camera;
/// the page, the count and the facets read only that table (and the tags), instead of running
/// the full-text query and visiting every matching photo five times.
pub fn search(
    conn: &Connection,
    viewer: Viewer,
    list: &ListParams,
    filters: &SearchFilters,
    text: &TextQuery,
) -> rusqlite::Result<(Vec<Photo>, i64, Facets)> {
    let w = conditions(viewer, list, filters, text);
    let filter = w.sql();
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS search_hits
             (id INTEGER PRIMARY KEY, k, t INTEGER, camera TEXT, tags TEXT);
         DELETE FROM temp.search_hits;",
    )?;
    let (key, descending) = list.sort;
    let found = conn.execute(
        &format!(
            "INSERT INTO temp.search_hits (id, k, t, camera, tags)
             SELECT p.id, {}, coalesce(p.taken_at, p.created_at),
                    coalesce(p.camera_model, p.camera_make), p.tag_names
             FROM photos p WHERE {filter}",
            query::sort_column(key)
        ),
        params_from_iter(w.values()),
    )? as i64;
    let result = (|| {
        let dir = if descending { "DESC" } else { "ASC" };
        let mut stmt = conn.prepare(&format!(
            "SELECT id FROM temp.search_hits ORDER BY k{} {dir}, id {dir} LIMIT ?1 OFFSET ?2",
            query::sort_collation(key)
        ))?;
        let ids: Vec<PhotoId> = stmt
            .query_map(params![list.limit, list.offset], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let photos = photo_repo::photos_by_ids(conn, viewer, &ids)?;
        let facets = if found == 0 {
            Facets::default()
        } else {
            facets(conn)?
        };
        Ok((photos, found, facets))
    })();
    conn.execute("DELETE FROM temp.search_hits", [])?;
    result
}

/// The most used tags among the matches (case-insensitive; a photo counts once per tag), from
/// the tag names each match carries.
fn tag_facet(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut counts: HashMap<String, (String, i64)> = HashMap::new();
    let mut stmt = conn.prepare("SELECT tags FROM temp.search_hits WHERE tags <> ''")?;
    let mut rows = stmt.query([])?;
    let mut seen = Vec::new();
    while let Some(row) = rows.next()? {
        let tags = row.get_ref(0)?.as_str().unwrap_or("");
        seen.clear();
        for name in tags.split('\u{1f}') {
            let key = name.to_lowercase();
            if seen.contains(&key) {
                continue;
            }
            let entry = counts
                .entry(key.clone())
                .or_insert_with(|| (name.to_string(), 0));
            entry.1 += 1;
            // The same name as min(name) would pick among its spellings.
            if name < entry.0.as_str() {
                entry.0 = name.to_string();
            }
            seen.push(key);
        }
    }
    let mut tags: Vec<(String, i64)> = counts.into_values().collect();
    tags.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
    });
    tags.truncate(FACET_LIMIT as usize);
    Ok(tags)
}

/// Facets over the matches in `temp.search_hits`.
fn facets(conn: &Connection) -> rusqlite::Result<Facets> {
    let pairs = |sql: &str| -> rusqlite::Result<Vec<(Value, i64)>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, Value>(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let text = |v: Value| match v {
        Value::Text(t) => t,
        _ => String::new(),
    };
    let tags = tag_facet(conn)?;
    let years = pairs(
        "SELECT CAST(strftime('%Y', t, 'unixepoch') AS INTEGER) AS y, count(*)
         FROM temp.search_hits GROUP BY y ORDER BY y DESC",
    )?;
    let cameras = pairs(&format!(
        "SELECT min(camera), count(*) AS n FROM temp.search_hits WHERE camera IS NOT NULL
         GROUP BY camera COLLATE NOCASE ORDER BY n DESC, 1 COLLATE NOCASE LIMIT {FACET_LIMIT}"
    ))?;
    Ok(Facets {
        tags,
        years: years
            .into_iter()
            .map(|(y, c)| {
                let year = match y {
                    Value::Integer(y) => y as i32,
                    _ => 0,
                };
                (year, c)
            })
            .collect(),
        cameras: cameras.into_iter().map(|(n, c)| (text(n), c)).collect(),
    })
}

/// Tags on `owner`'s live photos with photo counts; `min_count` drops rare ones.
pub fn tag_counts(
    conn: &Connection,
    owner: UserId,
    min_count: Option<i64>,
    by_name: bool,
    limit: i64,
) -> rusqlite::Result<Vec<(String, i64)>> {
    let order = if by_name {
        "1 COLLATE NOCASE, n DESC"
    } else {
        "n DESC, 1 COLLATE NOCASE"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT min(t.name), count(DISTINCT t.photo_id) AS n
         FROM photo_tags t JOIN photos p ON p.id = t.photo_id
         WHERE p.owner_id = ?1 AND p.deleted_at IS NULL
         GROUP BY t.name COLLATE NOCASE HAVING n >= ?2 ORDER BY {order} LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![owner, min_count.unwrap_or(1), limit], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// `owner`'s tags starting with `text` first, then those containing it; most used first within
/// each group.
pub fn suggestions(
    conn: &Connection,
    owner: UserId,
    text: &str,
    limit: i64,
) -> rusqlite::Result<Vec<(String, i64)>> {
    let escaped = escape_like(text);
    let mut stmt = conn.prepare(
        "SELECT min(t.name), count(DISTINCT t.photo_id) AS n,
                max(t.name LIKE ?2 ESCAPE '\\') AS prefix
         FROM photo_tags t JOIN photos p ON p.id = t.photo_id
         WHERE p.owner_id = ?1 AND p.deleted_at IS NULL AND t.name LIKE ?3 ESCAPE '\\'
         GROUP BY t.name COLLATE NOCASE
         ORDER BY prefix DESC, n DESC, 1 COLLATE NOCASE LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![owner, format!("{escaped}%"), format!("%{escaped}%"), limit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    rows.collect()
}

/// Whether photos wait for their `grams` (see migrations/V6).
pub fn has_stale(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM search_stale)")?
        .query_row([], |r| r.get(0))
}

/// Fills in `grams` for every photo listed in `search_stale` from its indexed text, and takes
/// it off the list; returns how many. Runs in the caller's transaction.
pub fn refresh_stale(conn: &Connection) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare(
        "SELECT s.photo_id, f.body FROM search_stale s
         LEFT JOIN photo_search f ON f.rowid = s.photo_id",
    )?;
    let stale: Vec<(PhotoId, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE photo_search SET grams = ?2 WHERE rowid = ?1")?;
    let mut forget = conn.prepare("DELETE FROM search_stale WHERE photo_id = ?1")?;
    for (id, body) in &stale {
        if let Some(body) = body {
            update.execute(params![id, short_grams(body)])?;
        }
        forget.execute([id])?;
    }
    Ok(stale.len())
}
