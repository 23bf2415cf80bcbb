//! Which photos are in which album (an upload can land straight in an album, in the same
//! transaction as its row: ingest uses the functions here in its own transaction).
//!
//! Rules: a caller puts their own photos into an album they may contribute to (its owner, or a
//! family member when it is a family album; admins anything). The album owner (or an admin)
//! takes any photo out; a contributor takes out their own.

use rusqlite::{params, Connection};

use crate::catalog::visibility::{album_accepts_photos_sql, album_visible_sql};
use crate::catalog::{PhotoError, Viewer};
use crate::db::{now, Db};
use crate::error::{AppError, ValidationErrors};

/// Most photos one request may add or remove.
pub const MAX_PHOTOS_PER_CHANGE: usize = 500;

/// What adding photos to an album did.
#[derive(Debug, Default)]
pub struct Added {
    pub added: Vec<i64>,
    pub already_present: Vec<i64>,
    pub failed: Vec<(i64, AppError)>,
}

/// 404 when the viewer cannot see the album, 403 when they see it but may not add to it.
pub fn check_album_accepts(
    conn: &Connection,
    viewer: Viewer,
    album_id: i64,
) -> Result<(), AppError> {
    let (visible, accepts): (bool, bool) = conn
        .query_row(
            &format!(
                "SELECT {}, {} FROM albums a WHERE a.id = ?1",
                album_visible_sql(viewer),
                album_accepts_photos_sql(viewer)
            ),
            [album_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((false, false)),
            e => Err(e),
        })?;
    match (visible, accepts) {
        (false, _) => Err(PhotoError::AlbumNotFound.into()),
        (true, false) => Err(PhotoError::NotAlbumContributor.into()),
        (true, true) => Ok(()),
    }
}

/// Puts a photo into an album; `false` when it was there already.
pub fn insert_member(
    conn: &Connection,
    album_id: i64,
    photo_id: i64,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "INSERT OR IGNORE INTO album_photos (album_id, photo_id, added_at) VALUES (?1, ?2, ?3)",
        params![album_id, photo_id, now],
    )?;
    Ok(changed == 1)
}

fn check_count(ids: &[i64]) -> Result<(), AppError> {
    if ids.is_empty() || ids.len() > MAX_PHOTOS_PER_CHANGE {
        return Err(ValidationErrors::single(
            "photo_ids",
            "must name 1 to 500 photos",
            "OUT_OF_RANGE",
        )
        .into());
    }
    Ok(())
}

/// Owner and trash state of a photo, if it exists.
fn photo_owner(conn: &Connection, id: i64) -> rusqlite::Result<Option<(i64, bool)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT owner_id, deleted_at IS NOT NULL FROM photos WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Puts one of the viewer's own live photos (any photo for an admin) into an album whose
/// acceptance the caller has checked; `false` when it was there already. Someone else's photo,
/// a trashed one or none is `NotFound` (never say which). Does not touch the album's time.
pub fn add_own_photo(
    conn: &Connection,
    viewer: Viewer,
    album_id: i64,
    photo_id: i64,
    now: i64,
) -> Result<bool, AppError> {
    let usable = match photo_owner(conn, photo_id)? {
        Some((owner, false)) => Some(owner) == viewer.user_id() || viewer.is_admin(),
        _ => false,
    };
    if !usable {
        return Err(PhotoError::NotFound.into());
    }
    Ok(insert_member(conn, album_id, photo_id, now)?)
}

/// Which photos are in which album.
#[derive(Clone)]
pub struct Members {
    db: Db,
}

impl Members {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds photos to an album, each on its own: the caller's own live photos (any photo for an
    /// admin). Fails as a whole with 404/403 when the album is not theirs to add to.
    pub async fn add_to_album(
        &self,
        viewer: Viewer,
        album_id: i64,
        photo_ids: Vec<i64>,
    ) -> Result<Added, AppError> {
        check_count(&photo_ids)?;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                check_album_accepts(&tx, viewer, album_id)?;
                let now = now();
                let mut out = Added::default();
                let mut seen = std::collections::HashSet::new();
                for id in photo_ids.into_iter().filter(|id| seen.insert(*id)) {
                    match add_own_photo(&tx, viewer, album_id, id, now) {
                        Ok(true) => out.added.push(id),
                        Ok(false) => out.already_present.push(id),
                        Err(e) => out.failed.push((id, e)),
                    }
                }
                if !out.added.is_empty() {
                    touch_album(&tx, album_id, now)?;
                }
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    /// Takes photos out of an album; returns how many were in it. The album owner (or an admin)
    /// removes any photo, other contributors their own.
    pub async fn remove_from_album(
        &self,
        viewer: Viewer,
        album_id: i64,
        photo_ids: Vec<i64>,
    ) -> Result<Vec<i64>, AppError> {
        check_count(&photo_ids)?;
        let me = viewer.user_id().unwrap_or(-1);
        let manages = format!("(a.owner_id = {me} OR {})", viewer.is_admin() as i32);
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                check_album_accepts(&tx, viewer, album_id)?;
                let is_manager: bool = tx.query_row(
                    &format!("SELECT {manages} FROM albums a WHERE a.id = ?1"),
                    [album_id],
                    |r| r.get(0),
                )?;
                let mut removed = Vec::new();
                let mut stmt = tx.prepare(
                    "DELETE FROM album_photos WHERE album_id = ?1 AND photo_id = ?2
                     AND (?3 OR photo_id IN (SELECT id FROM photos WHERE owner_id = ?4))",
                )?;
                for id in photo_ids {
                    if stmt.execute(params![album_id, id, is_manager, me])? == 1 {
                        removed.push(id);
                    }
                }
                drop(stmt);
                if !removed.is_empty() {
                    touch_album(&tx, album_id, now())?;
                }
                tx.commit()?;
                Ok(removed)
            })
            .await
    }
}

pub fn touch_album(conn: &Connection, album_id: i64, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE albums SET updated_at = ?2 WHERE id = ?1",
        params![album_id, now],
    )?;
    Ok(())
}
