//! SQL of the job queue and of the schedules. Jobs are enqueued in the same transaction as the
//! rows they work on; what a kind means is known only to the code that registered it.

use crate::db::ids::JobId;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A job whose heartbeat is older than this, and that no worker of this daemon holds, was
/// abandoned and runs again.
pub const STALE_AFTER_SECS: i64 = 60;

/// A job row to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// The kind's parameters (JSON).
    pub payload: &'a str,
    pub priority: i32,
    /// While a job with the same kind and key is pending or running, no other is queued.
    pub unique_key: Option<&'a str>,
    pub run_at: i64,
}

/// Queues a job; `None` when one with the same unique key is already pending or running.
pub fn enqueue(conn: &Connection, job: &NewJob<'_>, now: i64) -> rusqlite::Result<Option<JobId>> {
    let inserted = conn.execute(
        "INSERT INTO jobs (kind, payload, priority, unique_key, run_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (kind, unique_key)
             WHERE unique_key IS NOT NULL AND state IN ('pending', 'running') DO NOTHING",
        params![
            job.kind,
            job.payload,
            job.priority,
            job.unique_key,
            job.run_at,
            now
        ],
    )?;
    Ok((inserted == 1).then(|| JobId(conn.last_insert_rowid())))
}

/// A claimed job: its id, its kind and parameters, and which attempt this is (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempt: u32,
}

/// Takes the most urgent due pending job of one of `kinds` and marks it running: highest
/// priority first, then the longest due, then the oldest. Kinds nobody registered (a feature
/// turned off) wait in the queue untouched.
pub fn claim(conn: &Connection, kinds: &[&str], now: i64) -> rusqlite::Result<Option<Claimed>> {
    let kinds = serde_json::to_string(kinds).expect("names serialize");
    conn.query_row(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, heartbeat_at = ?1, updated_at = ?1
         WHERE id = (SELECT id FROM jobs
                     WHERE state = 'pending' AND run_at <= ?1
                       AND kind IN (SELECT value FROM json_each(?2))
                     ORDER BY priority DESC, run_at, id LIMIT 1)
         RETURNING id, kind, payload, attempts",
        params![now, kinds],
        |r| {
            Ok(Claimed {
                id: r.get(0)?,
                kind: r.get(1)?,
                payload: r.get(2)?,
                attempt: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
            })
        },
    )
    .optional()
}

pub fn heartbeat(conn: &Connection, id: JobId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET heartbeat_at = ?2 WHERE id = ?1 AND state = 'running'",
        params![id, now],
    )?;
    Ok(())
}

pub fn complete(conn: &Connection, id: JobId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET state = 'done', last_error = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Records a failure that may pass: pending again from `run_at`.
pub fn retry_later(
    conn: &Connection,
    id: JobId,
    error: &str,
    run_at: i64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET state = 'pending', run_at = ?3, last_error = ?2, updated_at = ?4
         WHERE id = ?1",
        params![id, error, run_at, now],
    )?;
    Ok(())
}

/// Records that a job failed for good.
pub fn fail(conn: &Connection, id: JobId, error: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, error, now],
    )?;
    Ok(())
}

/// Puts a job that was cancelled (the daemon stopping) back to pending, due at once; the
/// interrupted run does not count as an attempt.
pub fn release(conn: &Connection, id: JobId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0), run_at = ?2,
                heartbeat_at = NULL, updated_at = ?2
         WHERE id = ?1 AND state = 'running'",
        params![id, now],
    )?;
    Ok(())
}

/// Puts running jobs whose heartbeat is older than `before` back to pending, except those in
/// `held` (jobs this daemon's workers are running).
pub fn requeue_stale(
    conn: &Connection,
    before: i64,
    held: &[JobId],
    now: i64,
) -> rusqlite::Result<usize> {
    let held = serde_json::to_string(held).expect("ids serialize");
    conn.execute(
        "UPDATE jobs SET state = 'pending', run_at = ?2, updated_at = ?2
         WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?1)
           AND id NOT IN (SELECT value FROM json_each(?3))",
        params![before, now, held],
    )
}

/// Makes every pending job of `kind` due now; returns how many.
pub fn make_due(conn: &Connection, kind: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE jobs SET run_at = ?2, updated_at = ?2
         WHERE kind = ?1 AND state = 'pending' AND run_at > ?2",
        params![kind, now],
    )
}

/// Forgets finished jobs older than `before`.
pub fn prune_done(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM jobs WHERE state = 'done' AND updated_at < ?1",
        [before],
    )
}

/// Jobs per state: pending, running, done, failed.
pub fn count_by_state(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare("SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect();
    rows
}

/// A job row as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: JobId,
    pub kind: String,
    /// The job's parameters as stored (JSON).
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub priority: i32,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const JOB_COLUMNS: &str =
    "id, kind, payload, state, attempts, priority, run_at, last_error, created_at, updated_at";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: r.get(2)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        priority: r.get(5)?,
        run_at: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

pub fn find_job(conn: &Connection, id: JobId) -> rusqlite::Result<Option<JobRow>> {
    conn.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        [id],
        job_from_row,
    )
    .optional()
}

/// One page of jobs, optionally in one state, newest first, and the total.
pub fn list_jobs(
    conn: &Connection,
    state: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<JobRow>, i64)> {
    let total = conn.query_row(
        "SELECT count(*) FROM jobs WHERE ?1 IS NULL OR state = ?1",
        [state],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE ?1 IS NULL OR state = ?1
         ORDER BY updated_at DESC, id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(params![state, limit, offset], job_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// When the schedule `name` last fired, if ever.
pub fn last_run(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT last_run_at FROM job_schedules WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

pub fn set_last_run(conn: &Connection, name: &str, at: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO job_schedules (name, last_run_at) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET last_run_at = ?2",
        params![name, at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::db::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("t.db")).unwrap();
        (dir, db)
    }

    fn job<'a>(kind: &'a str, payload: &'a str, priority: i32, run_at: i64) -> NewJob<'a> {
        NewJob {
            kind,
            payload,
            priority,
            unique_key: None,
            run_at,
        }
    }

    const ALL: &[&str] = &["thumbnails", "exif", "tags", "mirror"];

    #[test]
    fn claim_takes_due_jobs_in_order_once() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &job("thumbnails", "1", 0, 100), 100)?;
            enqueue(c, &job("exif", "2", 0, 50), 50)?;
            enqueue(c, &job("exif", "3", 0, 500), 500)?;
            let first = claim(c, ALL, 100)?.unwrap();
            assert_eq!((first.kind.as_str(), first.payload.as_str()), ("exif", "2"));
            assert_eq!(first.attempt, 1);
            assert_eq!(claim(c, ALL, 100)?.unwrap().payload, "1");
            assert!(claim(c, ALL, 100)?.is_none(), "the third is not due yet");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn higher_priority_is_claimed_first_then_the_longest_due() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &job("thumbnails", "t1", 100, 10), 10)?;
            enqueue(c, &job("tags", "g1", 50, 10), 10)?;
            enqueue(c, &job("mirror", "m1", 0, 5), 5)?;
            enqueue(c, &job("tags", "g2", 50, 20), 20)?;
            enqueue(c, &job("thumbnails", "t2", 100, 20), 20)?;
            let order: Vec<String> = (0..5)
                .map(|_| claim(c, ALL, 100).map(|j| j.unwrap().payload))
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(order, ["t1", "t2", "g1", "g2", "m1"]);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn kinds_nobody_registered_wait_untouched() {
        let (_d, db) = db();
        db.run_sync(|c| {
            let id = enqueue(c, &job("mirror", "m", 0, 0), 0)?.unwrap();
            assert!(claim(c, &["thumbnails"], 10)?.is_none());
            assert_eq!(find_job(c, id)?.unwrap().state, "pending");
            assert_eq!(claim(c, &["mirror"], 10)?.unwrap().id, id);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_unique_key_allows_one_pending_or_running_job() {
        let (_d, db) = db();
        db.run_sync(|c| {
            let scan = |folder| NewJob {
                unique_key: Some(folder),
                ..job("scan", "{}", 0, 0)
            };
            let first = enqueue(c, &scan("photos"), 0)?;
            assert!(first.is_some());
            assert_eq!(enqueue(c, &scan("photos"), 1)?, None, "pending: a no-op");
            assert!(enqueue(c, &scan("music"), 1)?.is_some(), "another key");
            assert!(enqueue(c, &job("scan", "{}", 0, 0), 1)?.is_some(), "no key");
            let claimed = claim(c, &["scan"], 2)?.unwrap();
            assert_eq!(Some(claimed.id), first);
            assert_eq!(enqueue(c, &scan("photos"), 2)?, None, "running: a no-op");
            complete(c, claimed.id, 3)?;
            assert!(
                enqueue(c, &scan("photos"), 4)?.is_some(),
                "done: queued again"
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn failures_retry_later_or_stop() {
        let (_d, db) = db();
        db.run_sync(|c| {
            let id = enqueue(c, &job("thumbnails", "1", 0, 0), 0)?.unwrap();
            claim(c, ALL, 0)?.unwrap();
            retry_later(c, id, "disk busy", 100, 1)?;
            assert!(claim(c, ALL, 99)?.is_none());
            let again = claim(c, ALL, 100)?.unwrap();
            assert_eq!(again.attempt, 2);
            fail(c, id, "corrupt", 101)?;
            assert!(claim(c, ALL, 10_000)?.is_none());
            assert_eq!(count_by_state(c)?, vec![("failed".to_string(), 1)]);
            assert_eq!(find_job(c, id)?.unwrap().last_error.unwrap(), "corrupt");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_released_job_is_due_again_and_the_attempt_does_not_count() {
        let (_d, db) = db();
        db.run_sync(|c| {
            let id = enqueue(c, &job("scan", "{}", 0, 0), 0)?.unwrap();
            assert_eq!(claim(c, &["scan"], 5)?.unwrap().attempt, 1);
            release(c, id, 6)?;
            let row = find_job(c, id)?.unwrap();
            assert_eq!((row.state.as_str(), row.attempts), ("pending", 0));
            assert_eq!(claim(c, &["scan"], 6)?.unwrap().attempt, 1);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn abandoned_jobs_come_back_unless_a_worker_holds_them() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &job("thumbnails", "1", 0, 0), 0)?;
            enqueue(c, &job("thumbnails", "2", 0, 0), 0)?;
            let held = claim(c, ALL, 10)?.unwrap();
            let lost = claim(c, ALL, 10)?.unwrap();
            assert_eq!(requeue_stale(c, 5, &[], 20)?, 0, "heartbeat is fresh");
            assert_eq!(requeue_stale(c, 11, &[held.id], 20)?, 1);
            let again = claim(c, ALL, 20)?.unwrap();
            assert_eq!(again.id, lost.id);
            assert_eq!(find_job(c, held.id)?.unwrap().state, "running");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn make_due_moves_pending_jobs_of_one_kind_to_now() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &job("mirror", "1", 0, 1000), 0)?;
            enqueue(c, &job("scan", "2", 0, 1000), 0)?;
            assert_eq!(make_due(c, "mirror", 10)?, 1);
            assert_eq!(claim(c, &["mirror", "scan"], 10)?.unwrap().payload, "1");
            assert!(claim(c, &["mirror", "scan"], 10)?.is_none());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn schedules_remember_their_last_run() {
        let (_d, db) = db();
        db.run_sync(|c| {
            assert_eq!(last_run(c, "trash_purge")?, None);
            set_last_run(c, "trash_purge", 100)?;
            set_last_run(c, "trash_purge", 200)?;
            assert_eq!(last_run(c, "trash_purge")?, Some(200));
            Ok(())
        })
        .unwrap();
    }
}
