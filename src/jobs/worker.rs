//! The worker pool: each worker claims a due job of a registered kind, runs it as an owned task
//! with a heartbeat, and records the outcome as the kind's retry policy says. A job that panics
//! fails instead of taking the worker down.
//!
//! Beside the workers, one timer puts back jobs left `running` with a stale heartbeat that no
//! worker here holds: a job whose outcome could not be written (the database refused the
//! write) would otherwise stay `running` until the next start. That timer is part of the pool
//! rather than a scheduled job because it rescues claims, and a scheduled job would need a free
//! worker, the very thing that may be missing.

use crate::db::ids::JobId;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::queue::{self, Claimed};
use super::registry::Kind;
use super::{Failure, JobContext, JobError, Jobs};
use crate::db::now;

const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// Idle workers look for due jobs (retries, jobs queued by another process) this often.
const POLL_EVERY: Duration = Duration::from_secs(5);
const REQUEUE_EVERY: Duration = Duration::from_secs(30);

/// Ids of the jobs this daemon's workers are running.
#[derive(Clone, Default)]
struct Held(Arc<Mutex<HashSet<JobId>>>);

impl Held {
    fn hold(&self, id: JobId) -> HeldJob {
        self.lock().insert(id);
        HeldJob {
            held: self.clone(),
            id,
        }
    }

    fn ids(&self) -> Vec<JobId> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<JobId>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Lets go of a job when dropped, also when a worker unwinds.
struct HeldJob {
    held: Held,
    id: JobId,
}

impl Drop for HeldJob {
    fn drop(&mut self) {
        self.held.lock().remove(&self.id);
    }
}

/// Runs `workers` workers and the requeue timer until `stop` is cancelled and the jobs under
/// way have finished or been cancelled.
pub(super) async fn run_pool(jobs: Jobs, workers: usize, grace: Duration, stop: CancellationToken) {
    // Nothing else runs jobs: whatever was running when the daemon last stopped was abandoned.
    let requeued = jobs
        .db()
        .run(|conn| Ok(queue::requeue_stale(conn, i64::MAX, &[], now())?))
        .await;
    match requeued {
        Ok(n) if n > 0 => log::info!("requeued {n} jobs left running by the previous run"),
        Ok(_) => {}
        Err(e) => log::warn!("could not requeue abandoned jobs: {e}"),
    }
    let held = Held::default();
    let mut tasks = JoinSet::new();
    for n in 0..workers {
        let worker = run_worker(n, jobs.clone(), held.clone(), grace, stop.clone());
        tasks.spawn(worker);
    }
    tasks.spawn(requeue_abandoned(jobs.clone(), held.clone(), stop.clone()));
    let mut next = workers;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Err(e) if e.is_panic() && !stop.is_cancelled() => {
                log::error!("a job worker crashed; starting another");
                tasks.spawn(run_worker(
                    next,
                    jobs.clone(),
                    held.clone(),
                    grace,
                    stop.clone(),
                ));
                next += 1;
            }
            Err(e) => log::error!("a job worker failed: {e}"),
            Ok(()) => {}
        }
    }
}

async fn run_worker(n: usize, jobs: Jobs, held: Held, grace: Duration, stop: CancellationToken) {
    log::debug!("job worker {n} started");
    while !stop.is_cancelled() {
        let kinds = jobs.kind_names();
        let claimed = jobs
            .db()
            .run(move |conn| Ok(queue::claim(conn, &kinds, now())?))
            .await;
        match claimed {
            Ok(Some(claimed)) => run_claimed(&jobs, &held, claimed, grace, &stop).await,
            Ok(None) => {
                tokio::select! {
                    _ = jobs.inner.queued.notified() => {}
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = stop.cancelled() => {}
                }
            }
            Err(e) => {
                log::error!("job worker {n}: could not claim a job: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = stop.cancelled() => {}
                }
            }
        }
    }
}

/// How one run ended.
enum Outcome {
    Done,
    Failed(JobError),
    /// Cut short by the daemon stopping: pending again, not an attempt.
    Cancelled,
}

async fn run_claimed(
    jobs: &Jobs,
    held: &Held,
    claimed: Claimed,
    grace: Duration,
    stop: &CancellationToken,
) {
    let _held = held.hold(claimed.id);
    let Some(kind) = jobs.kind(&claimed.kind) else {
        // Claimed as a registered kind; nothing unregisters one, but never drop a job.
        record(jobs, &claimed, None, Outcome::Cancelled).await;
        return;
    };
    let ctx = JobContext {
        id: claimed.id,
        attempt: claimed.attempt,
        cancel: stop.child_token(),
    };
    let mut task = JoinSet::new();
    task.spawn(kind.run(claimed.payload.clone(), ctx));
    let outcome = supervise(jobs, claimed.id, &mut task, grace, stop).await;
    if let Some(failure) = record(jobs, &claimed, Some(&kind), outcome).await {
        kind.failed(claimed.payload, failure).await;
    }
}

/// Waits for the job's task, beating its heartbeat; once `stop` is cancelled the job has
/// `grace` to end before its task is aborted.
async fn supervise(
    jobs: &Jobs,
    id: JobId,
    task: &mut JoinSet<Result<(), JobError>>,
    grace: Duration,
    stop: &CancellationToken,
) -> Outcome {
    let mut beat = tokio::time::interval_at(Instant::now() + HEARTBEAT_EVERY, HEARTBEAT_EVERY);
    let mut deadline: Option<Instant> = None;
    let mut aborted = false;
    loop {
        tokio::select! {
            joined = task.join_next() => {
                return match joined {
                    Some(Ok(Ok(()))) => Outcome::Done,
                    // A job that stops for the shutdown says so with a retryable error.
                    Some(Ok(Err(JobError::Retry(_)))) if stop.is_cancelled() => Outcome::Cancelled,
                    Some(Ok(Err(e))) => Outcome::Failed(e),
                    Some(Err(e)) if e.is_panic() => {
                        Outcome::Failed(JobError::Permanent("the job crashed".into()))
                    }
                    Some(Err(_)) | None => Outcome::Cancelled,
                };
            }
            _ = beat.tick() => {
                let beat = jobs.db().run(move |conn| Ok(queue::heartbeat(conn, id, now())?)).await;
                if let Err(e) = beat {
                    log::warn!("job {id}: heartbeat not written: {e}");
                }
            }
            _ = stop.cancelled(), if deadline.is_none() => {
                deadline = Some(Instant::now() + grace);
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                if deadline.is_some() && !aborted => {
                log::info!("job {id} did not stop within {grace:?} of the shutdown; cancelling it");
                task.abort_all();
                aborted = true;
            }
        }
    }
}

/// Writes the outcome; returns the failure to report to the kind's handler, if any.
async fn record(
    jobs: &Jobs,
    claimed: &Claimed,
    kind: Option<&Kind>,
    outcome: Outcome,
) -> Option<Failure> {
    let (id, attempt, name) = (claimed.id, claimed.attempt, claimed.kind.clone());
    let now = now();
    let failure = match &outcome {
        Outcome::Done | Outcome::Cancelled => None,
        Outcome::Failed(e) => {
            let retry_at = match (e, kind) {
                (JobError::Retry(_), Some(kind)) => kind
                    .retry
                    .retry_after(attempt)
                    .map(|wait| now.saturating_add(wait.as_secs() as i64)),
                _ => None,
            };
            Some(Failure {
                message: e.to_string(),
                attempt,
                retry_at,
            })
        }
    };
    let write = {
        let failure = failure.clone();
        let cancelled = matches!(outcome, Outcome::Cancelled);
        jobs.db().run(move |conn| {
            match (&failure, cancelled) {
                (None, true) => queue::release(conn, id, now)?,
                (None, false) => queue::complete(conn, id, now)?,
                (Some(f), _) => match f.retry_at {
                    Some(at) => queue::retry_later(conn, id, &f.message, at, now)?,
                    None => queue::fail(conn, id, &f.message, now)?,
                },
            }
            Ok(())
        })
    };
    if let Err(e) = write.await {
        // The row stays `running`; the requeue timer puts it back once its heartbeat is stale.
        log::error!("could not record the outcome of job {id} ({name}): {e}");
        return None;
    }
    match (&outcome, &failure) {
        (Outcome::Cancelled, _) => {
            log::info!("job {id} ({name}) was stopped by the shutdown; it runs again at start")
        }
        (_, Some(f)) if f.gave_up() => {
            log::warn!(
                "job {id} ({name}) failed for good after attempt {attempt}: {}",
                f.message
            )
        }
        (_, Some(f)) => log::info!(
            "job {id} ({name}) attempt {attempt} failed, retrying in {} s: {}",
            f.retry_at.unwrap_or(now) - now,
            f.message
        ),
        _ => {}
    }
    failure
}

/// Named task: puts back jobs whose heartbeat went stale and that no worker here holds.
async fn requeue_abandoned(jobs: Jobs, held: Held, stop: CancellationToken) {
    let mut tick = tokio::time::interval_at(Instant::now() + REQUEUE_EVERY, REQUEUE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let ids = held.ids();
        let requeued = jobs
            .db()
            .run(move |conn| {
                let now = now();
                Ok(queue::requeue_stale(
                    conn,
                    now - queue::STALE_AFTER_SECS,
                    &ids,
                    now,
                )?)
            })
            .await;
        match requeued {
            Ok(n) if n > 0 => {
                log::warn!("requeued {n} jobs whose outcome was never recorded");
                jobs.wake();
            }
            Ok(_) => {}
            Err(e) => log::warn!("job requeue failed: {e}"),
        }
    }
}
