//! Writing to an upload (`PATCH`, and the body of a creation) and finishing it into a photo.

use sha2::{Digest, Sha256};

use super::repo::{self, UploadRow};
use super::write::{self, Append, Appended, Checkpoint, Ended};
use super::{file_len, run_blocking, Kind, Patch, Upload, UploadError, Uploads, TAKEOVER_WAIT};
use crate::auth::Caller;
use crate::crash_points;
use crate::db::now;
use crate::ingest::Source;
use crate::storage::files;

impl Uploads {
    /// Appends a request's bytes to `owner`'s upload `id` at `patch.offset`. The answer is the
    /// upload as it is now; when these were its last bytes, with the photo it became.
    pub async fn append(
        &self,
        owner: Caller,
        id: &str,
        patch: Patch<'_>,
    ) -> Result<Upload, UploadError> {
        // Whose it is first: another user's request never stops a request on the upload.
        self.find(owner, id).await?;
        let _lock = self
            .inner
            .locks
            .acquire(id, TAKEOVER_WAIT)
            .await
            .ok_or(UploadError::Busy)?;
        let stop = _lock.stop().clone();
        let mut row = self.find(owner, id).await?;
        if row.kind == Kind::Final {
            return Err(UploadError::FinalUpload);
        }
        if row.photo.is_some() {
            // Finished: only an empty request at its end is answered (with the photo).
            let length = row.length.unwrap_or(row.durable_offset);
            if patch.offset != length {
                return Err(UploadError::OffsetMismatch {
                    sent: patch.offset,
                    offset: length,
                });
            }
            if patch.chunk.declared.unwrap_or(0) > 0 {
                return Err(UploadError::PastLength);
            }
            return Ok(self.upload_of(&row, length));
        }
        if let Some(length) = patch.length {
            self.declare_length(&mut row, length).await?;
        }
        let offset = self.reconcile(&mut row).await?;
        if patch.offset != offset {
            return Err(UploadError::OffsetMismatch {
                sent: patch.offset,
                offset,
            });
        }
        let end = row.length.unwrap_or(self.inner.settings.max_bytes);
        if let Some(declared) = patch.chunk.declared {
            if offset.saturating_add(declared) > end {
                return Err(self.past_end(&row));
            }
        }
        self.ensure_room(patch.chunk.declared.unwrap_or(end - offset))?;
        let path = self.path_of(id);
        let sha256 = match row.kind {
            Kind::Single => Some(self.running_hash(id, offset).await?),
            _ => None,
        };
        let checksum = patch.chunk.checksum;
        // Kept to go on from, should the chunk not match its checksum.
        let before = checksum.as_ref().and(sha256.clone());
        let started = std::time::Instant::now();
        let appended = write::append(
            &path,
            Append {
                body: patch.chunk.body,
                start: offset,
                end,
                stop,
                sha256,
                chunk: checksum.as_ref().map(|c| c.hasher()),
                checkpoint: checksum.is_none().then(|| self.checkpointer(id)),
            },
        )
        .await?;
        let Appended {
            offset: reached,
            ended,
            sha256,
            chunk,
        } = appended;
        log::debug!(
            "upload {id}: {} bytes received and flushed in {:.1?}",
            reached - offset,
            started.elapsed()
        );
        let verified = match (&checksum, chunk) {
            (None, _) => true,
            (Some(expected), Some(digest)) => digest == expected.expected,
            // The body broke off: what arrived cannot be checked.
            (Some(_), None) => false,
        };
        if matches!(ended, Ended::TooLong) || !verified {
            self.cut_back(id, offset).await?;
            if let Some(hash) = before {
                self.keep_hash(id, offset, hash);
            }
            return Err(match ended {
                Ended::TooLong => self.past_end(&row),
                Ended::Complete => UploadError::ChecksumMismatch,
                other => interrupted(other, offset),
            });
        }
        if let Some(hash) = sha256 {
            self.keep_hash(id, reached, hash);
        } else {
            self.inner.hashes_remove(id);
        }
        if row.kind == Kind::Single && row.length == Some(reached) {
            let sha256 = self.take_hash(id, reached);
            return self.finish(owner, row, sha256).await;
        }
        if reached != row.durable_offset {
            let (owned, expires) = (id.to_string(), now() + self.expire_secs());
            self.inner
                .db
                .run(move |conn| Ok(repo::set_offset(conn, &owned, reached, expires)?))
                .await?;
            row.expires_at = expires;
        }
        match ended {
            Ended::Complete => Ok(self.upload_of(&row, reached)),
            other => Err(interrupted(other, reached)),
        }
    }

    /// Hands a finished upload to ingest; the upload keeps the photo's id, or is removed when
    /// no photo could be made of it. The caller holds the upload's lock.
    pub(super) async fn finish(
        &self,
        owner: Caller,
        row: UploadRow,
        sha256: Option<Sha256>,
    ) -> Result<Upload, UploadError> {
        let path = self.path_of(&row.id);
        let length = row.length.unwrap_or(row.durable_offset);
        let started = std::time::Instant::now();
        let made = async {
            let meta = self.ingest_meta(owner, &row.metadata).await?;
            let checksum = match sha256 {
                Some(hash) => files::hex(&hash.finalize()),
                None => {
                    let path = path.clone();
                    let hash = run_blocking(move || write::sha256_prefix(&path, length)).await?;
                    files::hex(&hash.finalize())
                }
            };
            crash_points::reached("uploads.finishing");
            let source = Source::Owned {
                path: path.clone(),
                checksum,
            };
            Ok::<_, UploadError>(self.inner.ingest.ingest(source, meta).await?)
        }
        .await;
        self.inner.hashes_remove(&row.id);
        let made = match made {
            Ok(made) => made,
            Err(e) => {
                // What cannot become a photo is not kept: the request says why.
                self.forget(&row.id).await;
                return Err(e);
            }
        };
        log::debug!(
            "upload {}: made photo {} in {:.1?}",
            row.id,
            made.photo_id,
            started.elapsed()
        );
        let expires_at = now() + self.expire_secs();
        let photo = (made.photo_id, made.duplicate);
        let id = row.id.clone();
        let recorded = self
            .inner
            .db
            .run(move |conn| Ok(repo::finish(conn, &id, length, photo, expires_at)?))
            .await;
        if let Err(e) = recorded {
            log::error!("a finished upload's photo could not be recorded: {e}");
        }
        // A duplicate leaves the file where it was.
        self.remove_file(&row.id).await;
        let mut upload = self.upload_of(&row, length);
        upload.length = Some(length);
        upload.expires_at = expires_at;
        upload.photo = Some(made);
        Ok(upload)
    }

    /// Sets a deferred length (once; the same value again is fine).
    async fn declare_length(&self, row: &mut UploadRow, length: u64) -> Result<(), UploadError> {
        match row.length {
            Some(known) if known == length => return Ok(()),
            Some(_) => {
                return Err(UploadError::BadHeader {
                    header: "Upload-Length",
                    message: "differs from the length the upload already has".into(),
                })
            }
            None => {}
        }
        self.check_size(length)?;
        if length < row.durable_offset {
            return Err(UploadError::BadHeader {
                header: "Upload-Length",
                message: "is less than the bytes already uploaded".into(),
            });
        }
        let id = row.id.clone();
        self.inner
            .db
            .run(move |conn| Ok(repo::set_length(conn, &id, length)?))
            .await?;
        row.length = Some(length);
        Ok(())
    }

    /// Brings the file and the recorded offset into step and returns the offset: bytes past
    /// the recorded offset (written before a crash, never recorded) are cut off; a file that
    /// is shorter or gone (lost in a crash) lowers the offset to what it holds.
    pub(super) async fn reconcile(&self, row: &mut UploadRow) -> Result<u64, UploadError> {
        let path = self.path_of(&row.id);
        let recorded = row.durable_offset;
        let on_disk = run_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            let len = file.metadata()?.len();
            if len > recorded {
                file.set_len(recorded)?;
            }
            Ok(len.min(recorded))
        })
        .await?;
        if on_disk < recorded {
            log::warn!("an upload lost bytes in a crash; it goes on from {on_disk}");
            self.inner.hashes_remove(&row.id);
            let (id, expires) = (row.id.clone(), row.expires_at);
            self.inner
                .db
                .run(move |conn| Ok(repo::set_offset(conn, &id, on_disk, expires)?))
                .await?;
            row.durable_offset = on_disk;
        }
        Ok(on_disk)
    }

    /// Cuts the file back to `offset` (a refused chunk); needs no flush: a longer file is cut
    /// back to the recorded offset anyway.
    async fn cut_back(&self, id: &str, offset: u64) -> Result<(), UploadError> {
        self.inner.hashes_remove(id);
        let path = self.path_of(id);
        run_blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(offset)
        })
        .await
    }

    /// The SHA-256 of the upload's first `offset` bytes: kept from its last request, or read
    /// from its file (after a restart).
    async fn running_hash(&self, id: &str, offset: u64) -> Result<Sha256, UploadError> {
        if let Some(hash) = self.take_hash(id, offset) {
            return Ok(hash);
        }
        if offset == 0 {
            return Ok(Sha256::new());
        }
        let path = self.path_of(id);
        debug_assert!(file_len(&path).await.unwrap_or(0) >= offset);
        run_blocking(move || write::sha256_prefix(&path, offset)).await
    }

    fn keep_hash(&self, id: &str, offset: u64, hash: Sha256) {
        self.inner
            .hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), (offset, hash));
    }

    fn take_hash(&self, id: &str, offset: u64) -> Option<Sha256> {
        let mut hashes = self.inner.hashes.lock().unwrap_or_else(|p| p.into_inner());
        match hashes.remove(id) {
            Some((at, hash)) if at == offset => Some(hash),
            _ => None,
        }
    }

    /// Records checkpoints of upload `id` from the writing thread.
    fn checkpointer(&self, id: &str) -> Checkpoint {
        let (db, id) = (self.inner.db.clone(), id.to_string());
        let expire = self.expire_secs();
        let runtime = tokio::runtime::Handle::current();
        Box::new(move |offset| {
            let (db, id) = (db.clone(), id.clone());
            runtime.block_on(
                db.run(move |conn| Ok(repo::set_offset(conn, &id, offset, now() + expire)?)),
            )
        })
    }

    fn past_end(&self, row: &UploadRow) -> UploadError {
        match row.length {
            Some(_) => UploadError::PastLength,
            None => UploadError::TooLarge {
                limit_mb: self.inner.settings.max_bytes / (1024 * 1024),
            },
        }
    }
}

/// The error of a request whose body did not arrive whole; `offset` is what the upload holds.
fn interrupted(ended: Ended, offset: u64) -> UploadError {
    match ended {
        Ended::Broken(e) => UploadError::App(e.into()),
        Ended::Stopped => UploadError::TakenOver { offset },
        Ended::WriteFailed(e) if is_disk_full(&e) => UploadError::InsufficientStorage,
        Ended::WriteFailed(e) => UploadError::App(e.into()),
        Ended::Complete | Ended::TooLong => UploadError::App(crate::error::AppError::Internal(
            "an upload ended without a reason".into(),
        )),
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC)
}
