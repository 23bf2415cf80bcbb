//! A file Photox already owns — a finished tus upload in `uploads/`, on the data dir's file
//! system and flushed to disk — becomes a photo by a rename instead of a copy: the same sniffing,
//! limits, duplicate rule, EXIF, intent and commit as a copy (`copy_in`), without writing its
//! bytes a second time. The caller vouches for the checksum (it hashed the bytes as it wrote
//! them, see `uploads::write`) and for the flush.
//!
//! Crash guarantees are those of a copy: the intent file exists from before the rename until
//! after the commit, so a crash in between leaves no original without its row (the next start
//! removes it; the upload's bytes are then gone, and its `HEAD` says so). Before the rename the
//! file is untouched; after the commit it is the photo's original.

use std::io::Read;
use std::path::PathBuf;

use super::receive::{Received, HEAD_BYTES};
use super::{check, image_kind, recovery, row, run_blocking, Ingest, Ingested, Meta, RemoveOnDrop};
use crate::catalog::repo;
use crate::crash_points;
use crate::db::now;
use crate::error::AppError;
use crate::media::MediaError;
use crate::storage::{self, FileKey, Storage};

impl Ingest {
    /// Renames the file at `path` (whose SHA-256 hex is `checksum`) into `originals/` as a new
    /// photo of `meta.owner`, or finds the photo it already is (then the file stays at `path`).
    pub(super) async fn adopt(
        &self,
        path: PathBuf,
        checksum: String,
        meta: Meta,
    ) -> Result<Ingested, AppError> {
        let limit = self.limits.max_bytes;
        let (path, received) = run_blocking(move || {
            let file = std::fs::File::open(&path)?;
            let size = file.metadata()?.len();
            if size > limit {
                return Err(MediaError::TooLarge {
                    limit_mb: limit / (1024 * 1024),
                }
                .into());
            }
            let mut head = Vec::with_capacity(HEAD_BYTES);
            file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
            let received = Received {
                size,
                frames: 0,
                checksum,
                head,
            };
            Ok((path, received))
        })
        .await?;
        let kind = image_kind(&received)?;
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let created_at = now();
        let location = Storage::managed(FileKey {
            owner_id: meta.owner.user_id,
            uuid: &uuid,
            ext: kind.extension(),
            created_at,
        });
        let target = self
            .storage
            .path_of(&location)
            .ok_or_else(|| AppError::Internal("a new original has no path".into()))?;
        let intent = recovery::intent_path(self.work.path(), &uuid);
        // As in `copy_in`: reading the header, writing the intent and looking for the same
        // bytes among the owner's photos are independent.
        let existing = {
            let (owner, checksum) = (meta.owner.user_id, received.checksum.clone());
            self.db
                .run(move |conn| Ok(repo::find_by_checksum(conn, owner, &checksum)?))
        };
        let checked = {
            let path = path.clone();
            run_blocking(move || check(&path, kind, received))
        };
        let intended = {
            let (intent, target) = (intent.clone(), target.clone());
            let data_dir = self.storage.data_dir().to_path_buf();
            run_blocking(move || Ok(recovery::write_intent(&intent, &data_dir, &target)?))
        };
        let (checked, intended, existing) = tokio::join!(checked, intended, existing);
        let _intent_guard = RemoveOnDrop(Some(intent));
        let checked = checked?;
        if let Some(id) = existing? {
            return self.duplicate(&meta, id).await;
        }
        intended?;
        let placed = {
            let target = target.clone();
            run_blocking(move || {
                let dir = target
                    .parent()
                    .ok_or_else(|| AppError::Internal("original without a directory".into()))?
                    .to_path_buf();
                std::fs::create_dir_all(&dir)?;
                std::fs::rename(&path, &target)?;
                Ok(storage::sync_dir(&dir)?)
            })
            .await
        };
        let mut guard = RemoveOnDrop(Some(target));
        placed?;
        crash_points::reached("ingest.placed");
        let inserted = self
            .commit(row::NewRow {
                meta: meta.clone(),
                uuid,
                created_at,
                checked,
                location,
            })
            .await?;
        match inserted {
            Ok(id) => {
                guard.0 = None;
                crash_points::reached("ingest.committed");
                Ok(Ingested {
                    photo_id: id,
                    duplicate: false,
                })
            }
            Err(Some(existing)) => self.duplicate(&meta, existing).await,
            Err(None) => Err(AppError::Internal("duplicate photo vanished".into())),
        }
    }
}
