//! SQL of the trash.

use crate::db::ids::{PhotoId, UserId};
use rusqlite::{params, Connection};

use crate::storage;

/// Moves a photo into the trash (`deleted_at` set) or out of it, with where its original is now.
pub fn set_trashed(
    conn: &Connection,
    id: PhotoId,
    deleted_at: Option<i64>,
    file: &storage::Location,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET deleted_at = ?2, file_kind = ?3, file_path = ?4, updated_at = ?5
         WHERE id = ?1",
        params![id, deleted_at, file.kind(), file.key(), now],
    )?;
    Ok(())
}

pub fn delete_photo(conn: &Connection, id: PhotoId) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM photos WHERE id = ?1", [id])? == 1)
}

/// Ids of trashed photos, of one owner or of everybody, deleted before `before`.
pub fn trashed_ids(
    conn: &Connection,
    owner_id: Option<UserId>,
    before: i64,
) -> rusqlite::Result<Vec<PhotoId>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM photos WHERE deleted_at IS NOT NULL AND deleted_at < ?2
         AND (?1 IS NULL OR owner_id = ?1) ORDER BY id",
    )?;
    let ids = stmt
        .query_map(params![owner_id, before], |r| r.get(0))?
        .collect();
    ids
}
