//! Watched import folders (`[[import]]`, API.md §14). A scan is the truth: it compares path,
//! size and modification time of every file below the root with what is known
//! (`import_files`) and reads no file it has seen unchanged. File-system events only make a
//! scan come sooner. Scans are durable jobs (`import_scan`, one per folder at a time), run at
//! start, every `interval`, after events and on `POST /admin/imports/{id}/rescan`.
//!
//! A file is taken once its size and modification time stood still for `settle`. A folder
//! that is missing, empty or lost more than half of its known files at once (an unmounted
//! disk) is not reconciled at all: nothing is marked and nothing deleted until a good scan
//! (or an admin's rescan, which accepts a loss of files but never an empty folder).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::repo::{self, FileState, KnownFile, RootCounts};
use super::scan::{self, Excludes, Found};
use super::watcher::{self, Hint, Watching};
use super::{Importer, Mode, Outcome, Target};
use crate::auth::{repo as auth_repo, Caller};
use crate::config::{lexical_absolute, ImportConfig, ImportMode};
use crate::db::ids::{ImportRootId, PhotoId, SessionId};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::jobs::{handler_fn, JobError, JobKind, Jobs, Priority, RetryPolicy};

/// Polled folders are scanned at least this often (or every `interval` when shorter).
const POLL_EVERY: Duration = Duration::from_secs(60);
/// Events are gathered this long after the last one before a scan is queued.
const QUIET: Duration = Duration::from_millis(500);

/// Scans one watched folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportScan {
    pub root: ImportRootId,
    /// An admin asked for it: a loss of more than half of the files is accepted.
    #[serde(default)]
    pub confirmed: bool,
}

impl JobKind for ImportScan {
    const NAME: &'static str = "import_scan";
    const PRIORITY: Priority = Priority::LOW;
    const RETRY: RetryPolicy = RetryPolicy::attempts(3);

    fn unique_key(&self) -> Option<String> {
        Some(self.root.to_string())
    }
}

/// A configuration error of an `[[import]]` table found when the database is at hand.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for `import[{index}].owner`: no active user named `{owner}`")]
pub struct UnknownOwner {
    pub index: usize,
    pub owner: String,
}

/// One configured folder.
struct Root {
    id: ImportRootId,
    config: ImportConfig,
    owner: Caller,
    /// As configured, made absolute.
    path: PathBuf,
    status: Mutex<RootStatus>,
    /// Events arrived while a scan ran: another one follows.
    dirty: AtomicBool,
}

#[derive(Debug, Clone)]
struct RootStatus {
    watching: Watching,
    scanning: bool,
}

/// A folder as `GET /admin/imports` shows it.
#[derive(Debug, Clone)]
pub struct ImportStatus {
    pub id: ImportRootId,
    pub path: PathBuf,
    pub owner: String,
    pub mode: ImportMode,
    /// Polled (with the reason) or watched by events.
    pub watching: Watching,
    pub scanning: bool,
    pub counts: RootCounts,
}

/// The watched folders of the configuration.
#[derive(Clone)]
pub struct WatchedFolders {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    jobs: Jobs,
    importer: Importer,
    roots: RwLock<Vec<Arc<Root>>>,
    reconfigured: tokio::sync::Notify,
    /// `run` is watching: a new configuration must rebuild its watches.
    running: AtomicBool,
}

impl WatchedFolders {
    pub fn new(db: Db, jobs: Jobs, importer: Importer) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                jobs,
                importer,
                roots: RwLock::new(Vec::new()),
                reconfigured: tokio::sync::Notify::new(),
                running: AtomicBool::new(false),
            }),
        }
    }

    /// Takes the `[[import]]` tables: each owner must be an active user. Folders are not
    /// checked here; a missing one is paused by its scans.
    pub fn configure(&self, imports: &[ImportConfig]) -> Result<(), AppError> {
        let mut roots = Vec::new();
        for (index, config) in imports.iter().enumerate() {
            let owner_name = config.owner.clone();
            let path = lexical_absolute(&config.path);
            let key = path
                .canonicalize()
                .unwrap_or_else(|_| path.clone())
                .to_string_lossy()
                .into_owned();
            let (user, id) = self.inner.db.run_sync(move |conn| {
                let user = auth_repo::find_login(conn, &owner_name)?.map(|(u, _)| u);
                let id = repo::root_id(conn, &key, now())?;
                Ok((user, id))
            })?;
            let user = user.filter(|u| u.is_active).ok_or_else(|| {
                AppError::Internal(
                    UnknownOwner {
                        index,
                        owner: config.owner.clone(),
                    }
                    .to_string(),
                )
            })?;
            roots.push(Arc::new(Root {
                id,
                config: config.clone(),
                owner: Caller {
                    user_id: user.id,
                    session_id: SessionId(0),
                    role: user.role,
                },
                path,
                status: Mutex::new(RootStatus {
                    watching: Watching::Poll("not started".into()),
                    scanning: false,
                }),
                dirty: AtomicBool::new(false),
            }));
        }
        let old = std::mem::replace(
            &mut *self.inner.roots.write().unwrap_or_else(|p| p.into_inner()),
            roots,
        );
        for root in old {
            self.inner.jobs.unschedule(&ImportScan {
                root: root.id,
                confirmed: false,
            });
        }
        if self.inner.running.load(Ordering::SeqCst) {
            self.inner.reconfigured.notify_one();
        }
        Ok(())
    }

    /// Registers the scan job kind.
    pub fn register_jobs(&self, jobs: &Jobs) {
        let folders = self.clone();
        jobs.register(handler_fn(
            move |job: ImportScan, ctx: crate::jobs::JobContext| {
                let folders = folders.clone();
                async move {
                    let Some(root) = folders.root(job.root) else {
                        return Ok(()); // no longer configured
                    };
                    let again = folders
                        .scan(&root, job.confirmed, || ctx.is_cancelled())
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    if let Some(at) = again {
                        ctx.run_again_at(at);
                    }
                    Ok(())
                }
            },
        ));
    }

    fn root(&self, id: ImportRootId) -> Option<Arc<Root>> {
        let roots = self.inner.roots.read().unwrap_or_else(|p| p.into_inner());
        roots.iter().find(|r| r.id == id).cloned()
    }

    fn roots(&self) -> Vec<Arc<Root>> {
        self.inner
            .roots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Queues a scan of folder `id` now (an admin's rescan); `false` if no such folder.
    pub async fn rescan(&self, id: ImportRootId) -> Result<bool, AppError> {
        if self.root(id).is_none() {
            return Ok(false);
        }
        let job = ImportScan {
            root: id,
            confirmed: true,
        };
        self.inner.jobs.enqueue_by(job, now()).await?;
        Ok(true)
    }

    /// Every configured folder with its state and counts.
    pub async fn status(&self) -> Result<Vec<ImportStatus>, AppError> {
        let mut out = Vec::new();
        for root in self.roots() {
            let id = root.id;
            let owner_id = root.owner.user_id;
            let (counts, owner) = self
                .inner
                .db
                .run(move |conn| {
                    let owner = auth_repo::find_user(conn, owner_id)?.map(|u| u.username);
                    Ok((repo::root_counts(conn, id)?, owner))
                })
                .await?;
            let status = root
                .status
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            out.push(ImportStatus {
                id,
                path: root.path.clone(),
                owner: owner.unwrap_or_else(|| root.config.owner.clone()),
                mode: root.config.mode,
                watching: status.watching,
                scanning: status.scanning,
                counts,
            });
        }
        Ok(out)
    }

    /// Watches every folder until `stop`: events queue scans, and every folder is scanned on
    /// its schedule. Rebuilt when the configuration changes.
    pub async fn run(self, stop: CancellationToken) {
        self.inner.running.store(true, Ordering::SeqCst);
        loop {
            let round = CancellationToken::new();
            let mut tasks = tokio::task::JoinSet::new();
            let mut watchers = Vec::new();
            for root in self.roots() {
                let (tx, rx) = mpsc::unbounded_channel();
                let (watcher, watching) = watcher::watch(&root.path, root.config.watch, tx);
                if let Watching::Poll(reason) = &watching {
                    log::info!("import folder {}: polled ({reason})", root.path.display());
                }
                let every = match watching {
                    Watching::Events => root.config.interval.0,
                    Watching::Poll(_) => root.config.interval.0.min(POLL_EVERY),
                };
                root.status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .watching = watching;
                let job = ImportScan {
                    root: root.id,
                    confirmed: false,
                };
                self.inner.jobs.schedule(every, job);
                watchers.push(watcher);
                tasks.spawn(self.clone().forward_hints(root, rx, round.clone()));
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = self.inner.reconfigured.notified() => {}
            }
            round.cancel();
            drop(watchers);
            while tasks.join_next().await.is_some() {}
            if stop.is_cancelled() {
                self.inner.running.store(false, Ordering::SeqCst);
                return;
            }
        }
    }

    /// Turns a folder's events into scans: after a quiet moment, one scan for many events.
    async fn forward_hints(
        self,
        root: Arc<Root>,
        mut hints: mpsc::UnboundedReceiver<Hint>,
        stop: CancellationToken,
    ) {
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                hint = hints.recv() => match hint { Some(h) => h, None => return },
            };
            if first == Hint::Overflow {
                log::warn!(
                    "import folder {}: events were lost; rescanning",
                    root.path.display()
                );
            }
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(QUIET) => break,
                    more = hints.recv() => if more.is_none() { return },
                }
            }
            root.dirty.store(true, Ordering::SeqCst);
            let job = ImportScan {
                root: root.id,
                confirmed: false,
            };
            if let Err(e) = self.inner.jobs.enqueue_by(job, now()).await {
                log::warn!("could not queue a scan of {}: {e}", root.path.display());
            }
        }
    }

    /// One scan of `root`; returns when the next one is due, if sooner than its schedule
    /// (events came during the scan, or files are still settling).
    async fn scan(
        &self,
        root: &Arc<Root>,
        confirmed: bool,
        cancelled: impl Fn() -> bool,
    ) -> Result<Option<i64>, AppError> {
        root.dirty.store(false, Ordering::SeqCst);
        self.set_scanning(root, true);
        let result = self.reconcile(root, confirmed, &cancelled).await;
        self.set_scanning(root, false);
        let settling = result?;
        if root.dirty.swap(false, Ordering::SeqCst) {
            return Ok(Some(now()));
        }
        Ok(settling)
    }

    fn set_scanning(&self, root: &Root, scanning: bool) {
        root.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .scanning = scanning;
    }

    /// Compares the folder with what is known and brings the library in line. Returns when
    /// the next look is due for files still settling (seconds since the epoch).
    async fn reconcile(
        &self,
        root: &Arc<Root>,
        confirmed: bool,
        cancelled: &impl Fn() -> bool,
    ) -> Result<Option<i64>, AppError> {
        let id = root.id;
        let db = &self.inner.db;
        let excludes =
            Excludes::new(&root.config.exclude).map_err(|e| AppError::Internal(e.to_string()))?;
        let path = root.path.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let resolved = path.canonicalize()?;
            std::fs::read_dir(&resolved)?;
            let (found, unusable) = scan::walk(&resolved, &excludes);
            Ok::<_, std::io::Error>((resolved, found, unusable))
        })
        .await
        .map_err(|e| AppError::Internal(format!("folder scan failed: {e}")))?;
        let (resolved, found, unusable) = match listed {
            Ok(listed) => listed,
            Err(e) => {
                let reason = format!("the folder is missing or cannot be read ({})", e.kind());
                return self.pause(root, reason).await;
            }
        };
        for u in &unusable {
            log::debug!("import: {} skipped: {}", u.path.display(), u.reason);
        }
        let known = db.run(move |conn| Ok(repo::known_files(conn, id)?)).await?;
        let moves = root.config.mode == ImportMode::Move;
        let present: HashSet<&str> = found.iter().map(|f| f.relative.as_str()).collect();
        let expected = known
            .values()
            .filter(|k| k.state != FileState::Missing)
            .count();
        let lost = known
            .iter()
            .filter(|(p, k)| k.state != FileState::Missing && !present.contains(p.as_str()))
            .count();
        if !moves && found.is_empty() && expected > 0 {
            let reason = format!(
                "the folder is empty but {expected} files were known: is its disk mounted?"
            );
            return self.pause(root, reason).await;
        }
        if !moves && !confirmed && lost * 2 > expected {
            let reason = format!(
                "{lost} of {expected} known files are gone at once: is its disk mounted? \
                 (a rescan from the admin page accepts the loss)"
            );
            return self.pause(root, reason).await;
        }

        // Files gone since the last scan.
        let gone: Vec<(String, KnownFile)> = known
            .iter()
            .filter(|(p, k)| k.state != FileState::Missing && !present.contains(p.as_str()))
            .map(|(p, k)| (p.clone(), k.clone()))
            .collect();
        let in_place = root.config.mode == ImportMode::InPlace;
        db.run(move |conn| {
            let tx = crate::db::write_tx(conn)?;
            for (path, mut file) in gone {
                if moves && matches!(file.state, FileState::Imported | FileState::Duplicate) {
                    continue; // moved into the library: gone as it should be
                }
                if let (true, FileState::Imported, Some(photo)) =
                    (in_place, file.state, file.photo_id)
                {
                    repo::set_offline(&tx, photo, true)?;
                }
                file.state = FileState::Missing;
                repo::put_file(&tx, id, &path, &file, None)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;

        // New and changed files, and files back in place.
        let now_ms = now_millis();
        let settle_ms = root.config.settle.0.as_millis() as i64;
        let missing_by_shape: HashSet<(u64, i64)> = known
            .iter()
            .filter(|(p, k)| k.state == FileState::Missing || !present.contains(p.as_str()))
            .filter(|(_, k)| k.photo_id.is_some())
            .map(|(_, k)| (k.size, k.mtime_ns))
            .collect();
        let mut take = Vec::new();
        let mut updates = Vec::new();
        let mut next_look: Option<i64> = None;
        for file in &found {
            let seen = known.get(&file.relative);
            let same = seen.is_some_and(|k| k.size == file.size && k.mtime_ns == file.mtime_ns);
            match seen {
                Some(k) if same && k.state == FileState::Missing => {
                    if let (true, Some(photo)) = (in_place, k.photo_id) {
                        updates.push((file.relative.clone(), k.clone(), Some(photo)));
                    } else {
                        take.push(file);
                    }
                }
                Some(k) if same && k.state == FileState::Pending => {
                    if now_ms - k.seen_at >= settle_ms {
                        take.push(file);
                    } else {
                        let due = k.seen_at + settle_ms;
                        next_look = Some(next_look.map_or(due, |n: i64| n.min(due)));
                    }
                }
                Some(k)
                    if same
                        && !(moves
                            && matches!(k.state, FileState::Imported | FileState::Duplicate)) => {}
                _ => {
                    // New or changed: the settle clock starts now, unless it is a file that
                    // was renamed or moved inside the folder (same size and time as one gone).
                    let renamed = in_place
                        && missing_by_shape.contains(&(file.size, file.mtime_ns))
                        && seen.is_none();
                    if renamed || settle_ms == 0 {
                        take.push(file);
                    } else {
                        let due = now_ms + settle_ms;
                        next_look = Some(next_look.map_or(due, |n: i64| n.min(due)));
                    }
                    let pending = KnownFile {
                        size: file.size,
                        mtime_ns: file.mtime_ns,
                        seen_at: now_ms,
                        state: FileState::Pending,
                        photo_id: None,
                    };
                    updates.push((file.relative.clone(), pending, None));
                }
            }
        }
        db.run(move |conn| {
            let tx = crate::db::write_tx(conn)?;
            for (path, mut file, back) in updates {
                if let Some(photo) = back {
                    repo::set_offline(&tx, photo, false)?;
                    file.state = FileState::Imported;
                }
                repo::put_file(&tx, id, &path, &file, None)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;

        for file in take {
            if cancelled() {
                return Err(AppError::Internal(
                    "stopped; the scan resumes after the restart".into(),
                ));
            }
            self.take(root, &resolved, file).await?;
        }
        db.run(move |conn| Ok(repo::finish_scan(conn, id, now(), None)?))
            .await?;
        Ok(next_look.map(|ms| (ms + 999) / 1000))
    }

    /// Records a paused scan: nothing else changes.
    async fn pause(&self, root: &Root, reason: String) -> Result<Option<i64>, AppError> {
        log::warn!("import folder {} paused: {reason}", root.path.display());
        let id = root.id;
        self.inner
            .db
            .run(move |conn| Ok(repo::finish_scan(conn, id, now(), Some(&reason))?))
            .await?;
        Ok(None)
    }

    /// Ingests one settled file and records what became of it.
    async fn take(&self, root: &Root, resolved: &Path, file: &Found) -> Result<(), AppError> {
        let importer = &self.inner.importer;
        let config = &root.config;
        let album_id = importer
            .album_for(
                root.owner.user_id,
                config.album.clone(),
                config.album_from_folders,
                &file.relative,
            )
            .await?;
        let mode = match config.mode {
            ImportMode::Copy => Mode::Copy,
            ImportMode::Move => Mode::Move,
            ImportMode::InPlace => Mode::InPlace,
        };
        let target = Target {
            owner: root.owner,
            mode,
            root_id: root.id,
            root: resolved,
            album_id,
        };
        let (outcome, photo) = importer.ingest_one(&target, file).await?;
        crate::crash_points::reached("import.taken");
        let (id, relative) = (root.id, file.relative.clone());
        let in_place = mode == Mode::InPlace;
        let gone_path = resolved.to_path_buf();
        let record = KnownFile {
            size: file.size,
            mtime_ns: file.mtime_ns,
            seen_at: now_millis(),
            state: FileState::Pending,
            photo_id: photo,
        };
        if let Outcome::Failed(reason) = &outcome {
            log::warn!(
                "import folder {}: {} failed: {reason}",
                root.path.display(),
                file.relative
            );
        }
        self.inner
            .db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let mut record = record;
                let mut reason = None;
                record.state = match &outcome {
                    Outcome::Imported => FileState::Imported,
                    Outcome::Skipped(_) => FileState::Skipped,
                    Outcome::Failed(why) => {
                        reason = Some(why.clone());
                        FileState::Failed
                    }
                    Outcome::Duplicate => {
                        let photo = record.photo_id.expect("a duplicate names its photo");
                        duplicate_state(&tx, id, &relative, photo, in_place, &gone_path)?
                    }
                };
                repo::put_file(&tx, id, &relative, &record, reason.as_deref())?;
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// What a file whose bytes the owner already has is: the same photo found again (a scan cut
/// short before it recorded the file), a renamed or moved in-place file (the photo follows
/// it), or a duplicate.
fn duplicate_state(
    conn: &rusqlite::Connection,
    root: ImportRootId,
    relative: &str,
    photo: PhotoId,
    in_place: bool,
    resolved_root: &Path,
) -> rusqlite::Result<FileState> {
    if let Some((origin_root, origin_path)) = repo::origin_of(conn, photo)? {
        if origin_root == root && origin_path == relative {
            if in_place {
                // Its file came back (written again) where it was.
                repo::set_offline(conn, photo, false)?;
            }
            return Ok(FileState::Imported);
        }
    }
    if in_place {
        if let Some((file_root, old)) = repo::in_place_location(conn, photo)? {
            if file_root == root && old != relative && !resolved_root.join(&old).exists() {
                repo::relocate(conn, photo, relative)?;
                repo::forget_file(conn, root, &old)?;
                return Ok(FileState::Imported);
            }
        }
    }
    Ok(FileState::Duplicate)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
