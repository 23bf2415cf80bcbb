//! The embedded classifier: EfficientNet-Lite0 (ImageNet-1k) with per-channel int8 weights
//! behind `DequantizeLinear`, made by `assets/model/convert.py`. Input: 1×3×224×224 f32, RGB,
//! `(x − 127) / 128`; output: 1×1000 logits in the class order of `assets/model/labels.txt`.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::TaggingError;
use crate::media::centre_crop::{centre_crop, RgbSquare};
use crate::media::sniff::ImageKind;

/// The ONNX file, in the binary so that `cargo run` and the package need no extra file.
pub const MODEL_ONNX: &[u8] = include_bytes!("../../assets/model/efficientnet_lite0_int8.onnx");
/// Side of the square the model sees.
pub const INPUT_SIDE: u32 = 224;
/// The short side is scaled to this before the centre `INPUT_SIDE` square is cut out.
pub const RESIZE_SHORT_SIDE: u32 = 256;
/// Number of classes (ImageNet-1k).
pub const CLASSES: usize = 1000;

/// A loaded, optimised model, ready to run; shareable between threads.
pub struct Model {
    plan: Arc<TypedRunnableModel>,
}

impl Model {
    /// Parses and optimises the embedded model for a fixed 1×3×224×224 input.
    pub fn load() -> Result<Model, TaggingError> {
        let side = INPUT_SIDE as usize;
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &MODEL_ONNX[..])
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, side, side]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_failure)?;
        Ok(Model { plan })
    }

    /// Class probabilities (softmax of the logits) for a preprocessed input.
    pub fn probabilities(&self, input: Tensor) -> Result<Vec<f32>, TaggingError> {
        let logits = self.logits(input)?;
        Ok(softmax(&logits))
    }

    /// The model's raw output for a preprocessed input.
    pub fn logits(&self, input: Tensor) -> Result<Vec<f32>, TaggingError> {
        let outputs = self.plan.run(tvec!(input.into())).map_err(model_failure)?;
        let output = outputs
            .first()
            .ok_or_else(|| TaggingError::Model("no output".into()))?;
        let view = output.to_plain_array_view::<f32>().map_err(model_failure)?;
        let logits: Vec<f32> = view.iter().copied().collect();
        if logits.len() != CLASSES {
            return Err(TaggingError::Model(format!(
                "expected {CLASSES} outputs, got {}",
                logits.len()
            )));
        }
        Ok(logits)
    }
}

/// Decodes an image file (bounded, upright, centre square) into the model's input tensor.
pub fn preprocess(
    path: &Path,
    kind: ImageKind,
    orientation: Option<u16>,
) -> Result<Tensor, TaggingError> {
    let square = centre_crop(path, kind, orientation, RESIZE_SHORT_SIDE, INPUT_SIDE)?;
    Ok(to_input(&square))
}

/// RGB pixels (packed rows) to a 1×3×side×side tensor of `(x − 127) / 128`, channel planes
/// first (NCHW).
pub fn to_input(square: &RgbSquare) -> Tensor {
    let side = square.side as usize;
    let plane = side * side;
    let mut data = vec![0f32; 3 * plane];
    for (i, pixel) in square.pixels.chunks_exact(3).enumerate() {
        for (c, &value) in pixel.iter().enumerate() {
            data[c * plane + i] = (f32::from(value) - 127.0) / 128.0;
        }
    }
    Tensor::from_shape(&[1, 3, side, side], &data).expect("the shape matches the data")
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn model_failure(e: impl std::fmt::Display) -> TaggingError {
    TaggingError::Model(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(tensor: &Tensor) -> Vec<f32> {
        let view = tensor.to_plain_array_view::<f32>().unwrap();
        view.iter().copied().collect()
    }

    #[test]
    fn input_is_normalised_nchw() {
        // 2×2: red, green / blue, white.
        let square = RgbSquare {
            side: 2,
            pixels: vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255],
        };
        let tensor = to_input(&square);
        assert_eq!(tensor.shape(), &[1, 3, 2, 2]);
        let (hi, lo) = (1.0, -127.0 / 128.0);
        assert_eq!(
            values(&tensor),
            [hi, lo, lo, hi, /* green */ lo, hi, lo, hi, /* blue */ lo, lo, hi, hi]
        );
        let grey = RgbSquare {
            side: 1,
            pixels: vec![127, 127, 127],
        };
        assert_eq!(values(&to_input(&grey)), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 3.0, 2.0, 6.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > p[1] && p[1] > p[2] && p[2] > p[0]);
        // Large logits do not overflow.
        let p = softmax(&[1000.0, 0.0]);
        assert!(p[0] > 0.999 && p[1] >= 0.0);
    }
}
