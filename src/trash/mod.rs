//! Trash: delete moves Photox's copy of the original into `trash/` (an in-place import's file
//! stays where it is: trash only hides it), restore moves it back, purge removes the row first
//! and then Photox's files, so no row ever points at a missing file.

pub mod repo;

use crate::db::ids::PhotoId;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::repo::{self as catalog_repo, Access};
use crate::catalog::service::file_key;
use crate::catalog::visibility::ensure_can_modify;
use crate::catalog::{Catalog, Photo, PhotoError, Viewer};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::jobs::{handler_fn, JobError, JobKind, Jobs, Priority, RetryPolicy};
use crate::storage::Storage;

/// Trash past its retention is purged this often.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The scheduled purge of trash past `storage.trash_retention_days`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurgeExpiredTrash {}

impl JobKind for PurgeExpiredTrash {
    const NAME: &'static str = "purge_expired_trash";
    const PRIORITY: Priority = Priority::LOW;
    // The next hourly run tries again anyway.
    const RETRY: RetryPolicy = RetryPolicy::attempts(3);
}

/// Trash, restore and purge.
#[derive(Clone)]
pub struct Trash {
    db: Db,
    storage: Storage,
    catalog: Catalog,
}

impl Trash {
    pub fn new(db: Db, storage: Storage, catalog: Catalog) -> Self {
        Self {
            db,
            storage,
            catalog,
        }
    }

    /// Registers the hourly purge of trash past its retention (at start too when one fell due
    /// while the daemon was down).
    pub fn register_jobs(&self, jobs: &Jobs) {
        let trash = self.clone();
        jobs.register(handler_fn(move |_: PurgeExpiredTrash, _| {
            let trash = trash.clone();
            async move {
                match trash.purge_expired_trash().await {
                    Ok(n) if n > 0 => log::info!("purged {n} photos from the trash"),
                    Ok(_) => {}
                    Err(e) => return Err(JobError::Retry(e.to_string())),
                }
                Ok(())
            }
        }));
        jobs.schedule(PURGE_EVERY, PurgeExpiredTrash {});
    }

    /// Moves a photo to the trash; it leaves every listing but keeps its album memberships.
    pub async fn trash_photo(&self, viewer: Viewer, id: PhotoId) -> Result<(), AppError> {
        let photo = self.catalog.get_photo(viewer, id).await?;
        ensure_can_modify(viewer, &photo)?;
        if photo.deleted_at.is_some() {
            return Err(PhotoError::InTrash.into());
        }
        let storage = self.storage.clone();
        let file =
            blocking_io(move || storage.move_to_trash(&photo.file, file_key(&photo))).await?;
        self.db
            .run(move |conn| {
                let now = now();
                Ok(repo::set_trashed(conn, id, Some(now), &file, now)?)
            })
            .await
    }

    /// Brings a photo back from the trash, its file back to `originals/`.
    pub async fn restore_photo(&self, viewer: Viewer, id: PhotoId) -> Result<Photo, AppError> {
        let photo = self.catalog.get_photo(viewer, id).await?;
        ensure_can_modify(viewer, &photo)?;
        if photo.deleted_at.is_none() {
            return Err(PhotoError::NotInTrash.into());
        }
        let storage = self.storage.clone();
        let file =
            blocking_io(move || storage.restore_from_trash(&photo.file, file_key(&photo))).await?;
        self.db
            .run(move |conn| Ok(repo::set_trashed(conn, id, None, &file, now())?))
            .await?;
        self.catalog.get_photo(viewer, id).await
    }

    /// Deletes a trashed photo for good: row first, then original and renditions.
    pub async fn purge_photo(&self, viewer: Viewer, id: PhotoId) -> Result<(), AppError> {
        let photo = self.catalog.get_photo(viewer, id).await?;
        ensure_can_modify(viewer, &photo)?;
        if photo.deleted_at.is_none() {
            return Err(PhotoError::NotInTrash.into());
        }
        self.remove_for_good(photo).await
    }

    async fn remove_for_good(&self, photo: Photo) -> Result<(), AppError> {
        let id = photo.id;
        self.db
            .run(move |conn| Ok(repo::delete_photo(conn, id)?))
            .await?;
        let storage = self.storage.clone();
        blocking_io(move || {
            let key = file_key(&photo);
            // Photox's own copy goes; a household's file in an import root never does.
            storage.remove_original(&photo.file, key);
            storage.remove_renditions(key);
            Ok(())
        })
        .await
    }

    /// The caller's trash, newest first.
    pub async fn list_trash(
        &self,
        caller: &Caller,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Photo>, i64), AppError> {
        let mut params = ListParams::page(Scope::Mine, limit, offset);
        params.trash = true;
        params.sort = (SortKey::DeletedAt, true);
        self.catalog
            .list_photos(Viewer::User(*caller), params)
            .await
    }

    /// Purges every trashed photo of the caller; returns how many.
    pub async fn empty_trash(&self, caller: &Caller) -> Result<usize, AppError> {
        let owner = caller.user_id;
        let ids = self
            .db
            .run(move |conn| Ok(repo::trashed_ids(conn, Some(owner), i64::MAX)?))
            .await?;
        self.purge_ids(ids).await
    }

    /// Purges trash older than `storage.trash_retention_days`; returns how many.
    pub async fn purge_expired_trash(&self) -> Result<usize, AppError> {
        let before = now() - self.catalog.trash_retention_secs();
        let ids = self
            .db
            .run(move |conn| Ok(repo::trashed_ids(conn, None, before)?))
            .await?;
        self.purge_ids(ids).await
    }

    /// Deletes a user account (admin only): refused while they own photos unless `purge`, which
    /// deletes their photos and files first.
    async fn purge_ids(&self, ids: Vec<PhotoId>) -> Result<usize, AppError> {
        let mut purged = 0;
        for id in ids {
            let found = self
                .db
                .run(move |conn| Ok(catalog_repo::find_photo(conn, id, Access::Any)?))
                .await?;
            if let Some(photo) = found {
                self.remove_for_good(photo).await?;
                purged += 1;
            }
        }
        Ok(purged)
    }
}

async fn blocking_io<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("file task failed: {e}")))?
        .map_err(AppError::from)
}
