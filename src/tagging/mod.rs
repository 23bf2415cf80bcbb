//! AI tags: an ImageNet classifier (EfficientNet-Lite0 with int8 weights, embedded in the
//! binary) run in-process with tract; its 1000 classes are mapped to words people search for.
//!
//! - `model`: the ONNX model, its input tensor and inference.
//! - `tag_map`: `assets/model/tags.tsv`, and how class probabilities become tags.
//! - `tagger`: `Tagger`, which loads the model on first use and drops it when idle.
//!
//! The tag job itself (which photo, where its tags go) is in `photos::processing`, beside the
//! thumbnail job; this module knows files and pixels, not photos.

pub mod model;
pub mod tag_map;
pub mod tagger;

pub use tagger::Tagger;

use crate::media::MediaError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaggingError {
    /// The image could not be read or decoded.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The embedded model failed to load or run (a bug, not the photo's fault).
    #[error("the tagging model failed: {0}")]
    Model(String),
}

/// A tag suggested by the model: a word from the tag map and its confidence in (0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct AiTag {
    pub name: String,
    pub confidence: f32,
}
