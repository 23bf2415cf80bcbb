//! The input of an image classifier: the centre square of an upright photo, resized.
//!
//! Geometry of the usual ImageNet preprocessing: turn the photo upright, scale its short side to
//! `short_side`, cut out the central `side`×`side` square. Here that is one resize of the
//! matching region of the decoded image (the filter still reads the pixels around it), and JPEGs
//! are decoded at the smallest DCT scale that keeps the short side at least `short_side`: a 12 MP
//! photo decodes at 1/8 scale (500×375). Decoding has the bounds of thumbnailing.

use std::path::Path;

use fast_image_resize as fr;

use super::bitmap::{orient, resize_region, Bitmap, Region};
use super::jpeg_scaled::MinSide;
use super::sniff::ImageKind;
use super::thumbnail::decode;
use super::MediaError;

/// 8-bit RGB pixels of a square image, rows packed (`side * side * 3` bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbSquare {
    pub side: u32,
    pub pixels: Vec<u8>,
}

/// Decodes `path`, applies the EXIF `orientation` (1..=8; `None` = 1) and returns its centre
/// square as `side`×`side` RGB, as if the short side had been scaled to `short_side` first.
/// Grey images are expanded to RGB; alpha is composited on white.
pub fn centre_crop(
    path: &Path,
    kind: ImageKind,
    orientation: Option<u16>,
    short_side: u32,
    side: u32,
) -> Result<RgbSquare, MediaError> {
    let side = side.max(1);
    let (_, decoded) = decode(path, kind, MinSide::Shortest(short_side.max(side)))?;
    let upright = orient(&decoded, orientation);
    let region = centre_region(upright.width, upright.height, short_side.max(side), side);
    let mut resizer = fr::Resizer::new();
    let square = resize_region(&mut resizer, &upright, region, side, side)?;
    Ok(RgbSquare {
        side,
        pixels: into_rgb(square),
    })
}

/// The region of a `width`×`height` image that becomes the `side` square once the short side is
/// scaled to `short_side` and the centre is cut out.
fn centre_region(width: u32, height: u32, short_side: u32, side: u32) -> Region {
    let short = f64::from(width.min(height));
    let crop = short * f64::from(side) / f64::from(short_side);
    Region {
        left: (f64::from(width) - crop) / 2.0,
        top: (f64::from(height) - crop) / 2.0,
        width: crop,
        height: crop,
    }
}

fn into_rgb(bitmap: Bitmap) -> Vec<u8> {
    match bitmap.channels {
        1 => bitmap.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => bitmap.pixels,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::media::jpeg_scaled::decode_jpeg_scaled;

    /// A `width`×`height` JPEG: red left half, blue right half, a green band along the top 5 %.
    fn halves_jpeg(dir: &Path, width: u16, height: u16) -> PathBuf {
        let (w, h) = (usize::from(width), usize::from(height));
        let mut pixels = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let rgb = if y < h / 20 {
                    [0, 255, 0]
                } else if x < w / 2 {
                    [255, 0, 0]
                } else {
                    [0, 0, 255]
                };
                pixels.extend_from_slice(&rgb);
            }
        }
        let path = dir.join("halves.jpg");
        jpeg_encoder::Encoder::new_file(&path, 90)
            .unwrap()
            .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        path
    }

    fn pixel(square: &RgbSquare, x: u32, y: u32) -> [u8; 3] {
        let at = ((y * square.side + x) * 3) as usize;
        [
            square.pixels[at],
            square.pixels[at + 1],
            square.pixels[at + 2],
        ]
    }

    fn is_near(got: [u8; 3], expected: [u8; 3]) -> bool {
        got.iter().zip(expected).all(|(&a, b)| a.abs_diff(b) < 40)
    }

    #[test]
    fn centre_region_matches_resize_then_crop() {
        // 400×300: the short side 300 becomes 256, so the 224 crop is 262.5 source pixels.
        let r = centre_region(400, 300, 256, 224);
        assert_eq!(
            (r.left, r.top, r.width, r.height),
            (68.75, 18.75, 262.5, 262.5)
        );
        let r = centre_region(300, 600, 256, 224);
        assert_eq!(
            (r.left, r.top, r.width, r.height),
            (18.75, 168.75, 262.5, 262.5)
        );
        // Small images are scaled up: the same fraction of the short side.
        let r = centre_region(64, 64, 256, 224);
        assert_eq!((r.left, r.width), (4.0, 56.0));
    }

    #[test]
    fn large_jpegs_decode_at_the_smallest_scale_keeping_the_short_side() {
        let dir = tempfile::tempdir().unwrap();
        for (stored, decoded) in [
            ((4000, 3000), (500, 375)),  // 1/8
            ((2000, 1500), (500, 375)),  // 1/4: 1/8 would leave 188 rows
            ((1500, 4000), (375, 1000)), // 1/4, portrait
        ] {
            let path = halves_jpeg(dir.path(), stored.0, stored.1);
            let scaled = decode_jpeg_scaled(&path, MinSide::Shortest(256));
            let bitmap = scaled.unwrap().unwrap().bitmap;
            assert_eq!((bitmap.width, bitmap.height), decoded, "{stored:?}");
        }
    }

    #[test]
    fn the_centre_square_is_cut_upright() {
        let dir = tempfile::tempdir().unwrap();
        let path = halves_jpeg(dir.path(), 1200, 900);
        let square = centre_crop(&path, ImageKind::Jpeg, None, 256, 224).unwrap();
        assert_eq!(square.side, 224);
        assert_eq!(square.pixels.len(), 224 * 224 * 3);
        assert!(is_near(pixel(&square, 20, 112), [255, 0, 0]));
        assert!(is_near(pixel(&square, 200, 112), [0, 0, 255]));
        // The green band lies outside the centre square.
        assert!(!is_near(pixel(&square, 20, 0), [0, 255, 0]));

        // Orientation 3 (turned 180°): blue is left.
        let turned = centre_crop(&path, ImageKind::Jpeg, Some(3), 256, 224).unwrap();
        assert!(is_near(pixel(&turned, 20, 112), [0, 0, 255]));
        assert!(is_near(pixel(&turned, 200, 112), [255, 0, 0]));
        // Orientation 6 (to be turned 90° clockwise): the stored left is at the top.
        let turned = centre_crop(&path, ImageKind::Jpeg, Some(6), 256, 224).unwrap();
        assert!(is_near(pixel(&turned, 112, 20), [255, 0, 0]));
        assert!(is_near(pixel(&turned, 112, 200), [0, 0, 255]));
        // Orientation 8 (90° counter-clockwise): the stored left is at the bottom.
        let turned = centre_crop(&path, ImageKind::Jpeg, Some(8), 256, 224).unwrap();
        assert!(is_near(pixel(&turned, 112, 20), [0, 0, 255]));
        assert!(is_near(pixel(&turned, 112, 200), [255, 0, 0]));
    }

    #[test]
    fn grey_and_tiny_images_become_rgb_squares() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let grey = centre_crop(
            &fixture.join("grayscale.jpg"),
            ImageKind::Jpeg,
            None,
            256,
            224,
        );
        let grey = grey.unwrap();
        assert_eq!(grey.pixels.len(), 224 * 224 * 3);
        assert!(grey.pixels.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
        let png = centre_crop(&fixture.join("rgba16.png"), ImageKind::Png, None, 256, 224);
        assert_eq!(png.unwrap().side, 224);
        let broken = centre_crop(
            &fixture.join("truncated.jpg"),
            ImageKind::Jpeg,
            None,
            256,
            224,
        );
        assert_eq!(broken, Err(MediaError::Corrupt));
    }
}
