//! Workers: each claims a due job, runs it with a heartbeat, and records the outcome. A job that
//! panics fails permanently instead of taking the worker down.

use std::time::Duration;

use tokio::sync::watch;

use super::queue::{self, Claimed};
use super::{JobError, JobSignal};
use crate::db::{now, Db};
use crate::photos::library::Library;

const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// Idle workers look for due jobs (retries) at least this often.
const POLL_EVERY: Duration = Duration::from_secs(5);

/// Runs one worker until `stop` turns true; a job under way is finished first.
pub async fn run_worker(
    worker: usize,
    db: Db,
    signal: JobSignal,
    library: Library,
    mut stop: watch::Receiver<bool>,
) {
    log::debug!("job worker {worker} started");
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = match db.run(|conn| Ok(queue::claim(conn, now())?)).await {
            Ok(c) => c,
            Err(e) => {
                log::error!("job worker {worker}: could not claim a job: {e}");
                None
            }
        };
        match claimed {
            Some(claimed) => run_claimed(&db, &library, claimed).await,
            None => {
                tokio::select! {
                    _ = signal.wait() => {}
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

async fn run_claimed(db: &Db, library: &Library, claimed: Claimed) {
    let id = claimed.id;
    let Some(job) = claimed.job.clone() else {
        record(
            db,
            id,
            Err(JobError::Permanent("unreadable job payload".into())),
            &claimed,
        )
        .await;
        return;
    };
    let task = {
        let (library, job) = (library.clone(), job.clone());
        tokio::spawn(async move { library.run_job(&job).await })
    };
    let beat = async {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            let _ = db
                .run(move |conn| Ok(queue::heartbeat(conn, id, now())?))
                .await;
        }
    };
    let outcome = tokio::select! {
        joined = task => match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(JobError::Permanent("the job crashed".into())),
            Err(_) => Err(JobError::Retry("the job was cancelled".into())),
        },
        _ = beat => unreachable!("the heartbeat loop never ends"),
    };
    let gave_up = match &outcome {
        Ok(()) => None,
        Err(JobError::Permanent(m)) => Some(m.clone()),
        Err(JobError::Retry(m)) if claimed.attempt >= claimed.max_attempts => Some(m.clone()),
        Err(JobError::Retry(_)) => None,
    };
    record(db, id, outcome, &claimed).await;
    if let Some(message) = gave_up {
        log::warn!("job {id} ({}) failed for good: {message}", job.kind());
        if let Err(e) = library.job_gave_up(&job, &message).await {
            log::error!("could not record the failure of job {id}: {e}");
        }
    }
}

async fn record(db: &Db, id: i64, outcome: Result<(), JobError>, claimed: &Claimed) {
    let (attempt, max) = (claimed.attempt, claimed.max_attempts);
    let result = db
        .run(move |conn| {
            let now = now();
            match outcome {
                Ok(()) => queue::complete(conn, id, now)?,
                Err(JobError::Retry(m)) if attempt < max => {
                    queue::fail(conn, id, &m, Some(now + queue::backoff_secs(attempt)), now)?
                }
                Err(JobError::Retry(m) | JobError::Permanent(m)) => {
                    queue::fail(conn, id, &m, None, now)?
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        log::error!("could not record the outcome of job {id}: {e}");
    }
}
