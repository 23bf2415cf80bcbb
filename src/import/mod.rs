//! Import folders: the files below a folder become photos of one owner, through the one ingest
//! path (copied, moved or referenced in place). `photox import DIR` runs one import; watched
//! folders (`[[import]]`) run the same steps as jobs.

pub mod repo;
pub mod scan;

use crate::db::ids::{AlbumId, UserId};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::auth::Caller;
use crate::catalog::{Origin, PhotoError, Visibility};
use crate::db::{now, Db};
use crate::error::{AppError, ValidationErrors};
use crate::ingest::{receive, FileMode, Ingest, Meta, Source};
use crate::media::sniff::sniff_image;
use crate::media::MediaError;
use crate::sharing::album_repo::{self, NewAlbum};
use scan::{Excludes, Found, Unusable};

/// What happens to an imported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copied into the library; the file is never touched.
    Copy,
    /// Copied, verified, then deleted from the folder.
    Move,
    /// Referenced where it is; never written, moved or deleted.
    InPlace,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "copy" => Some(Mode::Copy),
            "move" => Some(Mode::Move),
            "in-place" => Some(Mode::InPlace),
            _ => None,
        }
    }
}

/// One import of a folder.
#[derive(Debug, Clone)]
pub struct FolderImport {
    pub dir: PathBuf,
    pub owner: Caller,
    /// Album title: the owner's top-level album of that title, made when missing.
    pub album: Option<String>,
    pub mode: Mode,
    pub excludes: Vec<String>,
}

/// The files an import will go through.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The folder, absolute and with symlinks resolved.
    pub root: PathBuf,
    pub files: Vec<Found>,
    /// Entries that could not be read or named.
    pub unusable: Vec<Unusable>,
}

impl Plan {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    /// The owner already has these bytes.
    Duplicate,
    /// Not a photo Photox stores (counted, not an error).
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub imported: usize,
    pub duplicates: usize,
    pub skipped: usize,
    /// Path relative to the folder, and why.
    pub failed: Vec<(String, String)>,
}

impl Summary {
    fn count(&mut self, relative: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Imported => self.imported += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Failed(reason) => self.failed.push((relative.to_string(), reason.clone())),
        }
    }
}

#[derive(Clone)]
pub struct Importer {
    db: Db,
    ingest: Ingest,
    data_dir: PathBuf,
}

impl Importer {
    pub fn new(db: Db, ingest: Ingest, data_dir: PathBuf) -> Self {
        Self {
            db,
            ingest,
            data_dir,
        }
    }

    /// Checks the folder and lists its files (no contents are read).
    pub async fn plan(&self, import: &FolderImport) -> Result<Plan, AppError> {
        let excludes = Excludes::new(&import.excludes)
            .map_err(|e| ValidationErrors::single("exclude", &e.to_string(), "INVALID_FORMAT"))?;
        let root = checked_root(&import.dir, &self.data_dir)?;
        tokio::task::spawn_blocking(move || {
            let (files, unusable) = scan::walk(&root, &excludes);
            Plan {
                root,
                files,
                unusable,
            }
        })
        .await
        .map_err(|e| AppError::Internal(format!("folder scan failed: {e}")))
    }

    /// Imports every file of `plan`; `on_file` hears of each as it is done. Stops early only
    /// when the disk is full.
    pub async fn run(
        &self,
        import: &FolderImport,
        plan: &Plan,
        mut on_file: impl FnMut(&Found, &Outcome),
    ) -> Result<Summary, AppError> {
        let root = plan.root.to_string_lossy().into_owned();
        let (owner, title) = (import.owner.user_id, import.album.clone());
        let (root_id, album_id) = self
            .db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let now = now();
                let root_id = repo::root_id(&tx, &root, now)?;
                let album_id = match title {
                    Some(title) => Some(album_in(&tx, owner, None, &title, now)?),
                    None => None,
                };
                tx.commit()?;
                Ok((root_id, album_id))
            })
            .await?;
        let mut summary = Summary::default();
        for file in &plan.files {
            let mode = match import.mode {
                Mode::Copy => FileMode::Copy,
                Mode::Move => FileMode::Move,
                Mode::InPlace => FileMode::Reference {
                    root_id,
                    root: plan.root.clone(),
                    path: file.relative.clone(),
                },
            };
            let meta = Meta {
                owner: import.owner,
                filename: file_name(&file.relative),
                title: None,
                description: None,
                visibility: Visibility::Private,
                album_id,
                origin: Origin::Import {
                    import_id: root_id,
                    path: file.relative.clone(),
                },
            };
            let source = Source::File {
                path: file.path.clone(),
                mode,
            };
            let outcome = match self.ingest.ingest(source, meta).await {
                Ok(done) if done.duplicate => Outcome::Duplicate,
                Ok(_) => Outcome::Imported,
                Err(AppError::Photo(PhotoError::InsufficientStorage)) => {
                    return Err(PhotoError::InsufficientStorage.into())
                }
                Err(e) => classify(e),
            };
            summary.count(&file.relative, &outcome);
            on_file(file, &outcome);
        }
        Ok(summary)
    }

    /// What `run` would do, changing nothing: each file is read and hashed, and looked up
    /// among the owner's photos.
    pub async fn dry_run(
        &self,
        import: &FolderImport,
        plan: &Plan,
        mut on_file: impl FnMut(&Found, &Outcome),
    ) -> Result<Summary, AppError> {
        let limit = self.ingest.limits().max_bytes;
        let owner = import.owner.user_id;
        let mut seen = HashSet::new();
        let mut summary = Summary::default();
        for file in &plan.files {
            let path = file.path.clone();
            let read =
                tokio::task::spawn_blocking(move || receive::hash_in_place(&path, limit)).await;
            let outcome = match read {
                Err(e) => Outcome::Failed(format!("could not be read: {e}")),
                Ok(Err(e)) => classify(e),
                Ok(Ok(received)) if sniff_image(&received.head).is_none() => {
                    classify(MediaError::Unsupported.into())
                }
                Ok(Ok(received)) => {
                    let checksum = received.checksum.clone();
                    let known = self
                        .db
                        .run(move |conn| {
                            Ok(crate::catalog::repo::find_by_checksum(
                                conn, owner, &checksum,
                            )?)
                        })
                        .await?;
                    if known.is_some() || !seen.insert(received.checksum) {
                        Outcome::Duplicate
                    } else {
                        Outcome::Imported
                    }
                }
            };
            summary.count(&file.relative, &outcome);
            on_file(file, &outcome);
        }
        Ok(summary)
    }
}

/// Unsupported files are skipped; anything else that went wrong with one file is its failure.
fn classify(e: AppError) -> Outcome {
    match e {
        AppError::Media(MediaError::Unsupported) => {
            Outcome::Skipped("not a photo format Photox stores".into())
        }
        other => Outcome::Failed(other.to_string()),
    }
}

/// The last part of a relative path.
fn file_name(relative: &str) -> String {
    relative.rsplit('/').next().unwrap_or(relative).to_string()
}

/// The folder, absolute and resolved; it must exist and lie outside the data dir.
fn checked_root(dir: &Path, data_dir: &Path) -> Result<PathBuf, AppError> {
    let invalid = |message: &str| ValidationErrors::single("path", message, "INVALID_VALUE");
    let root = dir
        .canonicalize()
        .map_err(|_| invalid("does not exist or cannot be read"))?;
    if !root.is_dir() {
        return Err(invalid("is not a folder").into());
    }
    let data = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    if root.starts_with(&data) || data.starts_with(&root) {
        return Err(invalid("must not contain or lie inside the data directory").into());
    }
    Ok(root)
}

/// The owner's album titled `title` under `parent`, made (private) when missing.
fn album_in(
    conn: &rusqlite::Connection,
    owner: UserId,
    parent: Option<AlbumId>,
    title: &str,
    now: i64,
) -> rusqlite::Result<AlbumId> {
    if let Some(id) = album_repo::find_by_title(conn, owner, parent, title)? {
        return Ok(id);
    }
    let album = NewAlbum {
        owner_id: owner,
        title,
        description: None,
        visibility: Visibility::Private,
        parent_id: parent,
    };
    album_repo::insert_album(conn, &album, now)
}
