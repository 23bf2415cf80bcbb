//! Durable background work of every kind. A feature declares a kind as a payload type that
//! implements `JobKind` (its name, priority, retry policy and unique key), registers a handler
//! for it with `Jobs::register` at startup, and may put it on a schedule with `Jobs::schedule`.
//! The queue is one SQLite table: a job is its kind's name and its parameters as JSON, so
//! `jobs/` knows no feature and a feature adds kinds without editing anything here.
//!
//! Workers claim due jobs (highest priority first) with a heartbeat, run them as owned tasks,
//! and retry failures as the kind's policy says; on shutdown a running job gets a grace period,
//! is then cancelled, and goes back to pending without counting as an attempt.

pub mod policy;
pub mod queue;
mod registry;
mod schedule;
mod worker;

use crate::db::ids::JobId;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use policy::{Backoff, Priority, RetryPolicy};
pub use queue::JobRow;
pub use registry::{handler_fn, FnHandler};
pub use schedule::Fired;

use crate::db::{now, Db};
use crate::error::AppError;
use registry::Kind;
use schedule::Schedule;

/// A kind of job: the type is the job's parameters (stored as JSON), the constants say how
/// the queue treats it.
pub trait JobKind: Serialize + DeserializeOwned + Send + 'static {
    /// Stored in `jobs.kind`; unique among kinds, and never changed once jobs were queued.
    const NAME: &'static str;
    /// Which due job a free worker takes first.
    const PRIORITY: Priority = Priority::NORMAL;
    /// What happens after a failure that may pass.
    const RETRY: RetryPolicy = RetryPolicy::attempts(5);

    /// Where only one job may exist (one scan per import folder), its key: queuing another
    /// with the same key while one is pending or running does nothing.
    fn unique_key(&self) -> Option<String> {
        None
    }
}

/// What a feature registers for a kind: the work, and what to do when it fails.
pub trait JobHandler<J>: Send + Sync + 'static {
    /// Does the work. `ctx` says which attempt this is and when the daemon is stopping.
    fn run(&self, job: J, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Called after a failed attempt has been recorded: `failure.retry_at` says when it runs
    /// again, or that it failed for good. Not called when the daemon stopping cancelled it.
    fn failed(&self, job: J, failure: Failure) -> impl Future<Output = ()> + Send {
        let _ = (job, failure);
        async {}
    }
}

/// How a job failed, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (I/O trouble, a busy database, a remote that is down).
    #[error("{0}")]
    Retry(String),
    /// Will fail the same way every time (a corrupt image): no retry whatever the policy.
    #[error("{0}")]
    Permanent(String),
}

/// A failed attempt, as its kind's `JobHandler::failed` hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// Which attempt failed (1-based).
    pub attempt: u32,
    /// When the job runs again; `None`: it failed for good.
    pub retry_at: Option<i64>,
}

impl Failure {
    pub fn gave_up(&self) -> bool {
        self.retry_at.is_none()
    }
}

/// What a running job knows about its run.
#[derive(Debug, Clone)]
pub struct JobContext {
    id: JobId,
    attempt: u32,
    cancel: CancellationToken,
}

impl JobContext {
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Which attempt this is (1-based); a run cut short by a shutdown does not count.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The daemon is stopping: a long job should stop at a safe point and return
    /// `JobError::Retry`; it runs again after the restart.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the daemon starts stopping.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }
}

/// Queues `job` in the caller's transaction (with the rows it works on); `None` when a job
/// with the same unique key is already pending or running. Call `Jobs::wake` after the commit.
pub fn enqueue<J: JobKind>(
    conn: &rusqlite::Connection,
    job: &J,
    now: i64,
) -> rusqlite::Result<Option<JobId>> {
    let payload = serde_json::to_string(job).expect("job parameters serialize");
    let key = job.unique_key();
    queue::enqueue(
        conn,
        &queue::NewJob {
            kind: J::NAME,
            payload: &payload,
            priority: J::PRIORITY.value(),
            unique_key: key.as_deref(),
            run_at: now,
        },
        now,
    )
}

/// The job service: the registry of kinds and schedules, and the handle that wakes workers.
/// Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    kinds: RwLock<HashMap<&'static str, Arc<Kind>>>,
    schedules: RwLock<Vec<Schedule>>,
    /// Wakes idle workers when a job was queued.
    queued: Notify,
    /// Wakes the scheduler when a schedule was added.
    rescheduled: Notify,
}

/// Done jobs are kept this long for `GET /admin/jobs`, then forgotten.
const KEEP_DONE: Duration = Duration::from_secs(7 * 86400);

/// The queue's own housekeeping: forgets jobs that finished long ago.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PruneFinishedJobs {}

impl JobKind for PruneFinishedJobs {
    const NAME: &'static str = "prune_finished_jobs";
    const PRIORITY: Priority = Priority::LOW;
    const RETRY: RetryPolicy = RetryPolicy::attempts(3);
}

impl Jobs {
    /// A job service with its own housekeeping registered (pruning finished jobs hourly).
    pub fn new(db: Db) -> Jobs {
        let jobs = Jobs {
            inner: Arc::new(Inner {
                db: db.clone(),
                kinds: RwLock::default(),
                schedules: RwLock::default(),
                queued: Notify::new(),
                rescheduled: Notify::new(),
            }),
        };
        jobs.register(handler_fn(move |_: PruneFinishedJobs, _| {
            let db = db.clone();
            async move {
                let before = now() - KEEP_DONE.as_secs() as i64;
                let pruned = db
                    .run(move |conn| Ok(queue::prune_done(conn, before)?))
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if pruned > 0 {
                    log::debug!("forgot {pruned} finished jobs");
                }
                Ok(())
            }
        }));
        jobs.schedule(Duration::from_secs(3600), PruneFinishedJobs {});
        jobs
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Registers the handler of kind `J`; its jobs run from now on (before `Jobs::run` or
    /// after). Panics when `J` was registered already: two handlers for one kind is a bug.
    pub fn register<J: JobKind>(&self, handler: impl JobHandler<J>) {
        let mut kinds = self.inner.kinds.write().unwrap_or_else(|p| p.into_inner());
        let previous = kinds.insert(J::NAME, Arc::new(Kind::new::<J>(handler)));
        assert!(
            previous.is_none(),
            "job kind `{}` registered twice",
            J::NAME
        );
        drop(kinds);
        self.wake();
    }

    /// Queues `job` every `every` (at start when it never ran or fell due while the daemon
    /// was down). At most one run of a schedule is pending or running at a time.
    pub fn schedule<J: JobKind>(&self, every: Duration, job: J) {
        let schedule = Schedule::new(every, &job);
        let mut schedules = self
            .inner
            .schedules
            .write()
            .unwrap_or_else(|p| p.into_inner());
        schedules.retain(|s| s.name != schedule.name);
        schedules.push(schedule);
        drop(schedules);
        self.inner.rescheduled.notify_one();
    }

    /// Tells idle workers that a job was queued (after the transaction that queued it).
    pub fn wake(&self) {
        self.inner.queued.notify_waiters();
        self.inner.queued.notify_one();
    }

    /// Queues `job` on its own and wakes the workers; `None` when a job with the same unique
    /// key is already pending or running.
    pub async fn enqueue<J: JobKind>(&self, job: J) -> Result<Option<JobId>, AppError> {
        let id = self
            .inner
            .db
            .run(move |conn| Ok(enqueue(conn, &job, now())?))
            .await?;
        self.wake();
        Ok(id)
    }

    /// Makes every pending job of `kind` due now (waiting out no backoff); returns how many.
    pub async fn run_now(&self, kind: &str) -> Result<usize, AppError> {
        let kind = kind.to_string();
        let n = self
            .inner
            .db
            .run(move |conn| Ok(queue::make_due(conn, &kind, now())?))
            .await?;
        self.wake();
        Ok(n)
    }

    pub async fn find(&self, id: JobId) -> Result<Option<JobRow>, AppError> {
        self.inner
            .db
            .run(move |conn| Ok(queue::find_job(conn, id)?))
            .await
    }

    /// Jobs per state, and one page of jobs (optionally in one state), newest first, with the
    /// total.
    pub async fn list(
        &self,
        state: Option<String>,
        limit: i64,
        offset: i64,
    ) -> Result<JobList, AppError> {
        self.inner
            .db
            .run(move |conn| {
                let counts = queue::count_by_state(conn)?;
                let (items, total) = queue::list_jobs(conn, state.as_deref(), limit, offset)?;
                Ok(JobList {
                    counts,
                    items,
                    total,
                })
            })
            .await
    }

    /// The retry policy of a registered kind.
    pub fn policy_of(&self, kind: &str) -> Option<RetryPolicy> {
        self.kind(kind).map(|k| k.retry)
    }

    /// Runs the workers and the scheduler until `stop` is cancelled; a job still running then
    /// gets `grace` to finish before it is cancelled and put back to pending.
    pub async fn run(self, workers: usize, grace: Duration, stop: CancellationToken) {
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(worker::run_pool(self.clone(), workers, grace, stop.clone()));
        tasks.spawn(schedule::run_scheduler(self, stop));
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                log::error!("a background task failed: {e}");
            }
        }
    }

    /// Queues every scheduled job that is due at `now`.
    pub async fn fire_due_schedules(&self, now: i64) -> Result<Fired, AppError> {
        let schedules = self
            .inner
            .schedules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fired = self
            .inner
            .db
            .run(move |conn| schedule::fire_due(conn, &schedules, now))
            .await?;
        if fired.queued > 0 {
            self.wake();
        }
        Ok(fired)
    }

    fn kind(&self, name: &str) -> Option<Arc<Kind>> {
        let kinds = self.inner.kinds.read().unwrap_or_else(|p| p.into_inner());
        kinds.get(name).cloned()
    }

    fn kind_names(&self) -> Vec<&'static str> {
        let kinds = self.inner.kinds.read().unwrap_or_else(|p| p.into_inner());
        kinds.keys().copied().collect()
    }
}

/// Jobs per state and one page of them.
#[derive(Debug, Clone)]
pub struct JobList {
    pub counts: Vec<(String, i64)>,
    pub items: Vec<JobRow>,
    pub total: i64,
}
