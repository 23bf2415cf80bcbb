//! Which photos are in which album (an upload can land straight in an album, in the same
//! transaction as its row: ingest uses the functions here in its own transaction).
//!
//! Rules: a caller puts their own photos into an album they may contribute to (its owner, or a
//! family member when it is a family album; admins anything). The album owner (or an admin)
//! takes any photo out; a contributor takes out their own.

use crate::db::ids::{AlbumId, PhotoId};
use rusqlite::Connection;

use super::members_repo;
pub use super::members_repo::{insert_member, touch_album};
use crate::catalog::{PhotoError, Viewer};
use crate::db::{now, Db};
use crate::error::{AppError, ValidationErrors};

/// Most photos one request may add or remove.
pub const MAX_PHOTOS_PER_CHANGE: usize = 500;

/// What adding photos to an album did.
#[derive(Debug, Default)]
pub struct Added {
    pub added: Vec<PhotoId>,
    pub already_present: Vec<PhotoId>,
    pub failed: Vec<(PhotoId, AppError)>,
}

/// 404 when the viewer cannot see the album, 403 when they see it but may not add to it.
pub fn check_album_accepts(
    conn: &Connection,
    viewer: Viewer,
    album_id: AlbumId,
) -> Result<(), AppError> {
    match members_repo::album_access(conn, viewer, album_id)? {
        (false, _) => Err(PhotoError::AlbumNotFound.into()),
        (true, false) => Err(PhotoError::NotAlbumContributor.into()),
        (true, true) => Ok(()),
    }
}

fn check_count(ids: &[PhotoId]) -> Result<(), AppError> {
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

/// Puts one of the viewer's own live photos (any photo for an admin) into an album whose
/// acceptance the caller has checked; `false` when it was there already. Someone else's photo,
/// a trashed one or none is `NotFound` (never say which). Does not touch the album's time.
pub fn add_own_photo(
    conn: &Connection,
    viewer: Viewer,
    album_id: AlbumId,
    photo_id: PhotoId,
    now: i64,
) -> Result<bool, AppError> {
    let usable = match members_repo::photo_owner(conn, photo_id)? {
        Some((owner, false)) => Some(owner) == viewer.user_id() || viewer.is_admin(),
        _ => false,
    };
    if !usable {
        return Err(PhotoError::NotFound.into());
    }
    Ok(members_repo::insert_member(conn, album_id, photo_id, now)?)
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
        album_id: AlbumId,
        photo_ids: Vec<PhotoId>,
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
                    members_repo::touch_album(&tx, album_id, now)?;
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
        album_id: AlbumId,
        photo_ids: Vec<PhotoId>,
    ) -> Result<Vec<PhotoId>, AppError> {
        check_count(&photo_ids)?;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                check_album_accepts(&tx, viewer, album_id)?;
                let removed = members_repo::remove_members(&tx, viewer, album_id, &photo_ids)?;
                if !removed.is_empty() {
                    members_repo::touch_album(&tx, album_id, now())?;
                }
                tx.commit()?;
                Ok(removed)
            })
            .await
    }
}
