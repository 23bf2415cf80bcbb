//! Uploads: the body streams into `tmp/` while it is hashed (never held whole in memory), is
//! checked by its bytes, fsynced and renamed into `originals/`, and only then is the row
//! committed. A failed or abandoned upload leaves nothing behind.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::library::Library;
use super::processing::TAGGING_OFF;
use super::repo::{self, NewPhoto};
use super::storage::{self, FileKey};
use super::{CameraInfo, Location, Photo, PhotoError, Viewer, Visibility};
use crate::auth::Caller;
use crate::db::now;
use crate::error::AppError;
use crate::jobs::{queue, Job};
use crate::media::exif::{read_exif, ExifData};
use crate::media::sniff::sniff_image;
use crate::media::thumbnail::image_dimensions;
use crate::media::MediaError;

const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the writer (bounds the memory an upload holds).
const IN_FLIGHT_CHUNKS: usize = 8;

/// What the client said about a file besides its bytes.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub filename: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub album_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Uploaded {
    pub photo: Photo,
    /// The caller already had these bytes; `photo` is that existing photo.
    pub duplicate: bool,
}

/// Removes a file on drop unless disarmed: what a failed multi-step write leaves behind.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            storage::remove_if_present(&path);
        }
    }
}

impl Library {
    /// Refuses with 507 when the data dir has less than `storage.min_free_mb` (plus `extra`) free.
    pub fn ensure_free_space(&self, extra: u64) -> Result<(), AppError> {
        let free = self.storage.free_bytes()?;
        if free < self.limits.min_free_bytes.saturating_add(extra) {
            return Err(PhotoError::InsufficientStorage.into());
        }
        Ok(())
    }

    /// Stores one uploaded file for `caller`.
    pub async fn upload<R: AsyncRead + Unpin>(
        &self,
        caller: &Caller,
        meta: &NewUpload,
        body: R,
    ) -> Result<Uploaded, AppError> {
        if meta.album_id.is_some() {
            // Albums arrive with the sharing feature; until then no album exists.
            return Err(PhotoError::AlbumNotFound.into());
        }
        self.ensure_free_space(0)?;
        let tmp = tempfile::NamedTempFile::new_in(self.storage.tmp_dir())?;
        let (size, checksum, head) = self.receive(body, &tmp).await?;
        if size == 0 {
            return Err(MediaError::Unsupported.into());
        }
        let kind = sniff_image(&head).ok_or(MediaError::Unsupported)?;
        self.ensure_free_space(0)?;
        let (tmp, (width, height), exif) = tokio::task::spawn_blocking(move || {
            tmp.as_file().sync_all()?;
            let dims = image_dimensions(tmp.path(), kind)?;
            let exif = read_exif(tmp.path()).unwrap_or(None).unwrap_or_default();
            Ok::<_, AppError>((tmp, dims, exif))
        })
        .await
        .map_err(|e| AppError::Internal(format!("upload task failed: {e}")))??;

        let owner = caller.user_id;
        let existing = {
            let checksum = checksum.clone();
            self.db
                .run(move |conn| Ok(repo::find_by_checksum(conn, owner, &checksum)?))
                .await?
        };
        if let Some(id) = existing {
            return self.duplicate(caller, id).await;
        }

        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let created_at = now();
        let ext = kind.extension();
        let key = FileKey {
            owner_id: owner,
            uuid: &uuid,
            ext,
            created_at,
        };
        let target = self.storage.original_path(key);
        let intent = intent_path(&self.storage, &uuid);
        let placed = {
            let (target, intent) = (target.clone(), intent.clone());
            let data_dir = self.storage.data_dir().to_path_buf();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let dir = target
                    .parent()
                    .ok_or_else(|| std::io::Error::other("no directory"))?;
                std::fs::create_dir_all(dir)?;
                write_intent(&intent, &data_dir, &target)?;
                tmp.persist_noclobber(&target).map_err(|e| e.error)?;
                storage::sync_dir(dir)
            })
            .await
            .map_err(|e| AppError::Internal(format!("upload task failed: {e}")))?
        };
        let mut guard = RemoveOnDrop(Some(target));
        let _intent_guard = RemoveOnDrop(Some(intent));
        placed?;

        let camera = camera_info(&exif);
        let location = location(&exif);
        let (meta, mime) = (meta.clone(), kind.mime_type());
        let tagging = self.tagger.is_some();
        let inserted = self
            .db
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let photo = NewPhoto {
                    owner_id: owner,
                    uuid: &uuid,
                    ext,
                    title: meta.title.as_deref(),
                    description: meta.description.as_deref(),
                    original_filename: &meta.filename,
                    mime_type: mime,
                    size: size as i64,
                    width: width.into(),
                    height: height.into(),
                    checksum: &checksum,
                    taken_at: exif.taken_at,
                    created_at,
                    visibility: meta.visibility,
                    camera: &camera,
                    location,
                };
                let Some(id) = repo::insert_photo(&tx, &photo)? else {
                    // The same bytes arrived concurrently; keep the first.
                    return Ok(Err(repo::find_by_checksum(&tx, owner, &checksum)?));
                };
                repo::set_step(&tx, id, "stored", "done", None, created_at)?;
                let exif_step = if exif.is_empty() { "skipped" } else { "done" };
                repo::set_step(&tx, id, "exif", exif_step, None, created_at)?;
                repo::set_step(&tx, id, "thumbnails", "pending", None, created_at)?;
                queue::enqueue(&tx, &Job::Thumbnails { photo_id: id }, created_at)?;
                if tagging {
                    repo::set_step(&tx, id, "tags", "pending", None, created_at)?;
                    queue::enqueue(&tx, &Job::Tags { photo_id: id }, created_at)?;
                } else {
                    repo::set_step(&tx, id, "tags", "skipped", Some(TAGGING_OFF), created_at)?;
                }
                tx.commit()?;
                Ok(Ok(id))
            })
            .await?;
        match inserted {
            Ok(id) => {
                guard.0 = None;
                self.signal.wake();
                let photo = self.get_photo(Viewer::User(*caller), id).await?;
                Ok(Uploaded {
                    photo,
                    duplicate: false,
                })
            }
            Err(Some(existing)) => self.duplicate(caller, existing).await,
            Err(None) => Err(AppError::Internal("duplicate photo vanished".into())),
        }
    }

    async fn duplicate(&self, caller: &Caller, id: i64) -> Result<Uploaded, AppError> {
        let photo = self.get_photo(Viewer::User(*caller), id).await?;
        Ok(Uploaded {
            photo,
            duplicate: true,
        })
    }

    /// Streams `body` into `tmp`, hashing it; at most `max_upload_bytes`. Returns the size, the
    /// SHA-256 hex and the first bytes (for sniffing). Reading runs here while a blocking thread
    /// hashes and writes the previous chunks, so both cores work on a large upload.
    async fn receive<R: AsyncRead + Unpin>(
        &self,
        mut body: R,
        tmp: &tempfile::NamedTempFile,
    ) -> Result<(u64, String, Vec<u8>), AppError> {
        let limit = self.limits.max_upload_bytes;
        let file = tmp.as_file().try_clone()?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(IN_FLIGHT_CHUNKS);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            use std::io::Write;
            let mut file = std::io::BufWriter::with_capacity(CHUNK, file);
            let mut hasher = Sha256::new();
            while let Some(chunk) = rx.blocking_recv() {
                hasher.update(&chunk);
                file.write_all(&chunk)?;
            }
            file.flush()?;
            Ok(hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect())
        });
        let mut head = Vec::with_capacity(16);
        let mut size: u64 = 0;
        let read = async {
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let mut filled = 0;
                while filled < CHUNK {
                    let n = body.read(&mut chunk[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    return Ok::<(), AppError>(());
                }
                size += filled as u64;
                if size > limit {
                    return Err(MediaError::TooLarge {
                        limit_mb: limit / (1024 * 1024),
                    }
                    .into());
                }
                chunk.truncate(filled);
                if head.len() < 16 {
                    head.extend_from_slice(&chunk[..filled.min(16 - head.len())]);
                }
                if tx.send(chunk).await.is_err() {
                    // The writer stopped: its error is reported below.
                    return Ok(());
                }
                if filled < CHUNK {
                    return Ok(());
                }
            }
        };
        let read_result = read.await;
        drop(tx);
        let written = writer
            .await
            .map_err(|e| AppError::Internal(format!("upload writer failed: {e}")))?;
        read_result?;
        let checksum = written?;
        Ok((size, checksum, head))
    }
}

/// `tmp/<uuid>.intent`: names the original an upload is about to place. It exists from before
/// the rename into `originals/` until after the row is committed, so a crash in between can be
/// told apart from a stored photo.
fn intent_path(storage: &storage::Storage, uuid: &str) -> PathBuf {
    storage.tmp_dir().join(format!("{uuid}.intent"))
}

fn write_intent(
    intent: &std::path::Path,
    data_dir: &std::path::Path,
    target: &std::path::Path,
) -> std::io::Result<()> {
    use std::io::Write;
    let relative = target
        .strip_prefix(data_dir)
        .map_err(std::io::Error::other)?;
    let mut file = std::fs::File::create(intent)?;
    file.write_all(relative.to_string_lossy().as_bytes())?;
    file.sync_all()?;
    storage::sync_dir(
        intent
            .parent()
            .ok_or_else(|| std::io::Error::other("no directory"))?,
    )
}

/// At daemon start, before `tmp/` is cleared: an upload interrupted between placing its
/// original and committing its row was never acknowledged, so its file is removed. Returns
/// how many were removed.
pub fn recover_interrupted_uploads(
    db: &crate::db::Db,
    storage: &storage::Storage,
) -> Result<usize, AppError> {
    let mut removed = 0;
    for entry in std::fs::read_dir(storage.tmp_dir())? {
        let path = entry?.path();
        let Some(uuid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".intent"))
            .map(str::to_string)
        else {
            continue;
        };
        let relative = std::fs::read_to_string(&path).unwrap_or_default();
        let relative = relative.trim();
        let committed = db.run_sync(|conn| Ok(repo::uuid_exists(conn, &uuid)?))?;
        let target = storage.data_dir().join(relative);
        let inside = relative.starts_with("originals/") && !relative.contains("..");
        if !committed && inside && target.is_file() {
            storage::remove_if_present(&target);
            removed += 1;
        }
        storage::remove_if_present(&path);
    }
    Ok(removed)
}

pub fn camera_info(exif: &ExifData) -> CameraInfo {
    CameraInfo {
        camera_make: exif.camera_make.clone(),
        camera_model: exif.camera_model.clone(),
        lens: exif.lens.clone(),
        iso: exif.iso,
        aperture: exif.aperture,
        exposure_time: exif.exposure_time.clone(),
        focal_length: exif.focal_length,
        orientation: exif.orientation,
    }
}

pub fn location(exif: &ExifData) -> Option<Location> {
    match (exif.latitude, exif.longitude) {
        (Some(latitude), Some(longitude)) => Some(Location {
            latitude,
            longitude,
            altitude: exif.altitude,
        }),
        _ => None,
    }
}
