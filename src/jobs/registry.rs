//! The registered kinds, their types erased: a kind's name maps to a function from its stored
//! parameters (JSON) to the handler's future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Failure, JobContext, JobError, JobHandler, JobKind, RetryPolicy};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RunFn = dyn Fn(String, JobContext) -> BoxFuture<Result<(), JobError>> + Send + Sync;
type FailedFn = dyn Fn(String, Failure) -> BoxFuture<()> + Send + Sync;

/// One registered kind.
pub(super) struct Kind {
    pub retry: RetryPolicy,
    run: Box<RunFn>,
    failed: Box<FailedFn>,
}

impl Kind {
    pub fn new<J: JobKind>(handler: impl JobHandler<J>) -> Kind {
        let handler = Arc::new(handler);
        let on_failure = handler.clone();
        Kind {
            retry: J::RETRY,
            run: Box::new(move |payload, ctx| {
                let handler = handler.clone();
                Box::pin(async move {
                    let job: J = serde_json::from_str(&payload).map_err(|e| {
                        JobError::Permanent(format!("unreadable job parameters: {e}"))
                    })?;
                    handler.run(job, ctx).await
                })
            }),
            failed: Box::new(move |payload, failure| {
                let handler = on_failure.clone();
                Box::pin(async move {
                    // Unreadable parameters failed the job without a run: nothing to undo.
                    if let Ok(job) = serde_json::from_str::<J>(&payload) {
                        handler.failed(job, failure).await;
                    }
                })
            }),
        }
    }

    /// The job's work, as a future that owns everything it needs.
    pub fn run(&self, payload: String, ctx: JobContext) -> BoxFuture<Result<(), JobError>> {
        (self.run)(payload, ctx)
    }

    pub fn failed(&self, payload: String, failure: Failure) -> BoxFuture<()> {
        (self.failed)(payload, failure)
    }
}

/// A closure as a handler (no failure hook): `handler_fn(|job: MyKind, ctx| async move { .. })`.
pub struct FnHandler<F>(F);

pub fn handler_fn<F>(f: F) -> FnHandler<F> {
    FnHandler(f)
}

impl<J, F, Fut> JobHandler<J> for FnHandler<F>
where
    J: Send + 'static,
    F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send,
{
    fn run(&self, job: J, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send {
        (self.0)(job, ctx)
    }
}
