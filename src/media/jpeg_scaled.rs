//! JPEG decoding at a reduced DCT scale (1/2, 1/4 or 1/8), like libvips' shrink-on-load.
//!
//! Decoding a 12 MP JPEG at 1/2 scale skips three quarters of the inverse DCT work and keeps
//! a 2000×1500 buffer instead of a 4000×3000 one, which is what makes thumbnails cheap.
//! JPEGs this decoder cannot handle (CMYK, 12/16-bit, arithmetic coding) are left to the general
//! `image` path by returning `Ok(None)`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use jpeg_decoder::{CodingProcess, Decoder, ImageInfo, PixelFormat};

use super::bitmap::Bitmap;
use super::thumbnail::{io_failure, too_many_pixels, MAX_DECODE_BYTES, MAX_PIXELS};
use super::MediaError;

/// Read buffer for the compressed stream.
const READ_BUFFER: usize = 64 * 1024;

/// Width and height stored in the frame header, or `Ok(None)` if this decoder does not support
/// the file (the caller then asks `image`).
pub(super) fn jpeg_dimensions(path: &Path) -> Result<Option<(u32, u32)>, MediaError> {
    Ok(read_header(path)?.map(|(_, info)| (u32::from(info.width), u32::from(info.height))))
}

/// A JPEG decoded at a reduced scale.
pub(super) struct ScaledJpeg {
    /// Width and height stored in the file.
    pub stored: (u32, u32),
    pub bitmap: Bitmap,
}

/// How small a scaled decode may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MinSide {
    /// The longest side stays at least this long (thumbnails: fit within a box).
    Longest(u32),
    /// The shortest side stays at least this long (classifier input: a centre crop).
    Shortest(u32),
}

/// Decodes at the smallest DCT scale that keeps `min` (capped at the full size), or `Ok(None)`
/// if this decoder does not support the file.
pub(super) fn decode_jpeg_scaled(
    path: &Path,
    min: MinSide,
) -> Result<Option<ScaledJpeg>, MediaError> {
    let Some((mut decoder, info)) = read_header(path)? else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let channels: usize = match info.pixel_format {
        PixelFormat::L8 => 1,
        PixelFormat::RGB24 => 3,
        PixelFormat::L16 | PixelFormat::CMYK32 => return Ok(None),
    };
    // A progressive JPEG keeps every DCT coefficient of the full-size image (2 bytes per sample)
    // until its last scan, whatever the output scale.
    if info.coding_process == CodingProcess::DctProgressive
        && u64::from(width) * u64::from(height) * 2 * channels as u64 > MAX_DECODE_BYTES
    {
        return Err(too_many_pixels());
    }

    // jpeg-decoder picks the smallest scale at which the width OR the height reaches the request.
    let (request_width, request_height) = match min {
        MinSide::Longest(side) => {
            let side = side.clamp(1, width.max(height));
            (side, side)
        }
        MinSide::Shortest(side) if width <= height => (side.clamp(1, width), u32::MAX),
        MinSide::Shortest(side) => (u32::MAX, side.clamp(1, height)),
    };
    let clamp = |side: u32| u16::try_from(side).unwrap_or(u16::MAX);
    let (out_width, out_height) = decoder
        .scale(clamp(request_width), clamp(request_height))
        .map_err(decode_failure)?;
    let out_bytes = usize::from(out_width) * usize::from(out_height) * channels;
    decoder.set_max_decoding_buffer_size(out_bytes);

    // jpeg-decoder is pure Rust and checks its input, but this is hostile data decoded on worker
    // threads: a bug in it must cost this image, not the process.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || decoder.decode()))
        .map_err(|_| MediaError::Corrupt)?;
    let pixels = match decoded {
        Ok(pixels) if pixels.len() == out_bytes => pixels,
        Ok(_) => return Err(MediaError::Corrupt),
        Err(jpeg_decoder::Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(decode_failure(e)),
    };
    let bitmap = Bitmap {
        width: u32::from(out_width),
        height: u32::from(out_height),
        channels,
        pixels,
    };
    Ok(Some(ScaledJpeg {
        stored: (width, height),
        bitmap,
    }))
}

/// A decoder positioned after the frame header, and that header.
type Header = (Decoder<BufReader<File>>, ImageInfo);

/// Reads up to the frame header; `None` if this decoder does not support the file.
/// Refuses empty images and images above `MAX_PIXELS`.
fn read_header(path: &Path) -> Result<Option<Header>, MediaError> {
    let file = File::open(path).map_err(io_failure)?;
    let mut decoder = Decoder::new(BufReader::with_capacity(READ_BUFFER, file));
    match decoder.read_info() {
        Ok(()) => {}
        Err(jpeg_decoder::Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(decode_failure(e)),
    }
    let info = decoder.info().ok_or(MediaError::Corrupt)?;
    check_pixels(u32::from(info.width), u32::from(info.height))?;
    Ok(Some((decoder, info)))
}

fn check_pixels(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_many_pixels());
    }
    Ok(())
}

/// Truncated data, bad markers and bad entropy data are all "corrupt"; so is a read error in
/// the middle of the file, as `MediaError` has no I/O variant.
fn decode_failure(_: jpeg_decoder::Error) -> MediaError {
    MediaError::Corrupt
}
