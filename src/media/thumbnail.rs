//! Derived JPEGs of an original: the thumbnail and the preview.
//!
//! The original is decoded once, as small as the largest output allows (JPEG: DCT-scaled decode
//! in `jpeg_scaled`; other kinds: `image` within allocation limits), then each output is resized
//! from the previous, larger one, turned upright and written atomically.

use std::cmp::Reverse;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use fast_image_resize as fr;
use image::{ImageError, ImageReader, Limits};

use super::bitmap::{fit_within, flatten, orient, resize, Bitmap};
use super::jpeg_scaled::{decode_jpeg_scaled, jpeg_dimensions, MinSide};
use super::sniff::ImageKind;
use super::MediaError;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Longest side of a preview, in pixels.
pub const PREVIEW_SIDE: u32 = 1600;
/// Largest source image accepted, in pixels (width × height): 120 MP, room for 100 MP
/// medium-format cameras (11648×8736). JPEGs are decoded at a reduced scale, so this costs them
/// little memory; other formats are also bounded by `MAX_DECODE_BYTES`.
pub const MAX_PIXELS: u64 = 120_000_000;
/// Allocation limit of a full decode (`image::Limits::max_alloc`, and the DCT coefficients a
/// progressive JPEG keeps). 512 MiB holds any 8-bit RGBA image up to `MAX_PIXELS`; 16-bit images
/// or progressive JPEGs past about 64–89 MP are refused as too large.
pub(super) const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// Quality of the derived JPEGs (baseline, 4:2:0).
const JPEG_QUALITY: u8 = 82;

/// Width and height from the header only (no full decode).
pub fn image_dimensions(path: &Path, kind: ImageKind) -> Result<(u32, u32), MediaError> {
    if kind == ImageKind::Jpeg {
        if let Some(dimensions) = jpeg_dimensions(path)? {
            return Ok(dimensions);
        }
    }
    let (width, height) = bounded_reader(path, kind)?
        .into_dimensions()
        .map_err(image_failure)?;
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_many_pixels());
    }
    Ok((width, height))
}

/// Decodes `original` once, at the smallest JPEG DCT scale that still gives the largest requested
/// side, applies the EXIF `orientation` (1..=8; `None` = 1), resizes to each requested longest
/// side (never upscaling) and writes each output as a baseline JPEG, atomically (temp file in the
/// same directory, then rename; no fsync, outputs are derived). Returns the original's stored
/// (width, height), before orientation.
///
/// GIF: the first frame. Alpha is composited on white; 16-bit images become 8-bit.
pub fn render(
    original: &Path,
    kind: ImageKind,
    orientation: Option<u16>,
    outputs: &[(u32, &Path)],
) -> Result<(u32, u32), MediaError> {
    let Some(largest) = outputs.iter().map(|&(side, _)| side.max(1)).max() else {
        return image_dimensions(original, kind);
    };
    let ((width, height), mut current) = decode(original, kind, MinSide::Longest(largest))?;
    let mut ordered: Vec<(u32, &Path)> = outputs.to_vec();
    ordered.sort_by_key(|&(side, _)| Reverse(side));
    let mut resizer = fr::Resizer::new();
    for (side, path) in ordered {
        let (w, h) = fit_within(width, height, side.max(1));
        if (w, h) != (current.width, current.height) {
            // Each output is made from the previous, larger one, which then is dropped.
            current = resize(&mut resizer, &current, w, h)?;
        }
        let jpeg = encode_jpeg(&orient(&current, orientation))?;
        write_atomically(path, &jpeg)?;
    }
    Ok((width, height))
}

/// The stored dimensions and a bitmap at least as large as `min` asks (or full size). Only
/// JPEGs are decoded at a reduced scale.
pub(super) fn decode(
    path: &Path,
    kind: ImageKind,
    min: MinSide,
) -> Result<((u32, u32), Bitmap), MediaError> {
    if kind == ImageKind::Jpeg {
        if let Some(scaled) = decode_jpeg_scaled(path, min)? {
            return Ok((scaled.stored, scaled.bitmap));
        }
    }
    // The header check refuses oversized images before any pixel buffer exists.
    let dimensions = image_dimensions(path, kind)?;
    let reader = bounded_reader(path, kind)?;
    let image = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || reader.decode()))
        .map_err(|_| MediaError::Corrupt)?
        .map_err(image_failure)?;
    if (image.width(), image.height()) != dimensions {
        return Err(MediaError::Corrupt);
    }
    Ok((dimensions, flatten(image)))
}

fn bounded_reader(
    path: &Path,
    kind: ImageKind,
) -> Result<ImageReader<BufReader<File>>, MediaError> {
    let file = File::open(path).map_err(io_failure)?;
    let mut reader = ImageReader::with_format(BufReader::new(file), kind.image_format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    Ok(reader)
}

fn encode_jpeg(bitmap: &Bitmap) -> Result<Vec<u8>, MediaError> {
    let width = u16::try_from(bitmap.width).map_err(|_| too_many_pixels())?;
    let height = u16::try_from(bitmap.height).map_err(|_| too_many_pixels())?;
    let color = if bitmap.channels == 1 {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    let mut jpeg = Vec::with_capacity(bitmap.pixels.len() / 8);
    jpeg_encoder::Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode(&bitmap.pixels, width, height, color)
        .map_err(|_| MediaError::Corrupt)?;
    Ok(jpeg)
}

/// Writes a temp file beside `path` and renames it over `path`; a failure leaves no temp file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), MediaError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".render-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_failure)?;
    file.write_all(bytes).map_err(io_failure)?;
    file.persist(path).map_err(|e| io_failure(e.error))?;
    Ok(())
}

pub(super) fn too_many_pixels() -> MediaError {
    MediaError::TooManyPixels {
        max_pixels: MAX_PIXELS,
    }
}

/// A file that cannot be opened, read or written: not the image's fault, so callers may retry.
pub(super) fn io_failure(error: std::io::Error) -> MediaError {
    MediaError::Io(error.kind())
}

fn image_failure(error: ImageError) -> MediaError {
    match error {
        ImageError::Limits(_) => too_many_pixels(),
        ImageError::Unsupported(_) => MediaError::Unsupported,
        _ => MediaError::Corrupt,
    }
}

#[cfg(test)]
mod tests {
    //! Against the files in `tests/fixtures/` (see its README.md).
    use std::path::PathBuf;

    use super::*;
    use crate::media::exif::read_exif;
    use crate::media::jpeg_scaled::{decode_jpeg_scaled, MinSide};
    use crate::media::sniff::sniff_image;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn kind_of(path: &Path) -> Option<ImageKind> {
        let bytes = std::fs::read(path).unwrap();
        sniff_image(&bytes[..bytes.len().min(16)])
    }

    /// Renders a fixture to a preview and a thumbnail; returns the original's size and both
    /// outputs decoded (preview, thumbnail).
    fn render_fixture(
        name: &str,
        orientation: Option<u16>,
    ) -> Result<((u32, u32), image::RgbImage, image::RgbImage), MediaError> {
        let path = fixture(name);
        let kind = kind_of(&path).expect("fixture is a supported image");
        let dir = tempfile::tempdir().unwrap();
        let preview = dir.path().join("preview.jpg");
        let thumbnail = dir.path().join("thumbnail.jpg");
        let size = render(
            &path,
            kind,
            orientation,
            &[(THUMBNAIL_SIDE, &thumbnail), (PREVIEW_SIDE, &preview)],
        )?;
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["preview.jpg", "thumbnail.jpg"],
            "no temp files left"
        );
        let open = |p: &Path| {
            assert_eq!(kind_of(p), Some(ImageKind::Jpeg));
            image::open(p).expect("output decodes").to_rgb8()
        };
        Ok((size, open(&preview), open(&thumbnail)))
    }

    fn dims(img: &image::RgbImage) -> (u32, u32) {
        (img.width(), img.height())
    }

    fn is_near(pixel: &image::Rgb<u8>, expected: [u8; 3]) -> bool {
        pixel
            .0
            .iter()
            .zip(expected)
            .all(|(&a, b)| a.abs_diff(b) < 40)
    }

    #[test]
    fn orientation_6_turns_a_landscape_upright() {
        let path = fixture("exif_orientation6_gps.jpg");
        let orientation = read_exif(&path).unwrap().unwrap().orientation;
        assert_eq!(orientation, Some(6));
        let (size, preview, thumbnail) =
            render_fixture("exif_orientation6_gps.jpg", orientation).unwrap();
        assert_eq!(size, (600, 400), "stored size, before orientation");
        assert_eq!(dims(&preview), (400, 600), "not upscaled, portrait");
        assert_eq!(dims(&thumbnail), (213, 320));
        // The red block at the stored top-left is at the top-right once upright.
        for img in [&preview, &thumbnail] {
            let (w, _) = dims(img);
            assert!(is_near(img.get_pixel(w - 6, 5), [255, 0, 0]));
            assert!(!is_near(img.get_pixel(5, 5), [255, 0, 0]));
        }
    }

    #[test]
    fn small_images_are_never_upscaled() {
        let (size, preview, thumbnail) = render_fixture("plain_no_exif.jpg", None).unwrap();
        assert_eq!(size, (200, 100));
        assert_eq!(dims(&preview), (200, 100));
        assert_eq!(dims(&thumbnail), (200, 100));
    }

    #[test]
    fn every_format_renders() {
        let cases = [
            ("plain.png", (640, 480), (640, 480), (320, 240)),
            ("photo.webp", (500, 300), (500, 300), (320, 192)),
            ("two_frames.gif", (160, 120), (160, 120), (160, 120)),
            ("grayscale.jpg", (120, 80), (120, 80), (120, 80)),
            ("progressive.jpg", (240, 180), (240, 180), (240, 180)),
            ("cmyk.jpg", (64, 48), (64, 48), (64, 48)),
            ("rgba16.png", (40, 30), (40, 30), (40, 30)),
            (
                "broken_exif_offsets.jpg",
                (160, 120),
                (160, 120),
                (160, 120),
            ),
            ("exif_no_offset.jpg", (320, 240), (320, 240), (320, 240)),
        ];
        for (name, size, preview_size, thumbnail_size) in cases {
            let (got, preview, thumbnail) = render_fixture(name, None).unwrap();
            assert_eq!(got, size, "{name}");
            assert_eq!(dims(&preview), preview_size, "{name}");
            assert_eq!(dims(&thumbnail), thumbnail_size, "{name}");
            let kind = kind_of(&fixture(name)).unwrap();
            assert_eq!(image_dimensions(&fixture(name), kind), Ok(size), "{name}");
        }
    }

    #[test]
    fn gif_renders_its_first_frame() {
        let (_, preview, _) = render_fixture("two_frames.gif", None).unwrap();
        assert!(is_near(preview.get_pixel(80, 60), [255, 0, 0]));
    }

    #[test]
    fn transparency_becomes_white() {
        let (_, preview, _) = render_fixture("alpha.png", None).unwrap();
        assert_eq!(dims(&preview), (300, 200));
        assert!(is_near(preview.get_pixel(40, 100), [255, 255, 255]));
        assert!(is_near(preview.get_pixel(260, 100), [0, 0, 255]));
        let (_, preview, _) = render_fixture("rgba16.png", None).unwrap();
        assert!(is_near(preview.get_pixel(2, 15), [255, 255, 255]));
    }

    #[test]
    fn broken_files_are_corrupt() {
        for (name, kind) in [
            ("truncated.jpg", ImageKind::Jpeg),
            ("truncated.png", ImageKind::Png),
            ("not_an_image.jpg", ImageKind::Jpeg),
            ("empty.jpg", ImageKind::Jpeg),
            ("empty.jpg", ImageKind::Png),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out.jpg");
            let result = render(&fixture(name), kind, None, &[(THUMBNAIL_SIDE, &out)]);
            assert_eq!(result, Err(MediaError::Corrupt), "{name}");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{name}");
        }
        assert_eq!(kind_of(&fixture("not_an_image.jpg")), None);
        assert_eq!(
            image_dimensions(&fixture("empty.jpg"), ImageKind::Jpeg),
            Err(MediaError::Corrupt)
        );
        assert_eq!(
            image_dimensions(&fixture("not_an_image.jpg"), ImageKind::Png),
            Err(MediaError::Corrupt)
        );
    }

    #[test]
    fn decompression_bombs_are_refused() {
        let too_many = Err(MediaError::TooManyPixels {
            max_pixels: MAX_PIXELS,
        });
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jpg");
        let bomb = fixture("bomb_40000.png");
        assert_eq!(image_dimensions(&bomb, ImageKind::Png), too_many);
        assert_eq!(
            render(&bomb, ImageKind::Png, None, &[(320, &out)]),
            too_many
        );
        // 81 MP is within the pixel limit, but 16-bit RGBA needs more than the allocation limit.
        let deep = fixture("bomb_16bit_9000.png");
        assert_eq!(image_dimensions(&deep, ImageKind::Png), Ok((9000, 9000)));
        assert_eq!(
            render(&deep, ImageKind::Png, None, &[(320, &out)]),
            too_many
        );
        // A JPEG whose frame header claims 20000×20000 (400 MP).
        let mut jpeg = std::fs::read(fixture("plain_no_exif.jpg")).unwrap();
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
        let huge = dir.path().join("huge.jpg");
        std::fs::write(&huge, &jpeg).unwrap();
        assert_eq!(image_dimensions(&huge, ImageKind::Jpeg), too_many);
        assert_eq!(
            render(&huge, ImageKind::Jpeg, None, &[(320, &out)]),
            too_many
        );
        assert!(!out.exists());
    }

    /// A 2000×1500 photo-like JPEG written with jpeg-encoder.
    fn large_jpeg(dir: &Path) -> PathBuf {
        let (w, h) = (2000usize, 1500usize);
        let mut pixels = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                pixels.extend_from_slice(&[(x / 8) as u8, (y / 6) as u8, ((x ^ y) & 0xFF) as u8]);
            }
        }
        let path = dir.join("large.jpg");
        jpeg_encoder::Encoder::new_file(&path, 85)
            .unwrap()
            .encode(&pixels, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        path
    }

    #[test]
    fn jpeg_decodes_at_the_smallest_sufficient_scale() {
        let dir = tempfile::tempdir().unwrap();
        let path = large_jpeg(dir.path());
        let scaled = |side| {
            let scaled = decode_jpeg_scaled(&path, MinSide::Longest(side))
                .unwrap()
                .unwrap();
            assert_eq!(scaled.stored, (2000, 1500));
            (scaled.bitmap.width, scaled.bitmap.height)
        };
        assert_eq!(scaled(200), (250, 188), "1/8");
        assert_eq!(scaled(320), (500, 375), "1/4");
        assert_eq!(scaled(1000), (1000, 750), "1/2");
        assert_eq!(scaled(1600), (2000, 1500), "full");

        let thumbnail = dir.path().join("t.jpg");
        let preview = dir.path().join("p.jpg");
        let size = render(
            &path,
            ImageKind::Jpeg,
            Some(8),
            &[(PREVIEW_SIDE, &preview), (THUMBNAIL_SIDE, &thumbnail)],
        );
        assert_eq!(size, Ok((2000, 1500)));
        assert_eq!(image::image_dimensions(&preview).unwrap(), (1200, 1600));
        assert_eq!(image::image_dimensions(&thumbnail).unwrap(), (240, 320));
        assert_eq!(image_dimensions(&path, ImageKind::Jpeg), Ok((2000, 1500)));
    }
}
