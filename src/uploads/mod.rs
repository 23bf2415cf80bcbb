//! Resumable uploads (tus 1.0.0, API.md §5.1), finished into the one ingest path.
//!
//! An upload is a row in `uploads` and, while unfinished, a file `<data_dir>/uploads/<id>`.
//! Each request appends to the file (`write`), flushes it, and only then records the new
//! offset, so the recorded offset never counts a byte a crash could lose. Whatever the file
//! holds beyond it (written before a crash, never flushed and recorded) is cut off before the
//! next write; `HEAD` reports the smaller of the two. The request that brings the last byte
//! hands the file to ingest, which renames it into `originals/` (`ingest::Source::Owned`):
//! the photo is made exactly as `POST /photos` makes it, and the upload keeps its photo id
//! until it expires. A finished upload that cannot become a photo (not an image, ...) is
//! removed, and that request answers why.
//!
//! The HTTP side (headers, statuses) is `api::uploads`; this module knows no HTTP.

mod append;
pub mod checksum;
mod concat;
mod expiry;
mod locks;
pub mod metadata;
pub mod repo;
mod write;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use sha2::Sha256;

pub use checksum::ChunkChecksum;
pub use expiry::ExpireUploads;

use crate::auth::Caller;
use crate::catalog::{Origin, Visibility};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::ingest::{Ingest, Ingested, Meta};
use crate::storage::files;
use locks::Locks;
use repo::UploadRow;

/// How long a request waits for another one on the same upload to stop and let go.
const TAKEOVER_WAIT: Duration = Duration::from_secs(20);

/// Why an upload request is refused, in the protocol's words.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("upload not found")]
    NotFound,
    #[error("partial upload not found")]
    PartNotFound,
    #[error("an upload may be at most {limit_mb} MB")]
    TooLarge { limit_mb: u64 },
    #[error("the request has more bytes than the upload's Upload-Length; none of them were kept")]
    PastLength,
    #[error("Upload-Offset {sent} does not match the upload's offset {offset}")]
    OffsetMismatch { sent: u64, offset: u64 },
    #[error("the request's bytes do not match its Upload-Checksum; they were dropped")]
    ChecksumMismatch,
    #[error("{header} {message}")]
    BadHeader {
        header: &'static str,
        message: String,
    },
    #[error("Upload-Metadata {field}: {message}")]
    InvalidMetadata {
        field: String,
        message: String,
        code: &'static str,
    },
    #[error(
        "you have {limit} unfinished uploads (uploads.max_pending_per_user); finish, terminate \
         or let one expire before starting another"
    )]
    TooManyPending { limit: u32 },
    #[error("not enough free disk space for this upload")]
    InsufficientStorage,
    #[error("only the upload of a final concatenation's parts can be written, not the final one")]
    FinalUpload,
    #[error("partial upload {0} is not finished")]
    PartUnfinished(String),
    #[error("the upload is busy with another request; try again")]
    Busy,
    #[error("another request took this upload over; it holds {offset} bytes")]
    TakenOver { offset: u64 },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<rusqlite::Error> for UploadError {
    fn from(e: rusqlite::Error) -> Self {
        UploadError::App(e.into())
    }
}

impl From<io::Error> for UploadError {
    fn from(e: io::Error) -> Self {
        UploadError::App(e.into())
    }
}

/// What an upload becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A photo, when its last byte arrives.
    Single,
    /// A part of a later final upload (`Upload-Concat: partial`).
    Partial,
    /// The parts put together (`Upload-Concat: final;...`), made and finished at once.
    Final,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Partial => "partial",
            Kind::Final => "final",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        match text {
            "single" => Some(Kind::Single),
            "partial" => Some(Kind::Partial),
            "final" => Some(Kind::Final),
            _ => None,
        }
    }
}

/// An upload as a client sees it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: String,
    pub kind: Kind,
    /// `None` while the length is deferred.
    pub length: Option<u64>,
    /// Bytes on disk (all of them once finished).
    pub offset: u64,
    /// `Upload-Metadata` as it was sent.
    pub metadata: String,
    /// A final upload's `Upload-Concat` as it was sent.
    pub concat: Option<String>,
    pub expires_at: i64,
    /// The photo it became, once finished.
    pub photo: Option<Ingested>,
}

/// A new upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// `None`: deferred (`Upload-Defer-Length: 1`), told by a later request.
    pub length: Option<u64>,
    /// `Upload-Metadata` as sent.
    pub metadata: String,
    /// A part of a later concatenation.
    pub partial: bool,
}

/// The bytes of one request.
pub struct Chunk<'a> {
    pub body: BoxStream<'a, io::Result<Bytes>>,
    /// The request's `Content-Length`, when it has one.
    pub declared: Option<u64>,
    pub checksum: Option<ChunkChecksum>,
}

/// One write to an upload.
pub struct Patch<'a> {
    /// Where the client believes the upload ends (`Upload-Offset`).
    pub offset: u64,
    /// A deferred length, told now.
    pub length: Option<u64>,
    pub chunk: Chunk<'a>,
}

/// Limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `storage.max_upload_mb`, in bytes (`Tus-Max-Size`).
    pub max_bytes: u64,
    /// `storage.min_free_mb`, in bytes.
    pub min_free_bytes: u64,
    /// `uploads.expire_after`.
    pub expire_after: Duration,
    /// `uploads.max_pending_per_user`.
    pub max_pending: u32,
}

/// The uploads service. Cheap to clone.
#[derive(Clone)]
pub struct Uploads {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    ingest: Ingest,
    data_dir: PathBuf,
    settings: Settings,
    locks: Locks,
    /// The running SHA-256 of each upload this process is receiving, with the offset it has
    /// reached, so the photo's checksum needs no second read. Rebuilt from the file when
    /// missing (after a restart) or out of step.
    hashes: Mutex<std::collections::HashMap<String, (u64, Sha256)>>,
}

impl Uploads {
    pub fn new(db: Db, ingest: Ingest, data_dir: PathBuf, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                ingest,
                data_dir,
                settings,
                locks: Locks::default(),
                hashes: Mutex::default(),
            }),
        }
    }

    pub fn settings(&self) -> Settings {
        self.inner.settings
    }

    /// Creates an upload of `owner`. Its metadata (and album) are checked now, so a bad value
    /// is refused before any byte is sent. An empty upload is finished at once.
    pub async fn create(&self, owner: Caller, new: NewUpload) -> Result<Upload, UploadError> {
        if let Some(length) = new.length {
            self.check_size(length)?;
        }
        if !new.partial {
            self.ingest_meta(owner, &new.metadata).await?;
        }
        self.ensure_room(new.length.unwrap_or(0))?;
        let created_at = now();
        let row = UploadRow {
            id: uuid::Uuid::new_v4().simple().to_string(),
            owner_id: owner.user_id,
            kind: if new.partial {
                Kind::Partial
            } else {
                Kind::Single
            },
            length: new.length,
            durable_offset: 0,
            metadata: new.metadata,
            concat: None,
            photo: None,
            created_at,
            expires_at: created_at + self.expire_secs(),
        };
        let limit = self.inner.settings.max_pending;
        let inserted = {
            let row = row.clone();
            self.inner
                .db
                .run(move |conn| {
                    let tx = crate::db::write_tx(conn)?;
                    if repo::count_pending(&tx, row.owner_id, row.created_at)? >= i64::from(limit) {
                        return Ok(false);
                    }
                    repo::insert(&tx, &row)?;
                    tx.commit()?;
                    Ok(true)
                })
                .await?
        };
        if !inserted {
            return Err(UploadError::TooManyPending { limit });
        }
        // After the row, so a file in `uploads/` always has its row (see `expiry`).
        let path = self.path_of(&row.id);
        if let Err(e) = run_blocking(move || std::fs::File::create(path).map(drop)).await {
            self.forget(&row.id).await;
            return Err(e);
        }
        if row.kind == Kind::Single && row.length == Some(0) {
            let _lock = self.inner.locks.try_acquire(&row.id);
            return self.finish(owner, row, None).await;
        }
        Ok(self.upload_of(&row, 0))
    }

    /// `owner`'s upload `id`, with the bytes it has on disk. A client asks before it goes on
    /// (tus-js-client and tuspy send `HEAD` only to resume), so a request still on the upload —
    /// one whose connection broke off unnoticed, or one being finished — is taken over as a
    /// `PATCH` would take it over (tusd does the same): it stops, flushes and records what it
    /// received, and that is what is reported, rather than its last checkpoint.
    pub async fn head(&self, owner: Caller, id: &str) -> Result<Upload, UploadError> {
        // Whose it is first: another user's request never disturbs an upload.
        self.find(owner, id).await?;
        // Without the lock (its holder did not let go in time), what is recorded is still true.
        let _lock = self.inner.locks.acquire(id, TAKEOVER_WAIT).await;
        let row = self.find(owner, id).await?;
        if row.photo.is_some() || row.kind == Kind::Final {
            return Ok(self.upload_of(&row, row.length.unwrap_or(row.durable_offset)));
        }
        let on_disk = file_len(&self.path_of(id)).await.unwrap_or(0);
        Ok(self.upload_of(&row, row.durable_offset.min(on_disk)))
    }

    /// Ends `owner`'s upload `id` and removes its bytes (a finished one only forgets its
    /// photo id; the photo stays). A request writing to it is stopped first.
    pub async fn terminate(&self, owner: Caller, id: &str) -> Result<(), UploadError> {
        self.find(owner, id).await?;
        let _lock = self
            .inner
            .locks
            .acquire(id, TAKEOVER_WAIT)
            .await
            .ok_or(UploadError::Busy)?;
        self.find(owner, id).await?;
        self.forget(id).await;
        Ok(())
    }

    /// When `owner`'s upload `id` expires, if it is still there (read without taking over a
    /// request that writes to it).
    pub async fn expires_at(&self, owner: Caller, id: &str) -> Option<i64> {
        self.find(owner, id).await.ok().map(|row| row.expires_at)
    }

    /// The row of `owner`'s upload `id`, if it has not expired.
    async fn find(&self, owner: Caller, id: &str) -> Result<UploadRow, UploadError> {
        check_id(id)?;
        let id = id.to_string();
        let row = self
            .inner
            .db
            .run(move |conn| Ok(repo::find(conn, &id, owner.user_id, now())?))
            .await?;
        row.ok_or(UploadError::NotFound)
    }

    /// Deletes an upload's row and file (what is gone stays gone).
    async fn forget(&self, id: &str) {
        self.inner.hashes_remove(id);
        let owned = id.to_string();
        if let Err(e) = self
            .inner
            .db
            .run(move |conn| Ok(repo::delete(conn, &owned)?))
            .await
        {
            log::error!("an upload's row could not be deleted: {e}");
        }
        self.remove_file(id).await;
    }

    /// Removes the bytes of uploads whose rows are gone with their owner's account (after the
    /// commit that deleted them). A request still writing to one fails at its next step.
    pub async fn remove_files_of_deleted(&self, ids: Vec<String>) {
        for id in ids.into_iter().filter(|id| is_upload_id(id)) {
            self.inner.hashes_remove(&id);
            self.remove_file(&id).await;
        }
    }

    async fn remove_file(&self, id: &str) {
        let path = self.path_of(id);
        let _ = run_blocking(move || {
            crate::storage::remove_if_present(&path);
            Ok(())
        })
        .await;
    }

    fn upload_of(&self, row: &UploadRow, offset: u64) -> Upload {
        Upload {
            id: row.id.clone(),
            kind: row.kind,
            length: row.length,
            offset,
            metadata: row.metadata.clone(),
            concat: row.concat.clone(),
            expires_at: row.expires_at,
            photo: row.photo.map(|(photo_id, duplicate)| Ingested {
                photo_id,
                duplicate,
            }),
        }
    }

    /// What ingest is told about the photo, from the upload's metadata (checked again here,
    /// with its album, as at creation).
    async fn ingest_meta(&self, owner: Caller, metadata: &str) -> Result<Meta, UploadError> {
        let meta = metadata::parse(metadata)?;
        if let Some(album) = meta.album_id {
            self.inner.ingest.check_album(owner, album).await?;
        }
        Ok(Meta {
            owner,
            filename: meta.filename.unwrap_or_else(|| "upload".into()),
            title: meta.title,
            description: meta.description,
            visibility: meta.visibility.unwrap_or(Visibility::Private),
            album_id: meta.album_id,
            origin: Origin::Upload,
        })
    }

    fn check_size(&self, length: u64) -> Result<(), UploadError> {
        let max = self.inner.settings.max_bytes;
        if length > max {
            return Err(UploadError::TooLarge {
                limit_mb: max / (1024 * 1024),
            });
        }
        Ok(())
    }

    /// Refuses (507) when `bytes` more would take the disk below `storage.min_free_mb`.
    fn ensure_room(&self, bytes: u64) -> Result<(), UploadError> {
        let free = files::free_bytes(&self.inner.data_dir)?;
        if free < bytes.saturating_add(self.inner.settings.min_free_bytes) {
            return Err(UploadError::InsufficientStorage);
        }
        Ok(())
    }

    fn expire_secs(&self) -> i64 {
        self.inner.settings.expire_after.as_secs().max(1) as i64
    }

    fn dir(&self) -> PathBuf {
        self.inner.data_dir.join("uploads")
    }

    /// `uploads/<id>`; `id` is checked to be 32 hex digits before it gets here.
    fn path_of(&self, id: &str) -> PathBuf {
        self.dir().join(id)
    }
}

impl Inner {
    fn hashes_remove(&self, id: &str) {
        self.hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// Ids are 32 lower-case hex digits; anything else names no upload.
fn check_id(id: &str) -> Result<(), UploadError> {
    if is_upload_id(id) {
        Ok(())
    } else {
        Err(UploadError::NotFound)
    }
}

fn is_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The length of the file at `path`, `None` when it is missing.
async fn file_len(path: &Path) -> Option<u64> {
    tokio::fs::metadata(path).await.ok().map(|m| m.len())
}

/// Runs blocking file work off the async threads.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, UploadError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("upload task failed: {e}")))?
        .map_err(UploadError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_generated_ids_name_uploads() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        assert!(is_upload_id(&id));
        for bad in [
            "",
            "../../etc/passwd",
            &id.to_uppercase(),
            &format!("{id}0"),
            "x",
        ] {
            assert!(!is_upload_id(bad), "{bad}");
        }
    }
}
