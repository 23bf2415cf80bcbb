//! Figures for `GET /stats` (API.md §11): per user, and for admins the whole system.

use rusqlite::Connection;

use crate::db::Db;
use crate::error::AppError;
use crate::storage::Storage;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserStats {
    /// Photos not in trash.
    pub photos: i64,
    /// Albums the user owns.
    pub albums: i64,
    /// Distinct tag names on the user's photos (not in trash).
    pub tags: i64,
    /// Bytes of the user's originals not in trash.
    pub storage_used_bytes: i64,
    /// Bytes of the user's originals in trash.
    pub trash_bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemStats {
    pub users: i64,
    /// Photos not in trash, of every user.
    pub photos: i64,
    /// Bytes of every original on disk, trash included.
    pub storage_used_bytes: i64,
    pub disk_free_bytes: u64,
    /// Jobs waiting or running.
    pub jobs_pending: i64,
    pub jobs_failed: i64,
    /// Originals not yet mirrored (0 while mirroring is off).
    pub mirror_pending: i64,
}

fn user_stats(conn: &Connection, user: i64) -> rusqlite::Result<UserStats> {
    conn.query_row(
        "SELECT
            (SELECT count(*) FROM photos WHERE owner_id = ?1 AND deleted_at IS NULL),
            (SELECT count(*) FROM albums WHERE owner_id = ?1),
            (SELECT count(DISTINCT lower(t.name)) FROM photo_tags t JOIN photos p ON p.id = t.photo_id
             WHERE p.owner_id = ?1 AND p.deleted_at IS NULL),
            (SELECT coalesce(sum(size), 0) FROM photos WHERE owner_id = ?1 AND deleted_at IS NULL),
            (SELECT coalesce(sum(size), 0) FROM photos WHERE owner_id = ?1 AND deleted_at IS NOT NULL)",
        [user],
        |r| {
            Ok(UserStats {
                photos: r.get(0)?,
                albums: r.get(1)?,
                tags: r.get(2)?,
                storage_used_bytes: r.get(3)?,
                trash_bytes: r.get(4)?,
            })
        },
    )
}

fn system_stats(conn: &Connection) -> rusqlite::Result<SystemStats> {
    conn.query_row(
        "SELECT
            (SELECT count(*) FROM users),
            (SELECT count(*) FROM photos WHERE deleted_at IS NULL),
            (SELECT coalesce(sum(size), 0) FROM photos),
            (SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')),
            (SELECT count(*) FROM jobs WHERE state = 'failed')",
        [],
        |r| {
            Ok(SystemStats {
                users: r.get(0)?,
                photos: r.get(1)?,
                storage_used_bytes: r.get(2)?,
                jobs_pending: r.get(3)?,
                jobs_failed: r.get(4)?,
                ..Default::default()
            })
        },
    )
}

pub async fn for_user(db: &Db, user: i64) -> Result<UserStats, AppError> {
    db.run(move |conn| Ok(user_stats(conn, user)?)).await
}

pub async fn for_system(db: &Db, storage: &Storage) -> Result<SystemStats, AppError> {
    let mut stats = db.run(|conn| Ok(system_stats(conn)?)).await?;
    stats.disk_free_bytes = storage.free_bytes()?;
    Ok(stats)
}
