//! SQL of tags and likes.

use crate::db::ids::{PhotoId, UserId};
use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::id_list;
use crate::catalog::Tag;

pub(super) fn tags_of(
    conn: &Connection,
    ids: &[PhotoId],
) -> rusqlite::Result<HashMap<PhotoId, Vec<Tag>>> {
    let mut out: HashMap<PhotoId, Vec<Tag>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT photo_id, name, source, confidence FROM photo_tags WHERE photo_id IN ({})
         ORDER BY source DESC, confidence DESC, name",
        id_list(ids)
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, PhotoId>(0)?,
            Tag {
                name: r.get(1)?,
                source: r.get(2)?,
                confidence: r.get(3)?,
            },
        ))
    })?;
    for row in rows {
        let (id, tag) = row?;
        out.entry(id).or_default().push(tag);
    }
    Ok(out)
}

/// Replaces the tags of one source (manual tags by the owner, AI tags by the tagger).
pub fn replace_tags(
    conn: &Connection,
    photo_id: PhotoId,
    source: &str,
    tags: &[(String, f64)],
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM photo_tags WHERE photo_id = ?1 AND source = ?2",
        params![photo_id, source],
    )?;
    add_tags(conn, photo_id, source, tags)
}

pub fn add_tags(
    conn: &Connection,
    photo_id: PhotoId,
    source: &str,
    tags: &[(String, f64)],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO photo_tags (photo_id, name, source, confidence) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (name, confidence) in tags {
        stmt.execute(params![photo_id, name, source, confidence])?;
    }
    Ok(())
}

pub fn remove_tags(
    conn: &Connection,
    photo_id: PhotoId,
    source: &str,
    names: &[String],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM photo_tags WHERE photo_id = ?1 AND source = ?2 AND name = ?3",
    )?;
    for name in names {
        stmt.execute(params![photo_id, source, name])?;
    }
    Ok(())
}

pub fn set_like(
    conn: &Connection,
    photo_id: PhotoId,
    user_id: UserId,
    liked: bool,
    now: i64,
) -> rusqlite::Result<()> {
    if liked {
        conn.execute(
            "INSERT OR IGNORE INTO photo_likes (photo_id, user_id, created_at) VALUES (?1, ?2, ?3)",
            params![photo_id, user_id, now],
        )?;
    } else {
        conn.execute(
            "DELETE FROM photo_likes WHERE photo_id = ?1 AND user_id = ?2",
            params![photo_id, user_id],
        )?;
    }
    Ok(())
}

pub fn like_state(
    conn: &Connection,
    photo_id: PhotoId,
    user_id: UserId,
) -> rusqlite::Result<(i64, bool)> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM photo_likes WHERE photo_id = ?1),
                EXISTS (SELECT 1 FROM photo_likes WHERE photo_id = ?1 AND user_id = ?2)",
        params![photo_id, user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
