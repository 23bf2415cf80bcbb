//! Background processing of photos: thumbnails, EXIF again and AI tags as job kinds (photo
//! steps), and what a step's end means for a photo's status.

pub mod repo;

use crate::db::ids::PhotoId;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::catalog::repo::{self as catalog_repo, Access};
use crate::catalog::service::file_key;
use crate::catalog::visibility::ensure_can_modify;
use crate::catalog::{CameraInfo, Catalog, Location, Photo, PhotoError, Status, Step, Viewer};
use crate::db::{now, Db};
use crate::error::{AppError, ValidationErrors};
use crate::jobs::{self, Failure, JobContext, JobError, JobHandler, JobKind, Jobs, Priority};
use crate::media::sniff::ImageKind;
use crate::media::{exif, thumbnail, MediaError};
use crate::storage::{Rendition, Storage};
use crate::tagging::{Tagger, TaggingError};

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

/// A job that does one step of one photo; the step shows in `GET /photos/{id}/status`.
/// The mirror feature adds its copy as a step that does not count toward the status.
pub trait PhotoStep: JobKind {
    /// The step's name in the status (`photo_steps.name`).
    const STEP: &'static str;
    /// Whether the step holds its photo back: while it is pending or running the photo is
    /// `processing`, and when it fails for good the photo is `failed`. A step that does not
    /// count shows `failed` with its reason while it retries and never changes the status.
    const COUNTS_TOWARD_STATUS: bool = true;

    fn photo_id(&self) -> PhotoId;
}

/// How a step's work ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Done,
    /// Nothing to do, with the reason (tagging turned off).
    Skipped(String),
}

/// Make the thumbnail and the preview of a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeThumbnails {
    pub photo_id: PhotoId,
}

/// Read a photo's EXIF again and store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadExif {
    pub photo_id: PhotoId,
}

/// Tag a photo with the AI model (replaces its AI tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPhoto {
    pub photo_id: PhotoId,
}

macro_rules! photo_step {
    ($kind:ty, $name:literal, $priority:expr) => {
        impl JobKind for $kind {
            const NAME: &'static str = $name;
            const PRIORITY: Priority = $priority;
        }
        impl PhotoStep for $kind {
            const STEP: &'static str = $name;
            fn photo_id(&self) -> PhotoId {
                self.photo_id
            }
        }
    };
}

// A batch of uploads gets all its thumbnails before the slower, less urgent tagging.
photo_step!(MakeThumbnails, "thumbnails", Priority::HIGH);
photo_step!(ReadExif, "exif", Priority::HIGH);
photo_step!(TagPhoto, "tags", Priority::NORMAL);

/// Registers step `S`: `work` runs for each of its jobs whose photo still exists (a job whose
/// photo was purged meanwhile ends done), between marking the step running and recording how
/// it ended; its failures are recorded on the step as `S` counts toward the status.
pub fn register_step<S, F, Fut>(jobs: &Jobs, processing: &Processing, work: F)
where
    S: PhotoStep,
    F: Fn(Processing, Photo, S, JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<StepOutcome, JobError>> + Send + 'static,
{
    jobs.register::<S>(StepHandler {
        processing: processing.clone(),
        work,
    });
}

struct StepHandler<F> {
    processing: Processing,
    work: F,
}

impl<S, F, Fut> JobHandler<S> for StepHandler<F>
where
    S: PhotoStep,
    F: Fn(Processing, Photo, S, JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<StepOutcome, JobError>> + Send + 'static,
{
    fn run(&self, job: S, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send {
        let processing = self.processing.clone();
        let photo_id = job.photo_id();
        async move {
            let found = processing
                .db
                .run(move |conn| Ok(catalog_repo::find_photo(conn, photo_id, Access::Any)?))
                .await
                .map_err(retry)?;
            let Some(photo) = found else {
                return Ok(());
            };
            processing
                .record_step(photo_id, S::STEP, "running", None)
                .await
                .map_err(retry)?;
            let (status, note) = match (self.work)(processing.clone(), photo, job, ctx).await? {
                StepOutcome::Done => ("done", None),
                StepOutcome::Skipped(why) => ("skipped", Some(why)),
            };
            processing
                .record_step(photo_id, S::STEP, status, note)
                .await
                .map_err(retry)
        }
    }

    fn failed(&self, job: S, failure: Failure) -> impl Future<Output = ()> + Send {
        let processing = self.processing.clone();
        async move {
            // A step that counts keeps its photo processing while it retries.
            if failure.gave_up() || !S::COUNTS_TOWARD_STATUS {
                let (id, reason) = (job.photo_id(), Some(failure.message));
                if let Err(e) = processing.record_step(id, S::STEP, "failed", reason).await {
                    log::error!(
                        "could not record the failed {} step of photo {id}: {e}",
                        S::STEP
                    );
                }
            }
        }
    }
}

/// Queues step `S` in the caller's transaction and marks it pending.
pub fn queue_step_in<S: PhotoStep>(
    tx: &rusqlite::Connection,
    job: &S,
    now: i64,
) -> rusqlite::Result<()> {
    repo::queue_step(tx, job.photo_id(), S::STEP, S::COUNTS_TOWARD_STATUS, now)?;
    jobs::enqueue(tx, job, now)?;
    Ok(())
}

/// The photo steps: thumbnails, EXIF again, AI tags.
#[derive(Clone)]
pub struct Processing {
    db: Db,
    storage: Storage,
    jobs: Jobs,
    catalog: Catalog,
    /// `None` when `tagging.enabled` is false: the `tags` step is skipped.
    tagger: Option<Tagger>,
}

impl Processing {
    pub fn new(
        db: Db,
        storage: Storage,
        jobs: Jobs,
        catalog: Catalog,
        tagger: Option<Tagger>,
    ) -> Self {
        Self {
            db,
            storage,
            jobs,
            catalog,
            tagger,
        }
    }

    /// The tagger, when tagging is enabled.
    pub fn tagger(&self) -> Option<&Tagger> {
        self.tagger.as_ref()
    }

    /// Registers the photo steps (thumbnails, EXIF, tags).
    pub fn register_jobs(&self, jobs: &Jobs) {
        register_step(
            jobs,
            self,
            |steps, photo, _: MakeThumbnails, _| async move {
                steps.make_renditions(&photo).await?;
                Ok(StepOutcome::Done)
            },
        );
        register_step(jobs, self, |steps, photo, _: ReadExif, _| async move {
            steps.reread_exif(&photo).await?;
            Ok(StepOutcome::Done)
        });
        register_step(jobs, self, |steps, photo, _: TagPhoto, _| async move {
            match steps.tagger.clone() {
                Some(tagger) => steps.tag_photo(&tagger, &photo).await?,
                // Queued before tagging was turned off.
                None => return Ok(StepOutcome::Skipped(TAGGING_OFF.into())),
            }
            Ok(StepOutcome::Done)
        });
    }

    /// Queues step `S` of its photo on its own (the upload queues its steps in its own
    /// transaction with `queue_step_in`).
    pub async fn queue_step<S: PhotoStep>(&self, job: S) -> Result<(), AppError> {
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let now = now();
                queue_step_in(&tx, &job, now)?;
                settle_status(&tx, job.photo_id(), now)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.jobs.wake();
        Ok(())
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
                catalog_repo::tags::replace_tags(&tx, id, "ai", &weighted)?;
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
                catalog_repo::set_exif(
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

    /// Records how a step stands and settles the photo's status in one transaction (two jobs
    /// of one photo end concurrently; a separate read and write could leave a finished photo
    /// "processing"). Nothing happens when the photo is gone.
    async fn record_step(
        &self,
        id: PhotoId,
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

    /// A photo's status with each of its steps.
    pub async fn photo_status(
        &self,
        viewer: Viewer,
        id: PhotoId,
    ) -> Result<(Status, Vec<Step>), AppError> {
        let photo = self.catalog.get_photo(viewer, id).await?;
        let steps = self.db.run(move |conn| Ok(repo::steps(conn, id)?)).await?;
        Ok((photo.status, steps))
    }

    /// Queues `steps` (default: exif and thumbnails) again for a photo the viewer may change.
    pub async fn reprocess(
        &self,
        viewer: Viewer,
        id: PhotoId,
        steps: Option<Vec<String>>,
    ) -> Result<(), AppError> {
        let steps = steps.unwrap_or_else(default_steps);
        check_steps(&steps)?;
        let photo = self.catalog.get_photo(viewer, id).await?;
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
        let ids = self
            .db
            .run(|conn| Ok(catalog_repo::live_photo_ids(conn)?))
            .await?;
        for id in &ids {
            self.queue_steps(*id, steps.clone()).await?;
        }
        Ok(ids.len())
    }

    /// Queues jobs for `steps` of photo `id` and marks them pending.
    pub async fn queue_steps(&self, id: PhotoId, steps: Vec<String>) -> Result<(), AppError> {
        let tagging = self.tagger.is_some();
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let now = now();
                for step in &steps {
                    match step.as_str() {
                        "exif" => queue_step_in(&tx, &ReadExif { photo_id: id }, now)?,
                        "thumbnails" => queue_step_in(&tx, &MakeThumbnails { photo_id: id }, now)?,
                        "tags" if tagging => queue_step_in(&tx, &TagPhoto { photo_id: id }, now)?,
                        "tags" => repo::set_step(&tx, id, step, "skipped", Some(TAGGING_OFF), now)?,
                        _ => {}
                    }
                }
                // Processing again, unless every step asked for was skipped.
                settle_status(&tx, id, now)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.jobs.wake();
        Ok(())
    }
}

/// Sets the photo's status from the steps that count toward it: processing while one is
/// pending or running, then failed (with the first failed step's reason, in step order) or
/// ready. A photo is never `failed` while another step is still at work, so a client that
/// waits for the end of `processing` sees every step settled. Steps that do not count (a
/// mirror copy) never hold a photo back nor fail it.
fn settle_status(conn: &rusqlite::Connection, id: PhotoId, now: i64) -> rusqlite::Result<()> {
    let mut steps = repo::steps(conn, id)?;
    steps.retain(|s| s.counts_toward_status);
    let failed = steps.iter().find(|s| s.status == "failed");
    let busy = steps
        .iter()
        .any(|s| s.status == "pending" || s.status == "running");
    let (status, reason) = match (busy, failed) {
        (true, _) => (Status::Processing, None),
        (false, Some(f)) => (Status::Failed, f.error.clone()),
        (false, None) => (Status::Ready, None),
    };
    catalog_repo::set_status(conn, id, status, reason.as_deref(), now)
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
