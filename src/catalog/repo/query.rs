//! Typed photo queries turned into SQL: a listing (`ListParams`) always says whose photos it is
//! about (its scope), so the WHERE clause made here always carries the visibility of
//! `visibility.rs`; no caller passes SQL text, and none can forget a condition.

use crate::db::ids::{AlbumId, PhotoId, UserId};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::visibility::{album_visible_sql, family_scope_sql, photo_visible_sql};
use super::{attach_tags_and_albums, photo_columns, photo_from_row, photos_by_ids, FROM};
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::{Photo, Viewer};

/// A WHERE clause over `p` (a `photos` row) with its numbered parameters.
#[derive(Debug, Clone, Default)]
pub struct Where {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    /// Adds `sql` with every `?` in it bound to `value`, as the next numbered parameter.
    pub fn bind(&mut self, sql: &str, value: Value) {
        self.values.push(value);
        self.conditions
            .push(sql.replace('?', &format!("?{}", self.values.len())));
    }

    /// Adds a condition with no parameter.
    pub fn push(&mut self, sql: impl Into<String>) {
        self.conditions.push(sql.into());
    }

    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            "1".into()
        } else {
            self.conditions.join(" AND ")
        }
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// The WHERE clause of a listing: its scope (whose photos, as `viewer` may see them), trash or
/// live, and each filter.
pub fn conditions(viewer: Viewer, params: &ListParams) -> Where {
    let me = viewer.user_id().unwrap_or(UserId(-1));
    let mut w = Where::default();
    w.push(if params.trash {
        "p.deleted_at IS NOT NULL"
    } else {
        "p.deleted_at IS NULL"
    });
    w.push(match (params.scope, params.trash) {
        // The trash is only ever the caller's own.
        (_, true) | (Scope::Mine, false) => format!("p.owner_id = {me}"),
        (Scope::Family, false) => family_scope_sql(me),
        (Scope::Visible, false) => photo_visible_sql(viewer),
        (Scope::Public, false) => "p.visibility = 'public'".into(),
    });
    if let Some(album) = params.album_id {
        w.bind(
            "EXISTS (SELECT 1 FROM album_photos x WHERE x.album_id = ? AND x.photo_id = p.id)",
            Value::Integer(album.get()),
        );
    }
    if let Some(owner) = params.owner_id {
        w.bind("p.owner_id = ?", Value::Integer(owner.get()));
    }
    if let Some(tag) = params.tag.clone() {
        w.bind(
            "EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id AND t.name = ? COLLATE NOCASE)",
            Value::Text(tag),
        );
    }
    if let Some(favorite) = params.favorite {
        w.bind("p.is_favorite = ?", Value::Integer(favorite as i64));
    }
    if let Some(year) = params.year {
        w.bind(
            "CAST(strftime('%Y', coalesce(p.taken_at, p.created_at), 'unixepoch') AS INTEGER) = ?",
            Value::Integer(year.into()),
        );
    }
    if let Some(month) = params.month {
        w.bind(
            "CAST(strftime('%m', coalesce(p.taken_at, p.created_at), 'unixepoch') AS INTEGER) = ?",
            Value::Integer(month.into()),
        );
    }
    if let Some(visibility) = params.visibility {
        w.bind("p.visibility = ?", Value::Text(visibility.as_str().into()));
    }
    if let Some(status) = params.status {
        w.bind("p.status = ?", Value::Text(status.as_str().into()));
    }
    w
}

/// The value a sort key sorts on, over `p`.
pub fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::TakenAt => "coalesce(p.taken_at, p.created_at)",
        SortKey::CreatedAt => "p.created_at",
        SortKey::UpdatedAt => "p.updated_at",
        SortKey::Likes => "(SELECT count(*) FROM photo_likes l WHERE l.photo_id = p.id)",
        SortKey::Title => "coalesce(p.title, p.original_filename)",
        SortKey::Size => "p.size",
        SortKey::DeletedAt => "p.deleted_at",
    }
}

/// `COLLATE NOCASE` where the value is text, else nothing.
pub fn sort_collation(key: SortKey) -> &'static str {
    match key {
        SortKey::Title => " COLLATE NOCASE",
        _ => "",
    }
}

fn order_by((key, descending): (SortKey, bool)) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    format!(
        "{}{} {dir}, p.id {dir}",
        sort_column(key),
        sort_collation(key)
    )
}

/// One page of the photos `params` selects (with tags and albums) and how many match in all.
pub fn list_photos(
    conn: &Connection,
    viewer: Viewer,
    params: &ListParams,
) -> rusqlite::Result<(Vec<Photo>, i64)> {
    let w = conditions(viewer, params);
    let filter = w.sql();
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) {FROM} WHERE {filter}"),
        params_from_iter(w.values()),
        |r| r.get(0),
    )?;
    let sql = format!(
        "SELECT {} {FROM} WHERE {filter} ORDER BY {} LIMIT {} OFFSET {}",
        photo_columns(viewer.user_id()),
        order_by(params.sort),
        params.limit,
        params.offset
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut photos = stmt
        .query_map(params_from_iter(w.values()), photo_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_tags_and_albums(conn, viewer, &mut photos)?;
    Ok((photos, total))
}

/// Per year and month (newest first) of the photos `params` selects, on `taken_at` else
/// `created_at`: the count and the newest photo.
pub fn timeline(
    conn: &Connection,
    viewer: Viewer,
    params: &ListParams,
) -> rusqlite::Result<Vec<(i32, u32, i64, Photo)>> {
    let w = conditions(viewer, params);
    // SQLite takes the bare column `p.id` from the row that holds max(t).
    let sql = format!(
        "SELECT CAST(strftime('%Y', t, 'unixepoch') AS INTEGER) AS y,
                CAST(strftime('%m', t, 'unixepoch') AS INTEGER) AS m,
                count(*), id, max(t)
         FROM (SELECT p.id, coalesce(p.taken_at, p.created_at) AS t FROM photos p WHERE {})
         GROUP BY y, m ORDER BY y DESC, m DESC",
        w.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<(i32, u32, i64, PhotoId)> = stmt
        .query_map(params_from_iter(w.values()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let ids: Vec<PhotoId> = rows.iter().map(|r| r.3).collect();
    let mut covers: std::collections::HashMap<PhotoId, Photo> = photos_by_ids(conn, viewer, &ids)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(y, m, n, id)| covers.remove(&id).map(|p| (y, m, n, p)))
        .collect())
}

/// Whether album `id` exists and `viewer` may see it.
pub fn album_visible(conn: &Connection, viewer: Viewer, id: AlbumId) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM albums a WHERE a.id = ?1 AND {})",
            album_visible_sql(viewer)
        ),
        [id],
        |r| r.get(0),
    )
}
