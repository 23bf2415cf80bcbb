//! SQL for facets and tag lists.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use super::query::escape_like;
use super::Facets;
use crate::photos::repo::{self as photo_repo, PhotoQuery};
use crate::photos::{Photo, Viewer};

/// Most values listed per facet.
const FACET_LIMIT: i64 = 20;

/// One page of the photos matching `filter` (over `p`, with `values`), the total and the
/// facets. The matches are found once, into a temporary table that the page, the count and the
/// facets then read, instead of running the full-text query five times.
pub fn search(
    conn: &Connection,
    viewer: Viewer,
    filter: &str,
    values: &[Value],
    order_by: String,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Photo>, i64, Facets)> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS search_hits (id INTEGER PRIMARY KEY);
         DELETE FROM temp.search_hits;",
    )?;
    let found = conn.execute(
        &format!("INSERT INTO temp.search_hits (id) SELECT p.id FROM photos p WHERE {filter}"),
        params_from_iter(values.iter()),
    )? as i64;
    let hits = "p.id IN (SELECT id FROM temp.search_hits)";
    let result = (|| {
        let query = PhotoQuery {
            conditions: vec![hits.to_string()],
            params: Vec::new(),
            order_by,
            limit,
            offset,
        };
        let (photos, _) = photo_repo::list_photos(conn, viewer, &query)?;
        let facets = if found == 0 {
            Facets::default()
        } else {
            facets(conn, hits, &[], FACET_LIMIT)?
        };
        Ok((photos, found, facets))
    })();
    conn.execute("DELETE FROM temp.search_hits", [])?;
    result
}

/// Facets over every photo matching `filter` (a WHERE clause over `p` with `values`).
fn facets(
    conn: &Connection,
    filter: &str,
    values: &[Value],
    limit: i64,
) -> rusqlite::Result<Facets> {
    let matching = format!("SELECT p.id FROM photos p WHERE {filter}");
    let pairs = |sql: &str| -> rusqlite::Result<Vec<(Value, i64)>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(params_from_iter(values.iter()), |r| {
            Ok((r.get::<_, Value>(0)?, r.get(1)?))
        })?;
        rows.collect()
    };
    let text = |v: Value| match v {
        Value::Text(t) => t,
        _ => String::new(),
    };
    let tags = pairs(&format!(
        "SELECT min(t.name), count(DISTINCT t.photo_id) AS n FROM photo_tags t
         WHERE t.photo_id IN ({matching})
         GROUP BY t.name COLLATE NOCASE ORDER BY n DESC, 1 COLLATE NOCASE LIMIT {limit}"
    ))?;
    let years = pairs(&format!(
        "SELECT CAST(strftime('%Y', coalesce(p.taken_at, p.created_at), 'unixepoch') AS INTEGER) AS y,
                count(*) FROM photos p WHERE {filter} GROUP BY y ORDER BY y DESC"
    ))?;
    let cameras = pairs(&format!(
        "SELECT min(coalesce(p.camera_model, p.camera_make)) AS c, count(*) AS n FROM photos p
         WHERE {filter} AND coalesce(p.camera_model, p.camera_make) IS NOT NULL
         GROUP BY coalesce(p.camera_model, p.camera_make) COLLATE NOCASE
         ORDER BY n DESC, 1 COLLATE NOCASE LIMIT {limit}"
    ))?;
    Ok(Facets {
        tags: tags.into_iter().map(|(n, c)| (text(n), c)).collect(),
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
    owner: i64,
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
    owner: i64,
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
