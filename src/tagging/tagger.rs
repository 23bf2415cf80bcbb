//! `Tagger`: tags image files with the embedded model. The model (≈ 27 MB of heap once loaded) is
//! loaded on first use and dropped after `tagging.idle_unload` without use, so a NAS that
//! is not receiving photos does not keep it in memory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::model::{preprocess, Model};
use super::tag_map::TagMap;
use super::{AiTag, TaggingError};
use crate::config::TaggingConfig;
use crate::media::sniff::ImageKind;

/// Cheap to clone; all clones share one model.
#[derive(Clone)]
pub struct Tagger {
    inner: Arc<Inner>,
}

struct Inner {
    min_confidence: f32,
    idle_unload: Duration,
    tag_map: TagMap,
    slot: Mutex<Slot>,
    /// Wakes the idle unloader when a model was loaded.
    loaded: Notify,
}

/// The loaded model, if any, and when it was last used.
struct Slot {
    model: Option<Arc<Model>>,
    last_used: Instant,
}

impl Tagger {
    pub fn new(config: &TaggingConfig) -> Tagger {
        Tagger {
            inner: Arc::new(Inner {
                min_confidence: config.min_confidence,
                idle_unload: config.idle_unload.0,
                tag_map: TagMap::embedded(),
                slot: Mutex::new(Slot {
                    model: None,
                    last_used: Instant::now(),
                }),
                loaded: Notify::new(),
            }),
        }
    }

    /// Tags an image file on a blocking thread (decoding and inference take tens of ms).
    pub async fn tag_file(
        &self,
        path: PathBuf,
        kind: ImageKind,
        orientation: Option<u16>,
    ) -> Result<Vec<AiTag>, TaggingError> {
        let tagger = self.clone();
        tokio::task::spawn_blocking(move || tagger.tag_file_blocking(&path, kind, orientation))
            .await
            .map_err(|e| TaggingError::Model(format!("the tagging task failed: {e}")))?
    }

    /// Decodes `path` (EXIF `orientation` applied), runs the model, and returns the tags that
    /// reach `tagging.min_confidence`. Blocks: call it off the async threads.
    pub fn tag_file_blocking(
        &self,
        path: &Path,
        kind: ImageKind,
        orientation: Option<u16>,
    ) -> Result<Vec<AiTag>, TaggingError> {
        let input = preprocess(path, kind, orientation)?;
        let model = self.model()?;
        let probabilities = model.probabilities(input);
        self.slot().last_used = Instant::now();
        Ok(self
            .inner
            .tag_map
            .tags(&probabilities?, self.inner.min_confidence))
    }

    /// The loaded model, loading it first if needed. Loading happens under the lock, so
    /// concurrent first uses load it once.
    pub fn model(&self) -> Result<Arc<Model>, TaggingError> {
        let mut slot = self.slot();
        slot.last_used = Instant::now();
        if let Some(model) = &slot.model {
            return Ok(model.clone());
        }
        let started = Instant::now();
        let model = Arc::new(Model::load()?);
        log::info!(
            "tagging model loaded in {} ms",
            started.elapsed().as_millis()
        );
        slot.model = Some(model.clone());
        slot.last_used = Instant::now();
        self.inner.loaded.notify_one();
        Ok(model)
    }

    pub fn is_loaded(&self) -> bool {
        self.slot().model.is_some()
    }

    /// Drops the model if it has not been used for `idle_unload`. Returns how long until it
    /// could be idle enough, or `None` when no model is loaded.
    pub fn unload_if_idle(&self) -> Option<Duration> {
        let mut slot = self.slot();
        slot.model.as_ref()?;
        let idle = slot.last_used.elapsed();
        if idle < self.inner.idle_unload {
            return Some(self.inner.idle_unload - idle);
        }
        // A job still running keeps its own reference; the memory goes when it ends.
        let model = slot.model.take();
        drop(slot);
        drop(model);
        crate::memory::release_free_memory();
        log::info!(
            "tagging model unloaded after {} idle",
            humantime::format_duration(Duration::from_secs(idle.as_secs()))
        );
        None
    }

    /// Named task: unloads the model once it has been idle for `tagging.idle_unload`, until
    /// `stop` is cancelled.
    pub async fn run_idle_unloader(self, stop: CancellationToken) {
        loop {
            // Dropping the model and trimming the heap take a few ms: not on an async thread.
            let tagger = self.clone();
            let wait = tokio::task::spawn_blocking(move || tagger.unload_if_idle())
                .await
                .unwrap_or(None);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.inner.loaded.notified(), if wait.is_none() => {}
                _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            }
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic while loading leaves no model in the slot; the state stays consistent.
        self.inner.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}
