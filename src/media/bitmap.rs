//! 8-bit pixel buffers between decoding and encoding: flattening to grey or RGB on white,
//! resizing (fast_image_resize, Lanczos3) and turning upright by EXIF orientation.

use std::borrow::Cow;

use fast_image_resize as fr;
use image::DynamicImage;

use super::MediaError;

/// 8-bit pixels, one (grey) or three (RGB) channels, rows packed.
#[derive(Clone)]
pub(super) struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// To 8-bit grey or RGB, compositing any alpha on white. 8-bit images are converted in place.
pub(super) fn flatten(image: DynamicImage) -> Bitmap {
    let (width, height) = (image.width(), image.height());
    let color = image.color();
    let (channels, pixels) = match image {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (1, composite_on_white(b.into_raw(), 1)),
        DynamicImage::ImageRgba8(b) => (3, composite_on_white(b.into_raw(), 3)),
        other => match (color.has_color(), color.has_alpha()) {
            (true, true) => (3, composite_on_white(other.into_rgba8().into_raw(), 3)),
            (true, false) => (3, other.into_rgb8().into_raw()),
            (false, true) => (
                1,
                composite_on_white(other.into_luma_alpha8().into_raw(), 1),
            ),
            (false, false) => (1, other.into_luma8().into_raw()),
        },
    };
    Bitmap {
        width,
        height,
        channels,
        pixels,
    }
}

/// Composites pixels of `channels` colour samples plus one alpha sample on white, packing the
/// result into the front of the same buffer.
fn composite_on_white(mut pixels: Vec<u8>, channels: usize) -> Vec<u8> {
    let stride = channels + 1;
    let count = pixels.len() / stride;
    for i in 0..count {
        let alpha = u32::from(pixels[i * stride + channels]);
        for c in 0..channels {
            // Pixel i is read at i*stride+c before anything is written there: writes land at
            // i*channels+c, never past the sample being read.
            let value = u32::from(pixels[i * stride + c]);
            pixels[i * channels + c] = ((value * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        }
    }
    pixels.truncate(count * channels);
    pixels.shrink_to_fit();
    pixels
}

/// Dimensions with the longest side at most `side`, keeping the aspect ratio; never larger than
/// the source.
pub(super) fn fit_within(width: u32, height: u32, side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= side {
        return (width, height);
    }
    let scale = |short: u32| {
        let scaled =
            (u64::from(short) * u64::from(side) + u64::from(longest) / 2) / u64::from(longest);
        (scaled as u32).max(1)
    };
    if width >= height {
        (side, scale(height))
    } else {
        (scale(width), side)
    }
}

/// A region of a source image in pixels; fractional edges are sampled, not rounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Region {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

pub(super) fn resize(
    resizer: &mut fr::Resizer,
    source: &Bitmap,
    width: u32,
    height: u32,
) -> Result<Bitmap, MediaError> {
    let whole = Region {
        left: 0.0,
        top: 0.0,
        width: f64::from(source.width),
        height: f64::from(source.height),
    };
    resize_region(resizer, source, whole, width, height)
}

/// Resizes `region` of `source` to `width`×`height` (Lanczos3); pixels around the region still
/// feed the filter at its edges, as if the whole image were resized and then cropped.
pub(super) fn resize_region(
    resizer: &mut fr::Resizer,
    source: &Bitmap,
    region: Region,
    width: u32,
    height: u32,
) -> Result<Bitmap, MediaError> {
    let pixel_type = if source.channels == 1 {
        fr::PixelType::U8
    } else {
        fr::PixelType::U8x3
    };
    let view = fr::images::ImageRef::new(source.width, source.height, &source.pixels, pixel_type)
        .map_err(|_| MediaError::Corrupt)?;
    let mut target = fr::images::Image::new(width, height, pixel_type);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .crop(region.left, region.top, region.width, region.height);
    resizer
        .resize(&view, &mut target, &options)
        .map_err(|_| MediaError::Corrupt)?;
    Ok(Bitmap {
        width,
        height,
        channels: source.channels,
        pixels: target.into_vec(),
    })
}

/// Turns `source` upright according to an EXIF orientation (1..=8; anything else is 1).
pub(super) fn orient(source: &Bitmap, orientation: Option<u16>) -> Cow<'_, Bitmap> {
    let Some(orientation) = orientation.filter(|o| (2..=8).contains(o)) else {
        return Cow::Borrowed(source);
    };
    let (w, h, n) = (
        source.width as usize,
        source.height as usize,
        source.channels,
    );
    let transposed = orientation >= 5;
    let out_width = if transposed { h } else { w };
    let mut pixels = vec![0u8; source.pixels.len()];
    for (y, row) in source.pixels.chunks_exact(w * n).enumerate() {
        for (x, pixel) in row.chunks_exact(n).enumerate() {
            // Where the stored pixel (x, y) lands in the upright image.
            let (dx, dy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (h - 1 - y, x),
                7 => (h - 1 - y, w - 1 - x),
                _ => (y, w - 1 - x),
            };
            let at = (dy * out_width + dx) * n;
            pixels[at..at + n].copy_from_slice(pixel);
        }
    }
    let (width, height) = if transposed {
        (source.height, source.width)
    } else {
        (source.width, source.height)
    };
    Cow::Owned(Bitmap {
        width,
        height,
        channels: n,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_composited_on_white_in_place() {
        let rgba = vec![10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128];
        assert_eq!(
            composite_on_white(rgba, 3),
            [10, 20, 30, 255, 255, 255, 127, 127, 127]
        );
        assert_eq!(composite_on_white(vec![0, 255, 0, 0], 1), [0, 255]);
    }

    #[test]
    fn orientations_match_the_exif_definitions() {
        // A 3×2 image with distinct pixels, against image's own implementation of the EXIF table.
        let source =
            image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8 * 40, y as u8 * 90, 7]));
        let bitmap = Bitmap {
            width: 3,
            height: 2,
            channels: 3,
            pixels: source.as_raw().clone(),
        };
        for orientation in 1..=8u16 {
            let mut expected = DynamicImage::ImageRgb8(source.clone());
            expected.apply_orientation(
                image::metadata::Orientation::from_exif(orientation as u8).unwrap(),
            );
            let expected = expected.to_rgb8();
            let got = orient(&bitmap, Some(orientation));
            assert_eq!(
                (got.width, got.height),
                expected.dimensions(),
                "{orientation}"
            );
            assert_eq!(&got.pixels, expected.as_raw(), "{orientation}");
        }
        assert_eq!(orient(&bitmap, Some(9)).pixels, bitmap.pixels);
        assert_eq!(orient(&bitmap, None).pixels, bitmap.pixels);
    }

    #[test]
    fn longest_side_is_fitted() {
        assert_eq!(fit_within(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_within(3000, 4000, 320), (240, 320));
        assert_eq!(fit_within(600, 400, 320), (320, 213));
        assert_eq!(fit_within(200, 100, 1600), (200, 100));
        assert_eq!(fit_within(10000, 1, 320), (320, 1));
    }
}
