//! SQL for albums and album likes.

use crate::db::ids::{AlbumId, PhotoId, UserId};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::Album;
use crate::catalog::repo::visibility::{
    album_family_scope_sql, album_visible_sql, photo_visible_sql,
};
use crate::catalog::{Viewer, Visibility};

/// Columns read by `album_from_row`; counts and cover are over what `viewer` may see.
fn album_select(viewer: Viewer) -> String {
    let me = viewer.user_id().unwrap_or(UserId(-1));
    let members = format!(
        "FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
         WHERE ap.album_id = a.id AND p.deleted_at IS NULL AND {}",
        photo_visible_sql(viewer)
    );
    format!(
        "SELECT a.id, a.owner_id, u.username, a.title, a.description, a.visibility, a.parent_id,
            coalesce((SELECT p.id {members} AND p.id = a.cover_photo_id),
                     (SELECT p.id {members}
                      ORDER BY coalesce(p.taken_at, p.created_at) DESC, p.id DESC LIMIT 1)),
            (SELECT count(*) {members}) AS photo_count,
            (SELECT count(*) FROM album_likes l WHERE l.album_id = a.id) AS like_count,
            EXISTS (SELECT 1 FROM album_likes l WHERE l.album_id = a.id AND l.user_id = {me}),
            a.created_at, a.updated_at
         FROM albums a JOIN users u ON u.id = a.owner_id"
    )
}

fn album_from_row(row: &Row<'_>) -> rusqlite::Result<Album> {
    let visibility: String = row.get(5)?;
    Ok(Album {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        owner_username: row.get(2)?,
        title: row.get(3)?,
        description: row.get(4)?,
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
        parent_id: row.get(6)?,
        cover_photo_id: row.get(7)?,
        cover_is_public: false,
        cover_key: None,
        photo_count: row.get(8)?,
        like_count: row.get(9)?,
        liked_by_me: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

/// Reads the storage key of each album's cover, and whether the cover is public itself.
fn mark_public_covers(conn: &Connection, albums: &mut [Album]) -> rusqlite::Result<()> {
    let ids: Vec<String> = albums
        .iter()
        .filter_map(|a| a.cover_photo_id)
        .map(|id| id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT id, uuid, visibility = 'public' FROM photos WHERE id IN ({})",
        ids.join(",")
    ))?;
    let covers: std::collections::HashMap<PhotoId, (String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    for album in albums {
        if let Some((key, public)) = album.cover_photo_id.and_then(|id| covers.get(&id)) {
            album.cover_key = Some(key.clone());
            album.cover_is_public = *public;
        }
    }
    Ok(())
}

/// One album, if `viewer` may see it.
pub fn find_album(
    conn: &Connection,
    id: AlbumId,
    viewer: Viewer,
) -> rusqlite::Result<Option<Album>> {
    let sql = format!(
        "{} WHERE a.id = ?1 AND {}",
        album_select(viewer),
        album_visible_sql(viewer)
    );
    let Some(album) = conn.query_row(&sql, [id], album_from_row).optional()? else {
        return Ok(None);
    };
    let mut albums = [album];
    mark_public_covers(conn, &mut albums)?;
    let [album] = albums;
    Ok(Some(album))
}

/// Which albums a listing covers, always among those the viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumScope {
    /// The viewer's own.
    Mine,
    /// The viewer's and those their family shares with them.
    Family,
    /// Public albums (the community feed).
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumSort {
    CreatedAt,
    UpdatedAt,
    Title,
    Likes,
}

impl AlbumSort {
    /// `created_at`, `-likes`, ...; `None` for an unknown field.
    pub fn parse(text: &str) -> Option<(AlbumSort, bool)> {
        let (field, descending) = crate::catalog::filter::split_sort(text);
        let key = match field {
            "created_at" => AlbumSort::CreatedAt,
            "updated_at" => AlbumSort::UpdatedAt,
            "title" => AlbumSort::Title,
            "likes" | "like_count" => AlbumSort::Likes,
            _ => return None,
        };
        Some((key, descending))
    }
}

fn order_by((key, descending): (AlbumSort, bool)) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let column = match key {
        AlbumSort::CreatedAt => "a.created_at",
        AlbumSort::UpdatedAt => "a.updated_at",
        AlbumSort::Title => "a.title COLLATE NOCASE",
        AlbumSort::Likes => "like_count",
    };
    format!("{column} {dir}, a.id {dir}")
}

#[derive(Debug, Clone)]
pub struct AlbumListParams {
    pub scope: AlbumScope,
    /// `Some(None)`: top-level albums only; `Some(Some(id))`: children of `id`.
    pub parent: Option<Option<AlbumId>>,
    pub sort: (AlbumSort, bool),
    pub limit: i64,
    pub offset: i64,
}

/// One page of the albums `params` selects among those `viewer` may see, and the total.
pub fn list_albums(
    conn: &Connection,
    viewer: Viewer,
    params: &AlbumListParams,
) -> rusqlite::Result<(Vec<Album>, i64)> {
    let me = viewer.user_id().unwrap_or(UserId(-1));
    let mut conditions = vec![album_visible_sql(viewer)];
    conditions.push(match params.scope {
        AlbumScope::Mine => format!("a.owner_id = {me}"),
        AlbumScope::Family => album_family_scope_sql(me),
        AlbumScope::Public => "a.visibility = 'public'".into(),
    });
    let parent = match params.parent {
        None => None,
        Some(None) => {
            conditions.push("a.parent_id IS NULL".into());
            None
        }
        Some(Some(parent)) => {
            conditions.push("a.parent_id = ?1".into());
            Some(parent)
        }
    };
    let condition = conditions.join(" AND ");
    let args = params_from_iter(parent);
    let total = conn.query_row(
        &format!("SELECT count(*) FROM albums a WHERE {condition}"),
        args.clone(),
        |r| r.get(0),
    )?;
    let sql = format!(
        "{} WHERE {condition} ORDER BY {} LIMIT {} OFFSET {}",
        album_select(viewer),
        order_by(params.sort),
        params.limit,
        params.offset
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut albums = stmt
        .query_map(args, album_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    mark_public_covers(conn, &mut albums)?;
    Ok((albums, total))
}

pub struct NewAlbum<'a> {
    pub owner_id: UserId,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub visibility: Visibility,
    pub parent_id: Option<AlbumId>,
}

pub fn insert_album(conn: &Connection, a: &NewAlbum<'_>, now: i64) -> rusqlite::Result<AlbumId> {
    conn.execute(
        "INSERT INTO albums (owner_id, title, description, visibility, parent_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            a.owner_id,
            a.title,
            a.description,
            a.visibility.as_str(),
            a.parent_id,
            now
        ],
    )?;
    Ok(AlbumId(conn.last_insert_rowid()))
}

/// Fields an album update may change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct AlbumChange {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    pub parent_id: Option<Option<AlbumId>>,
}

pub fn update_album(
    conn: &Connection,
    id: AlbumId,
    c: &AlbumChange,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE albums SET
            title = coalesce(?2, title),
            description = CASE WHEN ?3 THEN ?4 ELSE description END,
            visibility = coalesce(?5, visibility),
            parent_id = CASE WHEN ?6 THEN ?7 ELSE parent_id END,
            updated_at = ?8
         WHERE id = ?1",
        params![
            id,
            c.title,
            c.description.is_some(),
            c.description.clone().flatten(),
            c.visibility.map(Visibility::as_str),
            c.parent_id.is_some(),
            c.parent_id.flatten(),
            now
        ],
    )?;
    Ok(())
}

/// Owner of an album, if it exists.
pub fn album_owner(conn: &Connection, id: AlbumId) -> rusqlite::Result<Option<UserId>> {
    conn.query_row("SELECT owner_id FROM albums WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

/// `ancestor` is `id` itself or one of its parents, grandparents, ...
pub fn is_ancestor_or_self(
    conn: &Connection,
    ancestor: AlbumId,
    id: AlbumId,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "WITH RECURSIVE up(id) AS (
             SELECT ?2
             UNION SELECT a.parent_id FROM albums a JOIN up ON a.id = up.id WHERE a.parent_id IS NOT NULL
         )
         SELECT EXISTS (SELECT 1 FROM up WHERE id = ?1)",
        params![ancestor, id],
        |r| r.get(0),
    )
}

/// Deletes an album; its children move up to its parent.
pub fn delete_album(conn: &Connection, id: AlbumId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE albums SET parent_id = (SELECT parent_id FROM albums WHERE id = ?1), updated_at = ?2
         WHERE parent_id = ?1",
        params![id, now],
    )?;
    conn.execute("DELETE FROM albums WHERE id = ?1", [id])?;
    Ok(())
}

/// Live photos of `owner` in album `id`.
pub fn owned_live_photos(
    conn: &Connection,
    id: AlbumId,
    owner: UserId,
) -> rusqlite::Result<Vec<PhotoId>> {
    let mut stmt = conn.prepare(
        "SELECT p.id FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
         WHERE ap.album_id = ?1 AND p.owner_id = ?2 AND p.deleted_at IS NULL ORDER BY p.id",
    )?;
    let ids = stmt.query_map(params![id, owner], |r| r.get(0))?.collect();
    ids
}

/// Photo `photo` is in album `id`, not in trash, and `condition` (over `p`) holds for it.
/// Whether `photo` is a live photo of album `id` that `viewer` may see.
pub fn has_live_photo(
    conn: &Connection,
    id: AlbumId,
    photo: PhotoId,
    viewer: Viewer,
) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
             WHERE ap.album_id = ?1 AND p.id = ?2 AND p.deleted_at IS NULL AND {})",
            photo_visible_sql(viewer)
        ),
        params![id, photo],
        |r| r.get(0),
    )
}

pub fn set_cover(conn: &Connection, id: AlbumId, photo: PhotoId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE albums SET cover_photo_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, photo, now],
    )?;
    Ok(())
}

pub fn set_like(
    conn: &Connection,
    album: AlbumId,
    user: UserId,
    liked: bool,
    now: i64,
) -> rusqlite::Result<(i64, bool)> {
    if liked {
        conn.execute(
            "INSERT OR IGNORE INTO album_likes (album_id, user_id, created_at) VALUES (?1, ?2, ?3)",
            params![album, user, now],
        )?;
    } else {
        conn.execute(
            "DELETE FROM album_likes WHERE album_id = ?1 AND user_id = ?2",
            params![album, user],
        )?;
    }
    conn.query_row(
        "SELECT (SELECT count(*) FROM album_likes WHERE album_id = ?1),
                EXISTS (SELECT 1 FROM album_likes WHERE album_id = ?1 AND user_id = ?2)",
        params![album, user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The oldest album of `owner` titled `title` (case-insensitively) under `parent` (`None`: at
/// the top level).
pub fn find_by_title(
    conn: &Connection,
    owner: UserId,
    parent: Option<AlbumId>,
    title: &str,
) -> rusqlite::Result<Option<AlbumId>> {
    conn.query_row(
        "SELECT id FROM albums WHERE owner_id = ?1 AND parent_id IS ?2
         AND title = ?3 COLLATE NOCASE ORDER BY id LIMIT 1",
        params![owner, parent, title],
        |r| r.get(0),
    )
    .optional()
}
