//! SQL of the statistics.

use rusqlite::Connection;

use super::{SystemStats, UserStats};
use crate::db::ids::UserId;

pub fn user_stats(conn: &Connection, user: UserId) -> rusqlite::Result<UserStats> {
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

pub fn system_stats(conn: &Connection) -> rusqlite::Result<SystemStats> {
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
