//! SQL of album membership: which photos are in which album.

use crate::db::ids::{AlbumId, PhotoId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

use crate::catalog::repo::visibility::{album_accepts_photos_sql, album_visible_sql};
use crate::catalog::Viewer;

/// Whether `viewer` may see album `id`, and may put photos into it (`(false, false)` when it
/// does not exist).
pub fn album_access(
    conn: &Connection,
    viewer: Viewer,
    id: AlbumId,
) -> rusqlite::Result<(bool, bool)> {
    conn.query_row(
        &format!(
            "SELECT {}, {} FROM albums a WHERE a.id = ?1",
            album_visible_sql(viewer),
            album_accepts_photos_sql(viewer)
        ),
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map(|found| found.unwrap_or((false, false)))
}

/// Puts a photo into an album; `false` when it was there already.
pub fn insert_member(
    conn: &Connection,
    album_id: AlbumId,
    photo_id: PhotoId,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "INSERT OR IGNORE INTO album_photos (album_id, photo_id, added_at) VALUES (?1, ?2, ?3)",
        params![album_id, photo_id, now],
    )?;
    Ok(changed == 1)
}

/// Owner and trash state of a photo, if it exists.
pub fn photo_owner(conn: &Connection, id: PhotoId) -> rusqlite::Result<Option<(UserId, bool)>> {
    conn.query_row(
        "SELECT owner_id, deleted_at IS NOT NULL FROM photos WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Takes `photos` out of album `album`: any photo when `viewer` owns the album or is an admin,
/// else only their own. Returns those that were in it.
pub fn remove_members(
    conn: &Connection,
    viewer: Viewer,
    album: AlbumId,
    photos: &[PhotoId],
) -> rusqlite::Result<Vec<PhotoId>> {
    let me = viewer.user_id().unwrap_or(UserId(-1));
    let manager: bool = conn.query_row(
        "SELECT owner_id = ?2 OR ?3 FROM albums WHERE id = ?1",
        params![album, me, viewer.is_admin()],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(
        "DELETE FROM album_photos WHERE album_id = ?1 AND photo_id = ?2
         AND (?3 OR photo_id IN (SELECT id FROM photos WHERE owner_id = ?4))",
    )?;
    let mut removed = Vec::new();
    for &id in photos {
        if stmt.execute(params![album, id, manager, me])? == 1 {
            removed.push(id);
        }
    }
    Ok(removed)
}

pub fn touch_album(conn: &Connection, album_id: AlbumId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE albums SET updated_at = ?2 WHERE id = ?1",
        params![album_id, now],
    )?;
    Ok(())
}
