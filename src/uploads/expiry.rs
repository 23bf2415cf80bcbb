//! Expiry as a scheduled job: uploads past `uploads.expire_after` (unfinished ones and the
//! records of finished ones) are removed with their bytes, and so is any file in `uploads/`
//! without an unfinished upload (left by a crash between steps, or by a crash while an account was deleted). An
//! expired upload answers 404 from the moment it expires, whether or not the job ran yet.
//! `uploads/` is never cleared at start: unfinished uploads survive restarts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{is_upload_id, repo, run_blocking, Uploads};
use crate::db::now;
use crate::error::AppError;
use crate::jobs::{handler_fn, JobError, JobKind, Jobs, Priority, RetryPolicy};

/// Housekeeping runs at least this often.
const EXPIRE_EVERY_AT_MOST: Duration = Duration::from_secs(3600);

/// The job that removes expired uploads and stray files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExpireUploads {}

impl JobKind for ExpireUploads {
    const NAME: &'static str = "expire_uploads";
    const PRIORITY: Priority = Priority::LOW;
    const RETRY: RetryPolicy = RetryPolicy::attempts(3);
}

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    pub uploads: usize,
    pub stray_files: usize,
}

impl Uploads {
    /// Registers the expiry job, scheduled every `uploads.expire_after` (at most hourly).
    pub fn register_jobs(&self, jobs: &Jobs) {
        let uploads = self.clone();
        jobs.register(handler_fn(move |_: ExpireUploads, _| {
            let uploads = uploads.clone();
            async move {
                let expired = uploads
                    .expire()
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if expired != Expired::default() {
                    log::info!(
                        "removed {} expired uploads and {} stray upload files",
                        expired.uploads,
                        expired.stray_files
                    );
                }
                Ok(())
            }
        }));
        let every = self
            .inner
            .settings
            .expire_after
            .clamp(Duration::from_secs(1), EXPIRE_EVERY_AT_MOST);
        jobs.schedule(every, ExpireUploads {});
    }

    /// Removes expired uploads and the files in `uploads/` that no unfinished upload owns.
    /// An upload a request holds right now is left for the next run.
    pub async fn expire(&self) -> Result<Expired, AppError> {
        let mut expired = Expired::default();
        let at = now();
        let ids = self
            .inner
            .db
            .run(move |conn| Ok(repo::expired(conn, at)?))
            .await?;
        for id in ids {
            let Some(_lock) = self.inner.locks.try_acquire(&id) else {
                continue;
            };
            self.forget(&id).await;
            expired.uploads += 1;
        }
        // Files first, then their rows: a row is always made before its file.
        let dir = self.dir();
        let names = run_blocking(move || {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                names.push(entry?.file_name().to_string_lossy().into_owned());
            }
            Ok(names)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        for name in names {
            let Some(_lock) = self.inner.locks.try_acquire(&name) else {
                continue;
            };
            if is_upload_id(&name) {
                let id = name.clone();
                let owned = self
                    .inner
                    .db
                    .run(move |conn| Ok(repo::is_unfinished(conn, &id)?))
                    .await?;
                if owned {
                    continue;
                }
            }
            let path = self.dir().join(&name);
            let removed = run_blocking(move || {
                let stray = path.is_file();
                if stray {
                    crate::storage::remove_if_present(&path);
                }
                Ok(stray)
            })
            .await
            .unwrap_or(false);
            expired.stray_files += usize::from(removed);
        }
        Ok(expired)
    }
}
