//! Pure image work: bytes in, values out. No database, no async.

pub mod avatar;
mod bitmap;
pub mod centre_crop;
pub mod exif;
mod jpeg_scaled;
pub mod sniff;
pub mod thumbnail;

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
