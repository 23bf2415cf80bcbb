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

mod reconcile;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::repo::{self, RootCounts};
use super::watcher::{self, Hint, Watching};
use super::Importer;
use crate::auth::{repo as auth_repo, Caller};
use crate::config::{lexical_absolute, ImportConfig, ImportMode};
use crate::db::ids::{ImportRootId, SessionId};
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
}
