//! Scheduled work as jobs: a feature declares a job and its interval (`Jobs::schedule`); the
//! scheduler queues it when due. When each schedule last fired is kept in the database, so a
//! daemon restarted every minute does not purge every minute, and a run that fell due while
//! the daemon was down happens at start. A schedule's job carries a unique key, so runs never
//! pile up behind a busy queue.

use std::time::Duration;

use rusqlite::Connection;
use tokio_util::sync::CancellationToken;

use super::{queue, JobKind, Jobs};
use crate::db::now;
use crate::error::AppError;

/// The scheduler looks at the clock at least this often, so a clock that was changed is
/// noticed within a minute.
const MAX_SLEEP_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub(super) struct Schedule {
    /// The kind's name, and the job's unique key when it has one (one schedule per folder).
    pub name: String,
    every_secs: i64,
    kind: &'static str,
    payload: String,
    priority: i32,
    unique_key: String,
}

impl Schedule {
    pub fn new<J: JobKind>(every: Duration, job: &J) -> Schedule {
        let key = job.unique_key();
        let name = match &key {
            Some(key) => format!("{}:{key}", J::NAME),
            None => J::NAME.to_string(),
        };
        Schedule {
            name,
            every_secs: every.as_secs().max(1) as i64,
            kind: J::NAME,
            payload: serde_json::to_string(job).expect("job parameters serialize"),
            priority: J::PRIORITY.value(),
            // A kind without a key of its own is unique while scheduled.
            unique_key: key.unwrap_or_else(|| J::NAME.to_string()),
        }
    }
}

/// What one look at the schedules did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// Jobs queued (a due schedule whose last run is still pending queues none).
    pub queued: usize,
    /// When the next schedule falls due (`i64::MAX` without schedules).
    pub next_due: i64,
}

/// When a schedule that last fired at `last_run` falls due again.
pub fn next_due(last_run: Option<i64>, every_secs: i64, now: i64) -> i64 {
    match last_run {
        Some(at) if at <= now => at.saturating_add(every_secs),
        // Never ran, or "ran" in the future: the clock was set back; run now rather than wait.
        _ => now,
    }
}

/// Queues the due schedules' jobs and records that they fired, in one transaction.
pub(super) fn fire_due(
    conn: &mut Connection,
    schedules: &[Schedule],
    now: i64,
) -> Result<Fired, AppError> {
    let tx = crate::db::write_tx(conn)?;
    let mut fired = Fired {
        queued: 0,
        next_due: i64::MAX,
    };
    for schedule in schedules {
        let mut due = next_due(
            queue::last_run(&tx, &schedule.name)?,
            schedule.every_secs,
            now,
        );
        if due <= now {
            let job = queue::NewJob {
                kind: schedule.kind,
                payload: &schedule.payload,
                priority: schedule.priority,
                unique_key: Some(&schedule.unique_key),
                run_at: now,
            };
            match queue::enqueue(&tx, &job, now)? {
                Some(_) => fired.queued += 1,
                None => log::debug!("{} is due but its last run is not over", schedule.name),
            }
            queue::set_last_run(&tx, &schedule.name, now)?;
            due = now.saturating_add(schedule.every_secs);
        }
        fired.next_due = fired.next_due.min(due);
    }
    tx.commit()?;
    Ok(fired)
}

/// Named task: queues scheduled jobs when they fall due, until `stop` is cancelled.
pub(super) async fn run_scheduler(jobs: Jobs, stop: CancellationToken) {
    loop {
        let wait = match jobs.fire_due_schedules(now()).await {
            Ok(fired) => (fired.next_due.saturating_sub(now())).clamp(1, MAX_SLEEP_SECS),
            Err(e) => {
                log::warn!("could not queue the scheduled jobs: {e}");
                MAX_SLEEP_SECS
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
            _ = jobs.inner.rescheduled.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::db::Db;

    #[derive(Debug, Serialize, Deserialize)]
    struct Purge {}

    impl JobKind for Purge {
        const NAME: &'static str = "test_purge";
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Scan {
        folder: u32,
    }

    impl JobKind for Scan {
        const NAME: &'static str = "test_scan";
        fn unique_key(&self) -> Option<String> {
            Some(self.folder.to_string())
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn fire(db: &Db, schedules: &[Schedule], now: i64) -> Fired {
        db.run_sync(|c| fire_due(c, schedules, now)).unwrap()
    }

    fn states(db: &Db) -> Vec<(String, String)> {
        db.run_sync(|c| {
            let (rows, _) = queue::list_jobs(c, None, 100, 0)?;
            Ok(rows.into_iter().rev().map(|r| (r.kind, r.state)).collect())
        })
        .unwrap()
    }

    #[test]
    fn due_when_never_run_or_an_interval_ago() {
        assert_eq!(next_due(None, 3600, 1000), 1000);
        assert_eq!(next_due(Some(1000), 3600, 1000), 4600);
        assert_eq!(
            next_due(Some(1000), 3600, 9000),
            4600,
            "overdue: due already"
        );
        assert_eq!(
            next_due(Some(5000), 3600, 1000),
            1000,
            "clock set back: due now"
        );
    }

    #[test]
    fn a_schedule_fires_when_due_and_never_piles_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let schedules = [Schedule::new(HOUR, &Purge {})];
        let first = fire(&db, &schedules, 1000);
        assert_eq!(
            first,
            Fired {
                queued: 1,
                next_due: 4600
            }
        );
        assert_eq!(fire(&db, &schedules, 4599).queued, 0, "not due yet");
        // Due again while the first run still waits for a worker: not queued twice.
        assert_eq!(
            fire(&db, &schedules, 4600),
            Fired {
                queued: 0,
                next_due: 8200
            }
        );
        assert_eq!(states(&db), [("test_purge".into(), "pending".into())]);
        db.run_sync(|c| {
            let claimed = queue::claim(c, &["test_purge"], 5000)?.unwrap();
            Ok(queue::complete(c, claimed.id, 5001)?)
        })
        .unwrap();
        assert_eq!(fire(&db, &schedules, 8200).queued, 1);
    }

    #[test]
    fn the_last_run_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let schedules = [
            Schedule::new(HOUR, &Purge {}),
            Schedule::new(Duration::from_secs(600), &Scan { folder: 3 }),
        ];
        {
            let db = Db::open(&path).unwrap();
            assert_eq!(fire(&db, &schedules, 1000).queued, 2);
        }
        // Started again a minute later: nothing is due; the earliest is the scan.
        let db = Db::open(&path).unwrap();
        assert_eq!(
            fire(&db, &schedules, 1060),
            Fired {
                queued: 0,
                next_due: 1600
            }
        );
        db.run_sync(|c| {
            while let Some(job) = queue::claim(c, &["test_purge", "test_scan"], 1060)? {
                queue::complete(c, job.id, 1060)?;
            }
            Ok(())
        })
        .unwrap();
        // Down for a day: both fell due meanwhile and run at start, once each.
        let db = Db::open(&path).unwrap();
        assert_eq!(fire(&db, &schedules, 90_000).queued, 2);
        assert_eq!(fire(&db, &schedules, 90_001).queued, 0);
    }

    #[test]
    fn keyed_jobs_get_a_schedule_each() {
        let a = Schedule::new(HOUR, &Scan { folder: 1 });
        let b = Schedule::new(HOUR, &Scan { folder: 2 });
        assert_eq!(
            (a.name.as_str(), b.name.as_str()),
            ("test_scan:1", "test_scan:2")
        );
        assert_eq!(Schedule::new(HOUR, &Purge {}).unique_key, "test_purge");
    }
}
