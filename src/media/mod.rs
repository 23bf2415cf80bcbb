//! Pure image work: bytes in, values out. No database, no async.

pub mod avatar;
mod bitmap;
pub mod centre_crop;
pub mod exif;
mod jpeg_scaled;
pub mod sniff;
pub mod thumbnail;

/// The size of a picture as displayed: EXIF orientations 5 to 8 turn it by a quarter, so the
/// stored width and height swap (every phone shot held upright is stored sideways).
pub fn displayed_size((width, height): (u32, u32), orientation: Option<u16>) -> (u32, u32) {
    match orientation {
        Some(5..=8) => (height, width),
        _ => (width, height),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("file content is not a supported image (JPEG, PNG, WebP or GIF)")]
    Unsupported,
    #[error("file is larger than {limit_mb} MB")]
    TooLarge { limit_mb: u64 },
    #[error("image is larger than {max_pixels} pixels")]
    TooManyPixels { max_pixels: u64 },
    #[error("image data is corrupt or truncated")]
    Corrupt,
    /// Reading or writing an image file failed (a full disk, a vanished file): not the
    /// image's fault, so worth another try.
    #[error("image file I/O failed: {0}")]
    Io(std::io::ErrorKind),
}

#[cfg(test)]
mod tests {
    use super::displayed_size;

    #[test]
    fn quarter_turns_swap_width_and_height() {
        for o in [5, 6, 7, 8] {
            assert_eq!(displayed_size((600, 400), Some(o)), (400, 600), "{o}");
        }
        for o in [None, Some(1), Some(2), Some(3), Some(4), Some(9), Some(0)] {
            assert_eq!(displayed_size((600, 400), o), (600, 400), "{o:?}");
        }
    }
}
