//! One path for every way a photo arrives: an HTTP upload (`POST /photos`, album uploads, tus),
//! a file in a watched folder or given to `photox import`. A source — a byte stream, or a file
//! to copy, move or reference in place — and what is known about it go in; out comes the
//! photo's id. Sniffing, hashing, the duplicate rule, EXIF, placing (or referencing), the row
//! and its jobs happen here and only here.
//!
//! Crash guarantees, for every source: a copy is written under `tmp/`, fsynced, and renamed into
//! `originals/` under an intent file before its row is committed (`recovery`), so a crash leaves
//! neither a row without its file nor a file without its row. A moved file leaves its folder only
//! after its copy is committed and verified against its checksum. A referenced file is only read.

mod adopt;
pub mod receive;
pub mod recovery;
mod row;

use crate::db::ids::{AlbumId, ImportRootId, PhotoId};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::auth::Caller;
use crate::catalog::{repo, Origin, PhotoError, Viewer, Visibility};
use crate::crash_points;
use crate::db::{now, Db};
use crate::error::AppError;
use crate::jobs::Jobs;
use crate::media::exif::{read_exif, ExifData};
use crate::media::sniff::{sniff_image, ImageKind};
use crate::media::thumbnail::image_dimensions;
use crate::media::{displayed_size, MediaError};
use crate::sharing::members::check_album_accepts;
use crate::storage::work::WorkDir;
use crate::storage::{self, files, FileKey, Location, Storage};
use receive::Received;

/// Size limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest original (`storage.max_upload_mb`).
    pub max_bytes: u64,
    /// Refuse new photos below this much free disk (`storage.min_free_mb`).
    pub min_free_bytes: u64,
}

/// Where the bytes of a new photo come from.
pub enum Source<'a> {
    /// Bytes arriving (an HTTP body); kept as a copy under `originals/`.
    Stream(BoxStream<'a, io::Result<Bytes>>),
    /// A file on disk, and what to do with it.
    File { path: PathBuf, mode: FileMode },
    /// A file Photox wrote itself on the data dir's file system and has flushed to disk (a
    /// finished tus upload), with the SHA-256 hex it computed while writing it: renamed into
    /// `originals/` instead of copied (see `adopt`). Once the photo is stored the file is gone
    /// from `path`; when it is refused or is a duplicate, it stays there, still the caller's.
    Owned { path: PathBuf, checksum: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMode {
    /// Copied into `originals/`; the source is never touched.
    Copy,
    /// Copied, flushed, verified against its checksum, and then deleted from its folder.
    Move,
    /// Referenced where it is (an in-place import root, `path` relative to it): never written,
    /// moved or deleted.
    Reference {
        root_id: ImportRootId,
        root: PathBuf,
        path: String,
    },
}

/// What is known about a new photo besides its bytes.
#[derive(Debug, Clone)]
pub struct Meta {
    pub owner: Caller,
    /// The name the file had (shown as `original_filename`).
    pub filename: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub album_id: Option<AlbumId>,
    pub origin: Origin,
}

/// The photo a source became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub photo_id: PhotoId,
    /// The owner already had these bytes; `photo_id` is that photo.
    pub duplicate: bool,
}

/// What was learnt from the bytes before anything is placed.
struct Checked {
    size: u64,
    checksum: String,
    kind: ImageKind,
    /// As displayed, after the EXIF orientation.
    dimensions: (u32, u32),
    exif: ExifData,
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

#[derive(Clone)]
pub struct Ingest {
    db: Db,
    storage: Storage,
    /// Where this process keeps files in flight and intents.
    work: Arc<WorkDir>,
    jobs: Jobs,
    limits: Limits,
    /// `tagging.enabled`: whether new photos get a `tags` job.
    tagging: bool,
}

impl Ingest {
    pub fn new(
        db: Db,
        storage: Storage,
        work: WorkDir,
        jobs: Jobs,
        limits: Limits,
        tagging: bool,
    ) -> Self {
        Self {
            db,
            storage,
            work: Arc::new(work),
            jobs,
            limits,
            tagging,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Refuses with 507 when the data dir has less than `storage.min_free_mb` free.
    pub fn ensure_free_space(&self) -> Result<(), AppError> {
        let free = self.storage.free_bytes()?;
        if free < self.limits.min_free_bytes {
            return Err(PhotoError::InsufficientStorage.into());
        }
        Ok(())
    }

    /// Whether `owner` may add new photos to `album` (as `ingest` checks first): for a caller
    /// that learns the album long before the bytes (a tus upload, at its creation).
    pub async fn check_album(&self, owner: Caller, album: AlbumId) -> Result<(), AppError> {
        let viewer = Viewer::User(owner);
        self.db
            .run(move |conn| check_album_accepts(conn, viewer, album))
            .await
    }

    /// Makes `source` a photo of `meta.owner`, or finds the photo it already is.
    pub async fn ingest(&self, source: Source<'_>, meta: Meta) -> Result<Ingested, AppError> {
        if let Some(album) = meta.album_id {
            let viewer = Viewer::User(meta.owner);
            self.db
                .run(move |conn| check_album_accepts(conn, viewer, album))
                .await?;
        }
        self.ensure_free_space()?;
        match source {
            Source::Stream(body) => self.copy_in(body, None, meta).await,
            Source::Owned { path, checksum } => self.adopt(path, checksum, meta).await,
            Source::File { path, mode } => {
                let file = tokio::fs::File::open(&path).await?;
                match mode {
                    FileMode::Copy => self.copy_in(stream_of(file), None, meta).await,
                    FileMode::Move => self.copy_in(stream_of(file), Some(path), meta).await,
                    FileMode::Reference {
                        root_id,
                        root,
                        path: relative,
                    } => {
                        drop(file);
                        let location = Location::Imported {
                            root_id,
                            root,
                            path: relative,
                        };
                        self.reference(path, location, meta).await
                    }
                }
            }
        }
    }

    /// A copy under `originals/` (a stream, or a file copied or moved); `moved_from` is the
    /// file to delete once its copy is safe.
    async fn copy_in(
        &self,
        body: BoxStream<'_, io::Result<Bytes>>,
        moved_from: Option<PathBuf>,
        meta: Meta,
    ) -> Result<Ingested, AppError> {
        let started = std::time::Instant::now();
        let tmp = tempfile::NamedTempFile::new_in(self.work.path())?;
        let received = receive::receive(body, &tmp, self.limits.max_bytes).await?;
        crash_points::reached("ingest.received");
        let kind = image_kind(&received)?;
        self.ensure_free_space()?;
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let created_at = now();
        let key = FileKey {
            owner_id: meta.owner.user_id,
            uuid: &uuid,
            ext: kind.extension(),
            created_at,
        };
        let location = Storage::managed(key);
        let target = self
            .storage
            .path_of(&location)
            .ok_or_else(|| AppError::Internal("a new original has no path".into()))?;
        let intent = recovery::intent_path(self.work.path(), &uuid);
        // Three independent steps at once: flushing the copy and reading its header, writing
        // the intent (before the rename, as recovery needs), and looking for the same bytes
        // among the owner's photos.
        let existing = {
            let (owner, checksum) = (meta.owner.user_id, received.checksum.clone());
            self.db
                .run(move |conn| Ok(repo::find_by_checksum(conn, owner, &checksum)?))
        };
        let checked = run_blocking(move || {
            tmp.as_file().sync_data()?;
            let checked = check(tmp.path(), kind, received)?;
            Ok((tmp, checked))
        });
        let intended = {
            let (intent, target) = (intent.clone(), target.clone());
            let data_dir = self.storage.data_dir().to_path_buf();
            run_blocking(move || Ok(recovery::write_intent(&intent, &data_dir, &target)?))
        };
        let (checked, intended, existing) = tokio::join!(checked, intended, existing);
        let _intent_guard = RemoveOnDrop(Some(intent));
        let (tmp, checked) = checked?;
        crash_points::reached("ingest.synced");
        let existing = existing?;
        if let Some(id) = existing {
            let found = self.duplicate(&meta, id).await?;
            if let Some(source) = moved_from {
                self.remove_moved_duplicate(source, id).await;
            }
            return Ok(found);
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
                tmp.persist_noclobber(&target).map_err(|e| e.error)?;
                Ok(storage::sync_dir(&dir)?)
            })
            .await
        };
        let mut guard = RemoveOnDrop(Some(target.clone()));
        placed?;
        crash_points::reached("ingest.placed");
        let size = checked.size;
        let inserted = self
            .commit(row::NewRow {
                meta: meta.clone(),
                uuid: uuid.clone(),
                created_at,
                checked,
                location,
            })
            .await?;
        log::debug!(
            "ingest of {size} bytes stored and committed in {:.1?}",
            started.elapsed()
        );
        match inserted {
            Ok(id) => {
                guard.0 = None;
                crash_points::reached("ingest.committed");
                if let Some(source) = moved_from {
                    self.remove_moved_source(source, target, size).await;
                }
                Ok(Ingested {
                    photo_id: id,
                    duplicate: false,
                })
            }
            Err(Some(existing)) => self.duplicate(&meta, existing).await,
            Err(None) => Err(AppError::Internal("duplicate photo vanished".into())),
        }
    }

    /// A file referenced where it is: read (hashed, sniffed, EXIF) but never written.
    async fn reference(
        &self,
        path: PathBuf,
        location: Location,
        meta: Meta,
    ) -> Result<Ingested, AppError> {
        let limit = self.limits.max_bytes;
        let checked = run_blocking(move || {
            let received = receive::hash_in_place(&path, limit)?;
            let kind = image_kind(&received)?;
            check(&path, kind, received)
        })
        .await?;
        crash_points::reached("ingest.hashed");
        let (owner, checksum) = (meta.owner.user_id, checked.checksum.clone());
        let existing = self
            .db
            .run(move |conn| Ok(repo::find_by_checksum(conn, owner, &checksum)?))
            .await?;
        if let Some(id) = existing {
            return self.duplicate(&meta, id).await;
        }
        let inserted = self
            .commit(row::NewRow {
                meta: meta.clone(),
                uuid: uuid::Uuid::new_v4().simple().to_string(),
                created_at: now(),
                checked,
                location,
            })
            .await?;
        crash_points::reached("ingest.committed");
        match inserted {
            Ok(id) => Ok(Ingested {
                photo_id: id,
                duplicate: false,
            }),
            Err(Some(existing)) => self.duplicate(&meta, existing).await,
            Err(None) => Err(AppError::Internal("duplicate photo vanished".into())),
        }
    }

    /// Deletes a moved file once its copy is committed and reads back with the same checksum.
    /// If anything is off, the file stays where it was (nothing is lost either way).
    async fn remove_moved_source(&self, source: PathBuf, copy: PathBuf, size: u64) {
        let outcome = tokio::task::spawn_blocking(move || -> io::Result<bool> {
            let (copy_sum, copy_size) = files::sha256_file(&copy)?;
            let (source_sum, source_size) = files::sha256_file(&source)?;
            if copy_sum != source_sum || copy_size != source_size || copy_size != size {
                return Ok(false);
            }
            std::fs::remove_file(&source)?;
            if let Some(dir) = source.parent() {
                storage::sync_dir(dir)?;
            }
            Ok(true)
        })
        .await;
        match outcome {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => log::warn!("a moved file changed while it was copied; it stays"),
            Ok(Err(e)) => log::warn!("a moved file could not be removed from its folder: {e}"),
            Err(e) => log::warn!("removing a moved file failed: {e}"),
        }
    }

    /// A moved file the owner already has: deleted once the library's copy is found to hold the
    /// same bytes (and is not that very file).
    async fn remove_moved_duplicate(&self, source: PathBuf, existing: PhotoId) {
        let found = self
            .db
            .run(move |conn| {
                Ok(repo::find_photo(conn, existing, repo::Access::Any)?
                    .ok_or(PhotoError::NotFound)?)
            })
            .await;
        let Ok(photo) = found else {
            return;
        };
        let key = crate::catalog::service::file_key(&photo);
        let Some(copy) = self.storage.locate(&photo.file, key) else {
            return;
        };
        if same_file(&copy, &source) {
            return;
        }
        self.remove_moved_source(source, copy, photo.size as u64)
            .await;
    }
}

/// The format, decided by the bytes.
fn image_kind(received: &Received) -> Result<ImageKind, AppError> {
    if received.size == 0 {
        return Err(MediaError::Unsupported.into());
    }
    Ok(sniff_image(&received.head).ok_or(MediaError::Unsupported)?)
}

/// Dimensions (as displayed) and EXIF of the file at `path`.
fn check(path: &Path, kind: ImageKind, received: Received) -> Result<Checked, AppError> {
    let stored = image_dimensions(path, kind)?;
    let exif = read_exif(path).unwrap_or(None).unwrap_or_default();
    Ok(Checked {
        size: received.size,
        checksum: received.checksum,
        kind,
        dimensions: displayed_size(stored, exif.orientation),
        exif,
    })
}

fn stream_of(file: tokio::fs::File) -> BoxStream<'static, io::Result<Bytes>> {
    Box::pin(receive::file_stream(file))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

/// Runs blocking work (file I/O) off the async threads.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("ingest task failed: {e}")))?
}
