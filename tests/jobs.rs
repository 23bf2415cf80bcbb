//! Jobs of every kind against the real server: kinds registered by the test itself (as a
//! feature registers its own), retry policies across a restart, steps that do not count toward
//! a photo's status, the shutdown of a long job, and scheduled work that survives restarts.

mod common;

use photox::db::ids::{JobId, PhotoId};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{png, TestServer};
use photox::app::{AppState, DRAIN_TIMEOUT, JOB_GRACE};
use photox::jobs::{
    handler_fn, Backoff, JobContext, JobError, JobKind, JobRow, Priority, RetryPolicy,
};
use photox::processing::{register_step, MakeThumbnails, PhotoStep};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

/// Polls `check` until it gives a value (bounded: 30 s).
async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until job `id` satisfies `done`, and returns it.
async fn wait_job(s: &TestServer, id: JobId, what: &str, done: impl Fn(&JobRow) -> bool) -> JobRow {
    poll(what, async || {
        let job = s
            .state
            .jobs()
            .find(id)
            .await
            .unwrap()
            .expect("the job exists");
        done(&job).then_some(job)
    })
    .await
}

/// A copy to a remote that is down until `marker` exists: retried until it succeeds.
#[derive(Debug, Serialize, Deserialize)]
struct CopyWhenUp {
    marker: PathBuf,
}

impl JobKind for CopyWhenUp {
    const NAME: &'static str = "test_copy_when_up";
    const PRIORITY: Priority = Priority::LOW;
    // A minute first, so that no retry comes on its own while the test drives them.
    const RETRY: RetryPolicy = RetryPolicy::until_success().with_backoff(Backoff {
        first: Duration::from_secs(60),
        factor: 4,
    });
}

fn register_copy_when_up(state: &AppState) {
    state
        .jobs()
        .register(handler_fn(|job: CopyWhenUp, _| async move {
            match job.marker.exists() {
                true => Ok(()),
                false => Err(JobError::Retry("the remote is down".into())),
            }
        }));
}

#[tokio::test]
async fn a_job_that_retries_until_it_succeeds_outlives_restarts_and_any_attempt_count() {
    let mut s = TestServer::with_setup(|_| {}, register_copy_when_up).await;
    let root = s.register("root").await;
    let marker = s.dir.path().join("remote-is-up");
    let id = s
        .state
        .jobs()
        .enqueue(CopyWhenUp {
            marker: marker.clone(),
        })
        .await
        .unwrap()
        .expect("queued");
    let failed_once = wait_job(&s, id, "the first failure", |j| {
        j.attempts == 1 && j.state == "pending"
    })
    .await;
    assert_eq!(
        failed_once.last_error.as_deref(),
        Some("the remote is down")
    );
    assert_eq!(failed_once.run_at - failed_once.updated_at, 60, "backoff");

    s.restart().await;
    let after_restart = s.state.jobs().find(id).await.unwrap().unwrap();
    assert_eq!(
        (after_restart.state.as_str(), after_restart.attempts),
        ("pending", 1)
    );
    // More failures than any count-limited kind allows; the wait grows to the hour and stays.
    let mut attempts = 1;
    while attempts < 8 {
        s.state.jobs().run_now(CopyWhenUp::NAME).await.unwrap();
        let job = wait_job(&s, id, "another failure", |j| {
            j.attempts > attempts && j.state == "pending"
        })
        .await;
        attempts = job.attempts;
        let wait = CopyWhenUp::RETRY.retry_after(attempts as u32).unwrap();
        assert_eq!(
            job.run_at - job.updated_at,
            wait.as_secs() as i64,
            "{job:?}"
        );
    }
    assert_eq!(CopyWhenUp::RETRY.retry_after(8).unwrap().as_secs(), 3600);
    let jobs = s.get("/admin/jobs?state=pending", Some(&root.access)).await;
    jobs.expect(200);
    let listed = jobs.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id.get())
        .unwrap()
        .clone();
    assert_eq!(listed["kind"], CopyWhenUp::NAME);
    assert_eq!(listed["attempts"], attempts);
    assert_eq!(listed["max_attempts"], Value::Null, "until it succeeds");

    s.restart().await;
    std::fs::write(&marker, b"up").unwrap();
    s.state.jobs().run_now(CopyWhenUp::NAME).await.unwrap();
    let done = wait_job(&s, id, "the job to succeed", |j| j.state == "done").await;
    assert_eq!((done.attempts, done.last_error), (attempts + 1, None));
    let stats = s.get("/stats", Some(&root.access)).await;
    assert_eq!(stats.data()["system"]["jobs_failed"], 0);
}

/// A mirror-like copy of a photo: a step that does not count toward the photo's status. Each
/// run waits for the test to open `gate`, then fails as if the remote were unreachable.
#[derive(Debug, Serialize, Deserialize)]
struct MirrorCopy {
    photo_id: PhotoId,
}

impl JobKind for MirrorCopy {
    const NAME: &'static str = "test_mirror";
    const PRIORITY: Priority = Priority::LOW;
    const RETRY: RetryPolicy = RetryPolicy::attempts(2);
}

impl PhotoStep for MirrorCopy {
    const STEP: &'static str = "mirror";
    const COUNTS_TOWARD_STATUS: bool = false;
    fn photo_id(&self) -> PhotoId {
        self.photo_id
    }
}

fn step<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {status}"))
}

#[tokio::test]
async fn a_failing_step_that_does_not_count_never_holds_back_nor_fails_its_photo() {
    let gate = Arc::new(Notify::new());
    let opened = gate.clone();
    let s = TestServer::with_setup(
        |c| c.tagging.enabled = false,
        move |state| {
            let gate = opened.clone();
            register_step(
                state.jobs(),
                state.processing(),
                move |_, _, _: MirrorCopy, _| {
                    let gate = gate.clone();
                    async move {
                        gate.notified().await;
                        Err(JobError::Retry("the remote is unreachable".into()))
                    }
                },
            );
        },
    )
    .await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "a.png", png(40, 30)).await["id"]
        .as_i64()
        .unwrap();
    s.state
        .processing()
        .queue_step(MirrorCopy {
            photo_id: PhotoId(id),
        })
        .await
        .unwrap();
    let path = format!("/photos/{id}/status");
    // Ready while the copy is still under way.
    let status = poll("ready with the copy running", async || {
        let r = s.get(&path, Some(&ann.access)).await;
        let d = r.data().clone();
        (d["status"] == "ready" && step(&d, "mirror")["status"] == "running").then_some(d)
    })
    .await;
    assert_eq!(step(&status, "thumbnails")["status"], "done");

    // The first attempt fails: the step shows why while it waits to retry; the photo stays ready.
    gate.notify_one();
    let status = poll("the first failure", async || {
        let d = s.get(&path, Some(&ann.access)).await.data().clone();
        (step(&d, "mirror")["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(status["status"], "ready");
    assert_eq!(
        step(&status, "mirror")["error"],
        "the remote is unreachable"
    );
    let job = s.state.jobs().list(None, 100, 0).await.unwrap();
    let copy = job
        .items
        .iter()
        .find(|j| j.kind == MirrorCopy::NAME)
        .unwrap();
    let copy = wait_job(&s, copy.id, "the retry to be queued", |j| {
        j.state == "pending"
    })
    .await;

    // The last attempt fails for good: the job is failed, the photo still ready.
    s.state.jobs().run_now(MirrorCopy::NAME).await.unwrap();
    poll("the second run", async || {
        let d = s.get(&path, Some(&ann.access)).await.data().clone();
        (step(&d, "mirror")["status"] == "running").then_some(())
    })
    .await;
    gate.notify_one();
    let failed = wait_job(&s, copy.id, "the job to fail", |j| j.state == "failed").await;
    assert_eq!(failed.attempts, 2);
    let d = poll("the failure recorded", async || {
        let d = s.get(&path, Some(&ann.access)).await.data().clone();
        (step(&d, "mirror")["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(d["status"], "ready");
    assert_eq!(step(&d, "mirror")["error"], "the remote is unreachable");
    let photo = s.get(&format!("/photos/{id}"), Some(&ann.access)).await;
    assert_eq!(photo.data()["status"], "ready");
    let ready = s.get("/photos?status=ready", Some(&ann.access)).await;
    assert_eq!(ready.data()["pagination"]["total_items"], 1);
}

/// Runs until the daemon stops, unless `finished` exists. `cooperative` ones stop when told;
/// the others ignore it and must be cancelled.
#[derive(Debug, Serialize, Deserialize)]
struct LongCopy {
    cooperative: bool,
    finished: PathBuf,
}

impl JobKind for LongCopy {
    const NAME: &'static str = "test_long_copy";
    const RETRY: RetryPolicy = RetryPolicy::attempts(1);
}

fn register_long_copy(state: &AppState) {
    state
        .jobs()
        .register(handler_fn(|job: LongCopy, ctx: JobContext| async move {
            if job.finished.exists() {
                return Ok(());
            }
            if job.cooperative {
                ctx.cancelled().await;
                return Err(JobError::Retry("stopped for the shutdown".into()));
            }
            std::future::pending::<()>().await;
            unreachable!()
        }));
}

#[tokio::test]
async fn shutdown_cancels_long_jobs_within_the_drain_time_and_they_run_again_after_restart() {
    let mut s = TestServer::with_setup(|c| c.jobs.workers = 2, register_long_copy).await;
    let finished = s.dir.path().join("finished");
    let mut ids = Vec::new();
    for cooperative in [true, false] {
        let job = LongCopy {
            cooperative,
            finished: finished.clone(),
        };
        ids.push(s.state.jobs().enqueue(job).await.unwrap().unwrap());
    }
    for &id in &ids {
        wait_job(&s, id, "the job to start", |j| j.state == "running").await;
    }

    let started = Instant::now();
    tokio::time::timeout(DRAIN_TIMEOUT + Duration::from_secs(5), s.shut_down())
        .await
        .expect("App::serve returns within the drain time")
        .unwrap();
    let took = started.elapsed();
    assert!(took < DRAIN_TIMEOUT, "took {took:?}");
    assert!(
        took >= JOB_GRACE,
        "the stubborn job had its grace period: {took:?}"
    );
    for &id in &ids {
        let job = s.state.jobs().find(id).await.unwrap().unwrap();
        assert_eq!(job.state, "pending", "{job:?}");
        assert_eq!(
            job.attempts, 0,
            "a cancelled run is not an attempt: {job:?}"
        );
        assert_eq!(job.last_error, None);
    }

    std::fs::write(&finished, b"").unwrap();
    s.restart().await;
    for &id in &ids {
        let job = wait_job(&s, id, "the job to run again", |j| j.state == "done").await;
        assert_eq!(job.attempts, 1);
    }
}

#[tokio::test]
async fn a_job_whose_photo_is_gone_ends_done_without_an_error() {
    let s = TestServer::with_config(|c| c.tagging.enabled = false).await;
    let ann = s.register("ann").await;
    let id = s.upload(&ann.access, "a.png", png(20, 20)).await["id"]
        .as_i64()
        .unwrap();
    s.wait_processed(&ann.access, id).await;
    s.delete(&format!("/photos/{id}"), Some(&ann.access))
        .await
        .expect(200);
    s.delete(&format!("/photos/{id}/permanent"), Some(&ann.access))
        .await
        .expect(200);
    // A thumbnail job queued for it before the purge (as a reprocess would have).
    let job = s
        .state
        .jobs()
        .enqueue(MakeThumbnails {
            photo_id: PhotoId(id),
        })
        .await
        .unwrap()
        .unwrap();
    let done = wait_job(&s, job, "the job to end", |j| {
        j.state != "pending" && j.state != "running"
    })
    .await;
    assert_eq!((done.state.as_str(), done.last_error), ("done", None));
    assert_eq!(done.attempts, 1);
}

/// Done runs of each housekeeping kind.
async fn housekeeping_runs(s: &TestServer) -> Vec<(String, usize)> {
    let list = s
        .state
        .jobs()
        .list(Some("done".into()), 1000, 0)
        .await
        .unwrap();
    [
        "prune_finished_jobs",
        "prune_sessions",
        "purge_expired_trash",
    ]
    .into_iter()
    .map(|kind| {
        let n = list.items.iter().filter(|j| j.kind == kind).count();
        (kind.to_string(), n)
    })
    .collect()
}

fn runs(counts: [usize; 3]) -> Vec<(String, usize)> {
    [
        "prune_finished_jobs",
        "prune_sessions",
        "purge_expired_trash",
    ]
    .into_iter()
    .zip(counts)
    .map(|(k, n)| (k.to_string(), n))
    .collect()
}

#[tokio::test]
async fn scheduled_work_runs_at_start_once_and_a_restart_remembers_it() {
    let mut s = TestServer::start().await;
    poll("housekeeping at start", async || {
        (housekeeping_runs(&s).await == runs([1, 1, 1])).then_some(())
    })
    .await;

    // Restarted a moment later: nothing is due again (the last runs are in the database).
    s.restart().await;
    let fired = s
        .state
        .jobs()
        .fire_due_schedules(photox::db::now())
        .await
        .unwrap();
    assert_eq!(fired.queued, 0);
    assert!(fired.next_due > photox::db::now() + 3000, "{fired:?}");
    let pending = s
        .state
        .jobs()
        .list(Some("pending".into()), 10, 0)
        .await
        .unwrap();
    assert_eq!(pending.total, 0);
    assert_eq!(housekeeping_runs(&s).await, runs([1, 1, 1]));

    // The purge fell due while the daemon was down: it runs at start.
    s.shut_down().await.unwrap();
    s.state
        .db()
        .run(|c| {
            c.execute(
                "UPDATE job_schedules SET last_run_at = last_run_at - 7200
                 WHERE name = 'purge_expired_trash'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    s.restart().await;
    poll("the overdue purge", async || {
        (housekeeping_runs(&s).await == runs([1, 1, 2])).then_some(())
    })
    .await;
}
