//! SQL of the `uploads` table.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::Kind;
use crate::db::ids::{PhotoId, UserId};

/// An upload's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: UserId,
    pub kind: Kind,
    pub length: Option<u64>,
    pub durable_offset: u64,
    pub metadata: String,
    pub concat: Option<String>,
    /// Once finished: the photo, and whether the owner had it already.
    pub photo: Option<(PhotoId, bool)>,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, owner_id, kind, length, durable_offset, metadata, concat, photo_id, \
     duplicate, created_at, expires_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<UploadRow> {
    let kind: String = row.get(2)?;
    let photo = match row.get::<_, Option<PhotoId>>(7)? {
        Some(id) => Some((id, row.get::<_, bool>(8)?)),
        None => None,
    };
    Ok(UploadRow {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Single),
        length: row.get::<_, Option<i64>>(3)?.map(|n| n as u64),
        durable_offset: row.get::<_, i64>(4)? as u64,
        metadata: row.get(5)?,
        concat: row.get(6)?,
        photo,
        created_at: row.get(9)?,
        expires_at: row.get(10)?,
    })
}

pub fn insert(conn: &Connection, upload: &UploadRow) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO uploads ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            upload.id,
            upload.owner_id,
            upload.kind.as_str(),
            upload.length.map(|n| n as i64),
            upload.durable_offset as i64,
            upload.metadata,
            upload.concat,
            upload.photo.map(|(id, _)| id),
            upload.photo.is_some_and(|(_, duplicate)| duplicate),
            upload.created_at,
            upload.expires_at,
        ],
    )?;
    Ok(())
}

/// `owner`'s upload `id` while it has not expired at `now`.
pub fn find(
    conn: &Connection,
    id: &str,
    owner: UserId,
    now: i64,
) -> rusqlite::Result<Option<UploadRow>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM uploads WHERE id = ?1 AND owner_id = ?2 AND expires_at > ?3"
        ),
        params![id, owner, now],
        from_row,
    )
    .optional()
}

/// Every upload of `owner`, whatever its state (for deleting the account).
pub fn ids_of_owner(conn: &Connection, owner: UserId) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM uploads WHERE owner_id = ?1")?;
    let ids = stmt.query_map([owner], |r| r.get(0))?;
    ids.collect()
}

/// Unfinished uploads (single and partial) `owner` holds at `now`.
pub fn count_pending(conn: &Connection, owner: UserId, now: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM uploads
         WHERE owner_id = ?1 AND photo_id IS NULL AND kind != 'final' AND expires_at > ?2",
        params![owner, now],
        |r| r.get(0),
    )
}

/// Records that the first `offset` bytes are on disk (and moves the expiry on).
pub fn set_offset(
    conn: &Connection,
    id: &str,
    offset: u64,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE uploads SET durable_offset = ?2, expires_at = ?3
         WHERE id = ?1 AND photo_id IS NULL",
        params![id, offset as i64, expires_at],
    )?;
    Ok(())
}

/// Sets a deferred length.
pub fn set_length(conn: &Connection, id: &str, length: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE uploads SET length = ?2 WHERE id = ?1 AND length IS NULL",
        params![id, length as i64],
    )?;
    Ok(())
}

/// Records the photo a finished upload became; it is kept (for `HEAD`) until `expires_at`.
pub fn finish(
    conn: &Connection,
    id: &str,
    length: u64,
    photo: (PhotoId, bool),
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE uploads SET length = ?2, durable_offset = ?2, photo_id = ?3, duplicate = ?4,
             expires_at = ?5
         WHERE id = ?1",
        params![id, length as i64, photo.0, photo.1, expires_at],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM uploads WHERE id = ?1", [id])? > 0)
}

/// Uploads that expired before `now`.
pub fn expired(conn: &Connection, now: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM uploads WHERE expires_at <= ?1")?;
    let ids = stmt.query_map([now], |r| r.get(0))?;
    ids.collect()
}

/// Whether upload `id` has a row whose bytes belong in `uploads/` (an unfinished one).
pub fn is_unfinished(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM uploads WHERE id = ?1 AND photo_id IS NULL AND kind != 'final'",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}
