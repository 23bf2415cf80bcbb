//! Uploads: the body streams into `tmp/` while it is hashed (never held whole in memory), is
//! checked by its bytes, fsynced and renamed into `originals/`, and only then is the row
//! committed. A failed or abandoned upload leaves nothing behind.

use std::io::{self, IoSlice, Write};
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::album_members::{check_album_accepts, insert_member, touch_album};
use super::library::Library;
use super::processing::{queue_step_in, MakeThumbnails, TagPhoto, TAGGING_OFF};
use super::repo::{self, NewPhoto};
use super::storage::{self, FileKey};
use super::{CameraInfo, Location, Photo, PhotoError, Viewer, Visibility};
use crate::auth::Caller;
use crate::db::now;
use crate::error::AppError;
use crate::media::exif::{read_exif, ExifData};
use crate::media::sniff::sniff_image;
use crate::media::thumbnail::image_dimensions;
use crate::media::{displayed_size, MediaError};

/// Received frames are handed to the hashing and writing threads in batches of at least this
/// many bytes (the HTTP layer's frames are usually ~300-400 KiB, so mostly one frame each)...
const BATCH_BYTES: usize = 256 * 1024;
/// ...or this many frames.
const BATCH_FRAMES: usize = 64;
/// Batches queued ahead of each thread (both get the same frames). With the HTTP layer's
/// frames this bounds the memory one upload holds to a few MiB.
const IN_FLIGHT_BATCHES: usize = 8;
/// While an upload streams, every this many written bytes are handed to the disk, so the
/// fsync at the end has little left to wait for.
const WRITEBACK_STEP: u64 = 4 * 1024 * 1024;

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
    pub async fn upload<S: Stream<Item = io::Result<Bytes>> + Unpin>(
        &self,
        caller: &Caller,
        meta: &NewUpload,
        body: S,
    ) -> Result<Uploaded, AppError> {
        if let Some(album) = meta.album_id {
            let viewer = Viewer::User(*caller);
            self.db
                .run(move |conn| check_album_accepts(conn, viewer, album))
                .await?;
        }
        self.ensure_free_space(0)?;
        let started = std::time::Instant::now();
        let tmp = tempfile::NamedTempFile::new_in(self.storage.tmp_dir())?;
        let (size, frames, checksum, head) = self.receive(body, &tmp).await?;
        let received = started.elapsed();
        if size == 0 {
            return Err(MediaError::Unsupported.into());
        }
        let kind = sniff_image(&head).ok_or(MediaError::Unsupported)?;
        self.ensure_free_space(0)?;

        let owner = caller.user_id;
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
        let dir = target
            .parent()
            .ok_or_else(|| AppError::Internal("original without a directory".into()))?
            .to_path_buf();
        let intent = intent_path(&self.storage, &uuid);
        // Three independent steps at once: flushing the file and reading its header, writing
        // the intent (before the rename, as recovery needs), and looking for the same bytes
        // among the caller's photos.
        let checked = run_blocking(move || {
            tmp.as_file().sync_data()?;
            let stored = image_dimensions(tmp.path(), kind)?;
            let exif = read_exif(tmp.path()).unwrap_or(None).unwrap_or_default();
            Ok((tmp, displayed_size(stored, exif.orientation), exif))
        });
        let intended = {
            let (intent, target) = (intent.clone(), target.clone());
            let data_dir = self.storage.data_dir().to_path_buf();
            run_blocking(move || Ok(write_intent(&intent, &data_dir, &target)?))
        };
        let existing = {
            let checksum = checksum.clone();
            self.db
                .run(move |conn| Ok(repo::find_by_checksum(conn, owner, &checksum)?))
        };
        let (checked, intended, existing) = tokio::join!(checked, intended, existing);
        let _intent_guard = RemoveOnDrop(Some(intent));
        let (tmp, (width, height), exif) = checked?;
        let synced = started.elapsed();
        if let Some(id) = existing? {
            return self.duplicate(caller, id, meta.album_id).await;
        }
        intended?;
        let placed = {
            let target = target.clone();
            run_blocking(move || {
                std::fs::create_dir_all(&dir)?;
                tmp.persist_noclobber(&target).map_err(|e| e.error)?;
                Ok(storage::sync_dir(&dir)?)
            })
            .await
        };
        let mut guard = RemoveOnDrop(Some(target));
        placed?;
        let placed = started.elapsed();

        let camera = camera_info(&exif);
        let location = location(&exif);
        let (meta, mime) = (meta.clone(), kind.mime_type());
        let viewer = Viewer::User(*caller);
        let album_id = meta.album_id;
        let tagging = self.tagger.is_some();
        let inserted = self
            .db
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                if let Some(album) = meta.album_id {
                    // Checked again: the album may have gone while the bytes arrived.
                    check_album_accepts(&tx, viewer, album)?;
                }
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
                queue_step_in(&tx, &MakeThumbnails { photo_id: id }, created_at)?;
                if let Some(album) = meta.album_id {
                    insert_member(&tx, album, id, created_at)?;
                    touch_album(&tx, album, created_at)?;
                }
                if tagging {
                    queue_step_in(&tx, &TagPhoto { photo_id: id }, created_at)?;
                } else {
                    repo::set_step(&tx, id, "tags", "skipped", Some(TAGGING_OFF), created_at)?;
                }
                tx.commit()?;
                Ok(Ok(id))
            })
            .await?;
        log::debug!(
            "upload of {size} bytes in {frames} frames: received and written in {received:.1?}, synced {synced:.1?}, \
             placed {placed:.1?}, committed {:.1?}",
            started.elapsed()
        );
        match inserted {
            Ok(id) => {
                guard.0 = None;
                self.jobs.wake();
                let photo = self.get_photo(Viewer::User(*caller), id).await?;
                Ok(Uploaded {
                    photo,
                    duplicate: false,
                })
            }
            Err(Some(existing)) => self.duplicate(caller, existing, album_id).await,
            Err(None) => Err(AppError::Internal("duplicate photo vanished".into())),
        }
    }

    /// The caller already has these bytes: that photo, put into `album_id` if one was named.
    async fn duplicate(
        &self,
        caller: &Caller,
        id: i64,
        album_id: Option<i64>,
    ) -> Result<Uploaded, AppError> {
        if let Some(album) = album_id {
            let viewer = Viewer::User(*caller);
            let outcome = self.add_to_album(viewer, album, vec![id]).await?;
            if let Some((_, e)) = outcome.failed.into_iter().next() {
                return Err(e);
            }
        }
        let photo = self.get_photo(Viewer::User(*caller), id).await?;
        Ok(Uploaded {
            photo,
            duplicate: true,
        })
    }

    /// Streams `body` into `tmp`, hashing it; at most `max_upload_bytes`. Returns the size, the
    /// SHA-256 hex and the first bytes (for sniffing). Frames are received here while one
    /// blocking thread hashes and another writes the previous ones; the frames are handed on as
    /// they came, never copied.
    async fn receive<S: Stream<Item = io::Result<Bytes>> + Unpin>(
        &self,
        mut body: S,
        tmp: &tempfile::NamedTempFile,
    ) -> Result<(u64, usize, String, Vec<u8>), AppError> {
        let limit = self.limits.max_upload_bytes;
        let file = tmp.as_file().try_clone()?;
        let (hash_tx, hash_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
        let (write_tx, write_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
        let hasher = tokio::task::spawn_blocking(move || hash_batches(hash_rx));
        let writer = tokio::task::spawn_blocking(move || write_batches(file, write_rx));
        // Hands a batch to both threads; false if the writer stopped (its error is reported
        // below).
        let hand_on = |batch: Vec<Bytes>| {
            let (hash_tx, write_tx) = (&hash_tx, &write_tx);
            async move {
                hash_tx.send(batch.clone()).await.is_ok() && write_tx.send(batch).await.is_ok()
            }
        };
        let mut head = Vec::with_capacity(16);
        let mut size: u64 = 0;
        let mut frames = 0;
        let read = async {
            let (mut batch, mut batched) = (Vec::new(), 0);
            while let Some(frame) = body.next().await.transpose()? {
                size += frame.len() as u64;
                frames += 1;
                if size > limit {
                    return Err(MediaError::TooLarge {
                        limit_mb: limit / (1024 * 1024),
                    }
                    .into());
                }
                if head.len() < 16 {
                    head.extend_from_slice(&frame[..frame.len().min(16 - head.len())]);
                }
                batched += frame.len();
                batch.push(frame);
                if batched >= BATCH_BYTES || batch.len() >= BATCH_FRAMES {
                    batched = 0;
                    if !hand_on(std::mem::take(&mut batch)).await {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                hand_on(batch).await;
            }
            Ok::<(), AppError>(())
        };
        let read_result = read.await;
        drop((hash_tx, write_tx));
        let failed =
            |e: tokio::task::JoinError| AppError::Internal(format!("upload thread failed: {e}"));
        let written = writer.await.map_err(failed)?;
        let checksum = hasher.await.map_err(failed)?;
        read_result?;
        written?;
        Ok((size, frames, checksum, head))
    }
}

/// Runs blocking work (file I/O) off the async threads.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("upload task failed: {e}")))?
}

/// The hashing thread of `receive`: the SHA-256 hex of all batches.
fn hash_batches(mut rx: mpsc::Receiver<Vec<Bytes>>) -> String {
    let mut hasher = Sha256::new();
    while let Some(batch) = rx.blocking_recv() {
        for frame in &batch {
            hasher.update(frame);
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The writing thread of `receive`: appends each batch, starting the disk's writeback as it
/// goes.
fn write_batches(mut file: std::fs::File, mut rx: mpsc::Receiver<Vec<Bytes>>) -> io::Result<()> {
    let (mut written, mut handed_to_disk) = (0u64, 0u64);
    while let Some(batch) = rx.blocking_recv() {
        write_all_vectored(&mut file, &batch)?;
        written += batch.iter().map(|f| f.len() as u64).sum::<u64>();
        if written - handed_to_disk >= WRITEBACK_STEP {
            storage::start_writeback(&file, handed_to_disk, written - handed_to_disk);
            handed_to_disk = written;
        }
    }
    Ok(())
}

fn write_all_vectored(file: &mut std::fs::File, frames: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
