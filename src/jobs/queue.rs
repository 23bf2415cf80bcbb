//! SQL of the job queue. Jobs are enqueued in the same transaction as the rows they work on.

use rusqlite::{params, Connection, OptionalExtension};

use super::Job;

/// A job whose heartbeat is older than this is considered abandoned and runs again.
pub const STALE_AFTER_SECS: i64 = 60;

pub fn enqueue(conn: &Connection, job: &Job, now: i64) -> rusqlite::Result<i64> {
    let payload = serde_json::to_string(job).expect("jobs serialize");
    conn.execute(
        "INSERT INTO jobs (kind, payload, max_attempts, run_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
        params![job.kind(), payload, job.max_attempts(), now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A claimed job: its id, what to do, and which attempt this is (1-based).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub job: Option<Job>,
    pub attempt: i64,
    pub max_attempts: i64,
}

/// Takes the oldest due pending job and marks it running. Tag jobs come after every other due
/// job: a batch of uploads gets all its thumbnails before the (slower, less urgent) tagging, so
/// tagging never holds up thumbnails while workers are scarce.
pub fn claim(conn: &Connection, now: i64) -> rusqlite::Result<Option<Claimed>> {
    conn.query_row(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, heartbeat_at = ?1, updated_at = ?1
         WHERE id = (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ?1
                     ORDER BY kind = 'tags', run_at, id LIMIT 1)
         RETURNING id, payload, attempts, max_attempts",
        [now],
        |r| {
            let payload: String = r.get(1)?;
            Ok(Claimed {
                id: r.get(0)?,
                job: serde_json::from_str(&payload).ok(),
                attempt: r.get(2)?,
                max_attempts: r.get(3)?,
            })
        },
    )
    .optional()
}

pub fn heartbeat(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET heartbeat_at = ?2 WHERE id = ?1 AND state = 'running'",
        params![id, now],
    )?;
    Ok(())
}

pub fn complete(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE jobs SET state = 'done', last_error = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Records a failure: back to pending at `retry_at`, or failed for good when `None`.
pub fn fail(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> rusqlite::Result<()> {
    match retry_at {
        Some(at) => conn.execute(
            "UPDATE jobs SET state = 'pending', run_at = ?3, last_error = ?2, updated_at = ?4 WHERE id = ?1",
            params![id, error, at, now],
        )?,
        None => conn.execute(
            "UPDATE jobs SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, error, now],
        )?,
    };
    Ok(())
}

/// Puts running jobs whose heartbeat is older than `before` back to pending.
pub fn requeue_stale(conn: &Connection, before: i64, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE jobs SET state = 'pending', run_at = ?2, updated_at = ?2
         WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?1)",
        params![before, now],
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
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    /// The job's parameters as stored (JSON).
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
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
    let mut stmt = conn.prepare(
        "SELECT id, kind, payload, state, attempts, max_attempts, run_at, last_error, created_at,
                updated_at
         FROM jobs WHERE ?1 IS NULL OR state = ?1 ORDER BY updated_at DESC, id DESC
         LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![state, limit, offset], |r| {
            Ok(JobRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                payload: r.get(2)?,
                state: r.get(3)?,
                attempts: r.get(4)?,
                max_attempts: r.get(5)?,
                run_at: r.get(6)?,
                last_error: r.get(7)?,
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// Seconds to wait before attempt `attempt + 1`: 10 s, 40 s, 160 s, ... capped at one hour.
pub fn backoff_secs(attempt: i64) -> i64 {
    let exp = attempt.clamp(1, 10) as u32 - 1;
    (10 * 4i64.pow(exp)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::db::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("t.db")).unwrap();
        (dir, db)
    }

    #[test]
    fn claim_takes_due_jobs_in_order_once() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &Job::Thumbnails { photo_id: 1 }, 100)?;
            enqueue(c, &Job::Exif { photo_id: 2 }, 50)?;
            enqueue(c, &Job::Exif { photo_id: 3 }, 500)?;
            let first = claim(c, 100)?.unwrap();
            assert_eq!(first.job, Some(Job::Exif { photo_id: 2 }));
            assert_eq!(first.attempt, 1);
            assert_eq!(
                claim(c, 100)?.unwrap().job,
                Some(Job::Thumbnails { photo_id: 1 })
            );
            assert!(claim(c, 100)?.is_none(), "the third is not due yet");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn tag_jobs_wait_for_other_due_jobs() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &Job::Thumbnails { photo_id: 1 }, 10)?;
            enqueue(c, &Job::Tags { photo_id: 1 }, 10)?;
            enqueue(c, &Job::Tags { photo_id: 2 }, 20)?;
            enqueue(c, &Job::Thumbnails { photo_id: 2 }, 20)?;
            let order: Vec<Option<Job>> = (0..4)
                .map(|_| claim(c, 100).map(|j| j.unwrap().job))
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(
                order,
                [
                    Some(Job::Thumbnails { photo_id: 1 }),
                    Some(Job::Thumbnails { photo_id: 2 }),
                    Some(Job::Tags { photo_id: 1 }),
                    Some(Job::Tags { photo_id: 2 }),
                ]
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn failures_retry_later_or_stop() {
        let (_d, db) = db();
        db.run_sync(|c| {
            let id = enqueue(c, &Job::Thumbnails { photo_id: 1 }, 0)?;
            claim(c, 0)?.unwrap();
            fail(c, id, "disk busy", Some(100), 1)?;
            assert!(claim(c, 99)?.is_none());
            let again = claim(c, 100)?.unwrap();
            assert_eq!(again.attempt, 2);
            fail(c, id, "corrupt", None, 101)?;
            assert!(claim(c, 10_000)?.is_none());
            assert_eq!(count_by_state(c)?, vec![("failed".to_string(), 1)]);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn abandoned_jobs_come_back() {
        let (_d, db) = db();
        db.run_sync(|c| {
            enqueue(c, &Job::Thumbnails { photo_id: 1 }, 0)?;
            let claimed = claim(c, 10)?.unwrap();
            assert_eq!(requeue_stale(c, 5, 20)?, 0, "heartbeat is fresh");
            assert_eq!(requeue_stale(c, 11, 20)?, 1);
            let again = claim(c, 20)?.unwrap();
            assert_eq!(again.id, claimed.id);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(2), 40);
        assert_eq!(backoff_secs(9), 3600);
    }
}
