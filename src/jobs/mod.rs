//! Durable background work: one `enum Job`, a queue table in SQLite, workers that claim jobs
//! with a heartbeat, retry with backoff and give up on permanent errors.

pub mod queue;
pub mod worker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Make the thumbnail and the preview of a photo.
    Thumbnails { photo_id: i64 },
    /// Read a photo's EXIF again and store it.
    Exif { photo_id: i64 },
    /// Tag a photo with the AI model (replaces its AI tags).
    Tags { photo_id: i64 },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Thumbnails { .. } => "thumbnails",
            Job::Exif { .. } => "exif",
            Job::Tags { .. } => "tags",
        }
    }

    /// The photo the job works on.
    pub fn photo_id(&self) -> i64 {
        match *self {
            Job::Thumbnails { photo_id } | Job::Exif { photo_id } | Job::Tags { photo_id } => {
                photo_id
            }
        }
    }

    pub fn max_attempts(&self) -> i64 {
        5
    }
}

/// How a job failed, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (I/O trouble, a busy database).
    #[error("{0}")]
    Retry(String),
    /// Will fail the same way every time (a corrupt image).
    #[error("{0}")]
    Permanent(String),
}

/// Wakes idle workers when a job is queued.
#[derive(Clone, Default)]
pub struct JobSignal {
    notify: Arc<Notify>,
}

impl JobSignal {
    pub fn wake(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub async fn wait(&self) {
        self.notify.notified().await;
    }
}
