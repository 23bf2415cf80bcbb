//! Avatars: a square JPEG, centre-cropped and resized, from any supported image.

use std::io::Cursor;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use super::sniff::sniff_image;
use super::MediaError;

/// Side of the stored avatar in pixels.
pub const AVATAR_SIDE: u32 = 256;
/// Largest source accepted, in pixels per side and in decoder memory.
const MAX_SIDE: u32 = 8192;
const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;

/// Decodes `bytes` within fixed limits and returns a `AVATAR_SIDE`² JPEG.
pub fn render_avatar(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    let kind = sniff_image(bytes).ok_or(MediaError::Unsupported)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let limits_error = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            max_pixels: u64::from(MAX_SIDE) * u64::from(MAX_SIDE),
        },
        image::ImageError::Unsupported(_) => MediaError::Unsupported,
        _ => MediaError::Corrupt,
    };
    // Phones store pictures sideways with an EXIF orientation; the avatar is turned upright.
    let mut decoder = reader.into_decoder().map_err(limits_error)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(limits_error)?;
    image.apply_orientation(orientation);
    let side = image.width().min(image.height());
    if side == 0 {
        return Err(MediaError::Corrupt);
    }
    let x = (image.width() - side) / 2;
    let y = (image.height() - side) / 2;
    let square = image.crop_imm(x, y, side, side);
    let target = AVATAR_SIDE.min(side);
    let small = square
        .resize_exact(target, target, FilterType::Triangle)
        .to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&small)
        .map_err(|_| MediaError::Corrupt)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn avatar_is_a_square_jpeg() {
        let jpeg = render_avatar(&png(600, 300)).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (AVATAR_SIDE, AVATAR_SIDE)
        );
    }

    #[test]
    fn avatar_of_a_sideways_phone_photo_is_upright() {
        // Stored 600×400 with orientation 6 and a red block at the stored top-left: upright it
        // is 400×600 with the block at the top right, which the centre square keeps.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/exif_orientation6_gps.jpg"
        );
        let jpeg = render_avatar(&std::fs::read(path).unwrap()).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        let red = |x, y| {
            let p = decoded.get_pixel(x, y);
            p[0] > 200 && p[1] < 60 && p[2] < 60
        };
        assert!(red(AVATAR_SIDE - 20, 10), "block at the top right");
        assert!(!red(10, 10), "nothing red at the top left");
    }

    #[test]
    fn small_images_are_not_upscaled() {
        let jpeg = render_avatar(&png(40, 90)).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 40));
    }

    #[test]
    fn non_images_and_broken_images_are_refused() {
        assert_eq!(
            render_avatar(b"<html>hello</html>"),
            Err(MediaError::Unsupported)
        );
        let mut truncated = png(64, 64);
        truncated.truncate(40);
        assert_eq!(render_avatar(&truncated), Err(MediaError::Corrupt));
    }
}
