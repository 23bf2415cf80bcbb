//! `AppState`, built once from the configuration (each feature registers its job kinds and
//! schedules here), and `App::serve`, which runs the HTTP server and the owned background tasks
//! until `shutdown` resolves.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use poem::listener::Acceptor;
use tokio::signal::unix::Signal;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::account_removal::AccountRemoval;
use crate::auth::tokens::TokenKeys;
use crate::auth::Accounts;
use crate::batch::Batch;
use crate::catalog::signing::UrlSigner;
use crate::catalog::Catalog;
use crate::config::{Config, ConfigError, Overrides};
use crate::db::Db;
use crate::error::AppError;
use crate::import::watched::WatchedFolders;
use crate::import::Importer;
use crate::ingest::{self, Ingest};
use crate::jobs::Jobs;
use crate::processing::Processing;
use crate::ratelimit::RateLimiter;
use crate::search::Search;
use crate::sharing::members::Members;
use crate::sharing::Sharing;
use crate::storage::work::{self, WorkDir};
use crate::storage::Storage;
use crate::tagging::Tagger;
use crate::trash::Trash;
use crate::uploads::{self, Uploads};

/// Directories under the data dir (API.md §12).
pub const SUBDIRS: &[&str] = &[
    "originals",
    "trash",
    "thumbnails",
    "tmp",
    "avatars",
    "uploads",
];
const HEALTH_PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long SIGTERM waits for requests in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a job running at SIGTERM may take to finish (it is told to stop at once) before
/// it is cancelled and put back to pending; within the drain time, which runs alongside.
pub const JOB_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    config: RwLock<Arc<Config>>,
    config_file: Option<PathBuf>,
    overrides: Overrides,
    data_dir: PathBuf,
    db: Db,
    accounts: Accounts,
    catalog: Catalog,
    trash: Trash,
    processing: Processing,
    members: Members,
    batch: Batch,
    ingest: Ingest,
    uploads: Uploads,
    sharing: Sharing,
    account_removal: AccountRemoval,
    watched: WatchedFolders,
    search: Search,
    jobs: Jobs,
    limiter: RateLimiter,
    /// The last health probe; `/health` is public, so probes run at most once a second.
    health: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl AppState {
    /// Prepares the data dir (clearing `tmp/`), opens the database and loads the signing key.
    /// For the daemon: nothing else may be writing to `tmp/`.
    pub fn open(
        config: Config,
        config_file: Option<PathBuf>,
        overrides: Overrides,
    ) -> Result<Self, AppError> {
        prepare_data_dir(&config.storage.data_dir)?;
        let state = Self::build(config, config_file, overrides)?;
        let removed =
            ingest::recovery::recover_interrupted(state.db(), state.catalog().storage(), true)?;
        if removed > 0 {
            log::warn!(
                "removed {removed} originals of uploads interrupted before they were stored"
            );
        }
        clear_tmp(state.data_dir())?;
        let imports = state.config().import.clone();
        state
            .watched()
            .configure(&imports)
            .map_err(|e| AppError::Internal(format!("configuration error: {e}")))?;
        Ok(state)
    }

    /// Opens the same state for a command-line tool, which may run beside the daemon: of `tmp/`
    /// only what dead processes left is recovered.
    pub fn open_beside_daemon(config: Config) -> Result<Self, AppError> {
        prepare_data_dir(&config.storage.data_dir)?;
        let state = Self::build(config, None, Overrides::default())?;
        // Only what dead processes left: the daemon's own work dir is locked while it runs.
        ingest::recovery::recover_interrupted(state.db(), state.catalog().storage(), false)?;
        Ok(state)
    }

    fn build(
        config: Config,
        config_file: Option<PathBuf>,
        overrides: Overrides,
    ) -> Result<Self, AppError> {
        let data_dir = config.storage.data_dir.clone();
        let db = Db::open(&data_dir.join("photox.db"))?;
        let keys = TokenKeys::load_or_create(&data_dir)?;
        let jobs = Jobs::new(db.clone());
        let storage = Storage::new(data_dir.clone());
        let retention = i64::from(config.storage.trash_retention_days) * 86400;
        let signer = UrlSigner::new(keys.url_key());
        let catalog = Catalog::new(db.clone(), storage.clone(), signer, retention);
        let trash = Trash::new(db.clone(), storage.clone(), catalog.clone());
        let tagger = config.tagging.enabled.then(|| Tagger::new(&config.tagging));
        let processing = Processing::new(
            db.clone(),
            storage.clone(),
            jobs.clone(),
            catalog.clone(),
            tagger,
        );
        let members = Members::new(db.clone());
        let batch = Batch::new(catalog.clone(), trash.clone(), members.clone());
        let ingest = Ingest::new(
            db.clone(),
            storage.clone(),
            WorkDir::create(&data_dir)?,
            jobs.clone(),
            ingest::Limits {
                max_bytes: config.storage.max_upload_mb * 1024 * 1024,
                min_free_bytes: config.storage.min_free_mb * 1024 * 1024,
            },
            config.tagging.enabled,
        );
        let accounts = Accounts::new(
            db.clone(),
            keys,
            config.auth.access_ttl.0,
            config.auth.refresh_ttl.0,
            data_dir.join("avatars"),
        );
        let uploads = Uploads::new(
            db.clone(),
            ingest.clone(),
            data_dir.clone(),
            uploads::Settings {
                max_bytes: config.storage.max_upload_mb * 1024 * 1024,
                min_free_bytes: config.storage.min_free_mb * 1024 * 1024,
                expire_after: config.uploads.expire_after.0,
                max_pending: config.uploads.max_pending_per_user,
            },
        );
        processing.register_jobs(&jobs);
        trash.register_jobs(&jobs);
        accounts.register_jobs(&jobs);
        uploads.register_jobs(&jobs);
        let sharing = Sharing::new(db.clone(), trash.clone());
        let account_removal =
            AccountRemoval::new(db.clone(), storage, accounts.clone(), uploads.clone());
        let importer = Importer::new(db.clone(), ingest.clone(), data_dir.clone());
        let watched = WatchedFolders::new(db.clone(), jobs.clone(), importer);
        watched.register_jobs(&jobs);
        let search = Search::new(db.clone(), catalog.clone());
        Ok(Self {
            inner: Arc::new(StateInner {
                config: RwLock::new(Arc::new(config)),
                config_file,
                overrides,
                data_dir,
                db,
                accounts,
                catalog,
                trash,
                processing,
                members,
                batch,
                ingest,
                uploads,
                sharing,
                account_removal,
                watched,
                search,
                jobs,
                limiter: RateLimiter::default(),
                health: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> Arc<Config> {
        self.inner
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn trash(&self) -> &Trash {
        &self.inner.trash
    }

    pub fn processing(&self) -> &Processing {
        &self.inner.processing
    }

    pub fn members(&self) -> &Members {
        &self.inner.members
    }

    pub fn batch(&self) -> &Batch {
        &self.inner.batch
    }

    pub fn ingest(&self) -> &Ingest {
        &self.inner.ingest
    }

    /// Resumable (tus) uploads.
    pub fn uploads(&self) -> &Uploads {
        &self.inner.uploads
    }

    /// The job service: tests and features register kinds and schedules on it before
    /// `App::serve` starts the workers.
    pub fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    pub fn sharing(&self) -> &Sharing {
        &self.inner.sharing
    }

    pub fn account_removal(&self) -> &AccountRemoval {
        &self.inner.account_removal
    }

    pub fn watched(&self) -> &WatchedFolders {
        &self.inner.watched
    }

    pub fn search(&self) -> &Search {
        &self.inner.search
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Background workers: `jobs.workers`, or one per core when 0.
    pub fn worker_count(&self) -> usize {
        match self.config().jobs.workers {
            0 => std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            n => n,
        }
    }

    /// Re-reads the configuration (SIGHUP). Log level, registration and rate limits apply at
    /// once; a change to anything else is logged as needing a restart.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let fresh = Config::load(self.inner.config_file.as_deref(), &self.inner.overrides)?;
        let mut guard = self.inner.config.write().unwrap_or_else(|p| p.into_inner());
        let old = guard.clone();
        let mut next = (*old).clone();
        next.log = fresh.log.clone();
        next.auth.registration = fresh.auth.registration;
        next.limits = fresh.limits.clone();
        if next.import != fresh.import {
            match self.watched().configure(&fresh.import) {
                Ok(()) => next.import = fresh.import.clone(),
                Err(e) => log::error!("import folders not reloaded: {e}"),
            }
        }
        log::set_max_level(next.log_level());
        if next != fresh {
            log::warn!("configuration reloaded; changes outside log, auth.registration, limits and import need a restart");
        } else {
            log::info!("configuration reloaded");
        }
        *guard = Arc::new(next);
        Ok(())
    }

    /// Whether the database and the data dir accept writes (probed at most once a second).
    pub async fn check_health(&self) -> Result<(), String> {
        let mut last = self.inner.health.lock().await;
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < HEALTH_PROBE_EVERY {
                return result.clone();
            }
        }
        let result = self.probe_health().await;
        *last = Some((Instant::now(), result.clone()));
        result
    }

    async fn probe_health(&self) -> Result<(), String> {
        self.db()
            .check_writable()
            .await
            .map_err(|_| "database is not writable".to_string())?;
        let probe = self.data_dir().join("tmp").join(".health");
        tokio::fs::write(&probe, b"ok")
            .await
            .map_err(|_| "data directory is not writable".to_string())?;
        let _ = tokio::fs::remove_file(&probe).await;
        Ok(())
    }
}

fn prepare_data_dir(data_dir: &Path) -> Result<(), AppError> {
    std::fs::create_dir_all(data_dir)?;
    for sub in SUBDIRS {
        std::fs::create_dir_all(data_dir.join(sub))?;
    }
    Ok(())
}

/// Anything in tmp/ when the daemon starts is an upload that never finished, except the work
/// dirs of processes that run (the daemon's own, a `photox import` beside it).
fn clear_tmp(data_dir: &Path) -> Result<(), AppError> {
    for entry in std::fs::read_dir(data_dir.join("tmp"))? {
        let path = entry?.path();
        if path.is_dir() && work::is_in_use(&path) {
            continue;
        }
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed {
            log::warn!("could not clear {}: {e}", path.display());
        }
    }
    Ok(())
}

pub struct App {
    state: AppState,
    sighup: Option<Signal>,
}

impl App {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            sighup: None,
        }
    }

    /// Re-reads the configuration on each of `signals` (SIGHUP, installed by the caller before
    /// the daemon says it listens) while serving.
    pub fn reload_on(mut self, signals: Signal) -> Self {
        self.sighup = Some(signals);
        self
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves on `acceptor` until `shutdown` resolves. Then requests in flight drain (at most
    /// `DRAIN_TIMEOUT`) while, at the same time, every background task is told to stop: jobs
    /// under way get `JOB_GRACE` to finish and are then cancelled back to pending. Returns once
    /// every task has ended.
    pub async fn serve<A: Acceptor + 'static>(
        self,
        acceptor: A,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let jobs = self.state.jobs().clone();
        tasks.spawn(jobs.run(self.state.worker_count(), JOB_GRACE, stop.clone()));
        if let Some(tagger) = self.state.processing().tagger() {
            tasks.spawn(tagger.clone().run_idle_unloader(stop.clone()));
        }
        tasks.spawn(self.state.watched().clone().run(stop.clone()));
        if let Some(signals) = self.sighup {
            tasks.spawn(reload_on_signal(self.state.clone(), signals, stop.clone()));
        }
        if let Some(addr) = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
        {
            log::info!("photox {} listening on {addr}", env!("CARGO_PKG_VERSION"));
        }
        let endpoint = crate::api::build(self.state.clone());
        let server = &self.state.config().server;
        let timeouts = crate::server::Timeouts {
            header: server.header_timeout.0,
            idle: server.idle_timeout.0,
            body: server.body_timeout.0,
        };
        let stopping = {
            let stop = stop.clone();
            async move {
                shutdown.await;
                stop.cancel();
            }
        };
        let result =
            crate::server::serve(acceptor, endpoint, timeouts, stopping, DRAIN_TIMEOUT).await;
        // Also when the server itself failed.
        stop.cancel();
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                log::error!("a background task failed: {e}");
            }
        }
        log::info!("photox stopped");
        result
    }
}

/// Named task: re-reads the configuration on each signal until `stop` is cancelled.
async fn reload_on_signal(state: AppState, mut signals: Signal, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            received = signals.recv() => {
                if received.is_none() {
                    return;
                }
                if let Err(e) = state.reload() {
                    log::error!("configuration reload failed, keeping the old one: {e}");
                }
            }
        }
    }
}
