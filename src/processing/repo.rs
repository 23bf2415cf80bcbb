//! SQL of photo steps (`photo_steps`): what happened to each photo after it arrived.

use crate::db::ids::PhotoId;
use rusqlite::{params, Connection};

use crate::catalog::Step;

/// Records how a step stands; nothing when the photo is gone (purged while its job ran).
pub fn set_step(
    conn: &Connection,
    photo_id: PhotoId,
    name: &str,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO photo_steps (photo_id, name, status, error, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?1)
         ON CONFLICT (photo_id, name) DO UPDATE SET status = ?3, error = ?4, updated_at = ?5",
        params![photo_id, name, status, error, now],
    )?;
    Ok(())
}

/// Marks a step pending (its job just queued) and records whether it counts toward the
/// photo's status.
pub fn queue_step(
    conn: &Connection,
    photo_id: PhotoId,
    name: &str,
    counts_toward_status: bool,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO photo_steps (photo_id, name, status, error, updated_at, counts_toward_status)
         VALUES (?1, ?2, 'pending', NULL, ?3, ?4)
         ON CONFLICT (photo_id, name) DO UPDATE SET status = 'pending', error = NULL,
             updated_at = ?3, counts_toward_status = ?4",
        params![photo_id, name, now, counts_toward_status],
    )?;
    Ok(())
}

pub fn steps(conn: &Connection, photo_id: PhotoId) -> rusqlite::Result<Vec<Step>> {
    let mut stmt = conn.prepare(
        "SELECT name, status, error, counts_toward_status FROM photo_steps WHERE photo_id = ?1
         ORDER BY CASE name WHEN 'stored' THEN 0 WHEN 'exif' THEN 1 WHEN 'thumbnails' THEN 2
                            WHEN 'tags' THEN 3 ELSE 4 END",
    )?;
    let rows = stmt.query_map([photo_id], |r| {
        Ok(Step {
            name: r.get(0)?,
            status: r.get(1)?,
            error: r.get(2)?,
            counts_toward_status: r.get(3)?,
        })
    })?;
    rows.collect()
}
