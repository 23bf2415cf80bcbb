//! Figures for `GET /stats` (API.md §11): per user, and for admins the whole system.

pub mod repo;

use crate::db::ids::UserId;
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

pub async fn for_user(db: &Db, user: UserId) -> Result<UserStats, AppError> {
    db.run(move |conn| Ok(repo::user_stats(conn, user)?)).await
}

pub async fn for_system(db: &Db, storage: &Storage) -> Result<SystemStats, AppError> {
    let mut stats = db.run(|conn| Ok(repo::system_stats(conn)?)).await?;
    stats.disk_free_bytes = storage.free_bytes()?;
    Ok(stats)
}
