//! Background processing of photos: thumbnails, EXIF again, AI tags, and what a failure means
//! for a photo's status.

use super::library::{file_key, Library};
use super::repo;
use super::{CameraInfo, Location, Photo, PhotoError, Status, Viewer};
use crate::db::now;
use crate::error::{AppError, ValidationErrors};
use crate::jobs::{queue, Job, JobError};
use crate::media::sniff::ImageKind;
use crate::media::{exif, thumbnail, MediaError};
use crate::storage::Rendition;
use crate::tagging::{Tagger, TaggingError};
use crate::visibility::ensure_can_modify;

/// Steps `reprocess` may redo.
pub const REPROCESS_STEPS: &[&str] = &["exif", "thumbnails", "tags"];
/// Why the `tags` step is skipped when `tagging.enabled` is false.
pub const TAGGING_OFF: &str = "tagging is disabled (tagging.enabled = false)";

fn media_failure(e: MediaError) -> JobError {
    match e {
        // A full disk or a file system hiccup may pass.
        MediaError::Io(_) => JobError::Retry(e.to_string()),
        // The same bytes fail the same way every time.
        _ => JobError::Permanent(e.to_string()),
    }
}

fn tagging_failure(e: TaggingError) -> JobError {
    match e {
        TaggingError::Media(e) => media_failure(e),
        // The embedded model fails the same way for every photo.
        TaggingError::Model(_) => JobError::Permanent(e.to_string()),
    }
}

fn image_kind(photo: &Photo) -> Result<ImageKind, JobError> {
    ImageKind::from_extension(&photo.ext)
        .ok_or_else(|| JobError::Permanent("unknown file type".into()))
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

impl Library {
    /// Runs one job; `Ok` also when its photo was deleted meanwhile.
    pub async fn run_job(&self, job: &Job) -> Result<(), JobError> {
        let photo_id = job.photo_id();
        let found = self
            .db
            .run(move |conn| Ok(repo::find_photo(conn, photo_id, Viewer::Anonymous, "1")?))
            .await
            .map_err(retry)?;
        let Some(photo) = found else {
            return Ok(());
        };
        let step = job.kind();
        self.mark_running(photo_id, step).await.map_err(retry)?;
        match (job, &self.tagger) {
            (Job::Thumbnails { .. }, _) => self.make_renditions(&photo).await?,
            (Job::Exif { .. }, _) => self.reread_exif(&photo).await?,
            (Job::Tags { .. }, Some(tagger)) => self.tag_photo(tagger, &photo).await?,
            (Job::Tags { .. }, None) => {
                // Queued before tagging was turned off.
                let off = Some(TAGGING_OFF.to_string());
                return self
                    .finish_step(photo_id, step, "skipped", off)
                    .await
                    .map_err(retry);
            }
        }
        self.finish_step(photo_id, step, "done", None)
            .await
            .map_err(retry)
    }

    async fn make_renditions(&self, photo: &Photo) -> Result<(), JobError> {
        let key = file_key(photo);
        let original = self.original_of(photo)?;
        let kind = image_kind(photo)?;
        let thumb = self.storage.rendition_path(key, Rendition::Thumbnail);
        let preview = self.storage.rendition_path(key, Rendition::Preview);
        let orientation = photo.camera.orientation;
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = thumb.parent() {
                std::fs::create_dir_all(dir).map_err(retry)?;
            }
            let outputs = [
                (thumbnail::THUMBNAIL_SIDE, thumb.as_path()),
                (thumbnail::PREVIEW_SIDE, preview.as_path()),
            ];
            thumbnail::render(&original, kind, orientation, &outputs).map_err(media_failure)?;
            Ok(())
        })
        .await
        .map_err(|e| JobError::Permanent(format!("thumbnailing crashed: {e}")))?
    }

    /// Runs the model on the original and replaces the photo's AI tags (manual tags stay).
    async fn tag_photo(&self, tagger: &Tagger, photo: &Photo) -> Result<(), JobError> {
        let original = self.original_of(photo)?;
        let kind = image_kind(photo)?;
        let tags = tagger
            .tag_file(original, kind, photo.camera.orientation)
            .await
            .map_err(tagging_failure)?;
        let id = photo.id;
        self.db
            .run(move |conn| {
                let weighted: Vec<(String, f64)> = tags
                    .into_iter()
                    .map(|t| (t.name, f64::from(t.confidence)))
                    .collect();
                let tx = conn.transaction()?;
                repo::replace_tags(&tx, id, "ai", &weighted)?;
                tx.commit()?;
                Ok(())
            })
            .await
            .map_err(retry)
    }

    fn original_of(&self, photo: &Photo) -> Result<std::path::PathBuf, JobError> {
        self.storage
            .locate(&photo.file, file_key(photo))
            .ok_or_else(|| JobError::Permanent("the original file is missing".into()))
    }

    async fn reread_exif(&self, photo: &Photo) -> Result<(), JobError> {
        let original = self.original_of(photo)?;
        let data = tokio::task::spawn_blocking(move || exif::read_exif(&original))
            .await
            .map_err(retry)?
            .map_err(media_failure)?
            .unwrap_or_default();
        let id = photo.id;
        self.db
            .run(move |conn| {
                let camera = CameraInfo::from_exif(&data);
                repo::set_exif(
                    conn,
                    id,
                    &camera,
                    Location::from_exif(&data),
                    data.taken_at,
                    now(),
                )?;
                Ok(())
            })
            .await
            .map_err(retry)
    }

    /// Marks a step as under way (its end is recorded by `finish_step`).
    async fn mark_running(&self, id: i64, step: &'static str) -> Result<(), AppError> {
        self.db
            .run(move |conn| Ok(repo::set_step(conn, id, step, "running", None, now())?))
            .await
    }

    /// Records how a step ended and settles the photo's status in one transaction: ready when no
    /// step is pending, running or failed; failed when one failed. (Two jobs of one photo end
    /// concurrently; separate read and write could leave a finished photo "processing".)
    async fn finish_step(
        &self,
        id: i64,
        step: &str,
        status: &'static str,
        error: Option<String>,
    ) -> Result<(), AppError> {
        let step = step.to_string();
        self.db
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let now = now();
                repo::set_step(&tx, id, &step, status, error.as_deref(), now)?;
                settle_status(&tx, id, now)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// A job gave up: its step failed, and so did the photo, with the reason.
    pub async fn job_gave_up(&self, job: &Job, message: &str) -> Result<(), AppError> {
        self.finish_step(
            job.photo_id(),
            job.kind(),
            "failed",
            Some(message.to_string()),
        )
        .await
    }

    /// Queues `steps` (default: exif and thumbnails) again for a photo the viewer may change.
    pub async fn reprocess(
        &self,
        viewer: Viewer,
        id: i64,
        steps: Option<Vec<String>>,
    ) -> Result<(), AppError> {
        let steps = steps.unwrap_or_else(default_steps);
        check_steps(&steps)?;
        let photo = self.get_photo(viewer, id).await?;
        ensure_can_modify(viewer, &photo)?;
        if photo.deleted_at.is_some() {
            return Err(PhotoError::InTrash.into());
        }
        self.queue_steps(id, steps).await
    }

    /// Queues `steps` again for every photo not in the trash (`photox reprocess`); returns how
    /// many photos.
    pub async fn reprocess_all(&self, steps: Vec<String>) -> Result<usize, AppError> {
        check_steps(&steps)?;
        let ids = self.db.run(|conn| Ok(repo::live_photo_ids(conn)?)).await?;
        for id in &ids {
            self.queue_steps(*id, steps.clone()).await?;
        }
        Ok(ids.len())
    }

    /// Queues jobs for `steps` of photo `id` and marks them pending.
    pub async fn queue_steps(&self, id: i64, steps: Vec<String>) -> Result<(), AppError> {
        let tagging = self.tagger.is_some();
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let now = now();
                for step in &steps {
                    let job = match step.as_str() {
                        "exif" => Job::Exif { photo_id: id },
                        "thumbnails" => Job::Thumbnails { photo_id: id },
                        "tags" if tagging => Job::Tags { photo_id: id },
                        "tags" => {
                            repo::set_step(&tx, id, step, "skipped", Some(TAGGING_OFF), now)?;
                            continue;
                        }
                        _ => continue,
                    };
                    repo::set_step(&tx, id, step, "pending", None, now)?;
                    queue::enqueue(&tx, &job, now)?;
                }
                // Processing again, unless every step asked for was skipped.
                settle_status(&tx, id, now)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.signal.wake();
        Ok(())
    }
}

/// Sets the photo's status from its steps: processing while one is pending or running, then
/// failed (with the first failed step's reason, in step order) or ready. A photo is never
/// `failed` while another step is still at work, so a client that waits for the end of
/// `processing` sees every step settled.
fn settle_status(conn: &rusqlite::Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    let steps = repo::steps(conn, id)?;
    let failed = steps.iter().find(|s| s.status == "failed");
    let busy = steps
        .iter()
        .any(|s| s.status == "pending" || s.status == "running");
    let (status, reason) = match (busy, failed) {
        (true, _) => (Status::Processing, None),
        (false, Some(f)) => (Status::Failed, f.error.clone()),
        (false, None) => (Status::Ready, None),
    };
    repo::set_status(conn, id, status, reason.as_deref(), now)
}

pub fn default_steps() -> Vec<String> {
    vec!["exif".into(), "thumbnails".into()]
}

fn check_steps(steps: &[String]) -> Result<(), ValidationErrors> {
    match steps
        .iter()
        .find(|s| !REPROCESS_STEPS.contains(&s.as_str()))
    {
        Some(bad) => Err(ValidationErrors::single(
            "steps",
            &format!("unknown step `{bad}`; use exif, thumbnails or tags"),
            "INVALID_VALUE",
        )),
        None => Ok(()),
    }
}
