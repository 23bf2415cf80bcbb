//! The on-disk layout of API.md §12 and the file operations that keep it crash-safe: a file is
//! written under `tmp/`, fsynced and renamed into place; moves fsync both directories.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{Datelike, TimeZone, Utc};

/// The sizes derived from an original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    Thumbnail,
    Preview,
}

impl Rendition {
    pub fn suffix(self) -> &'static str {
        match self {
            Rendition::Thumbnail => "thumb",
            Rendition::Preview => "preview",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Storage {
    data_dir: PathBuf,
}

/// Identifies one photo's files.
#[derive(Debug, Clone, Copy)]
pub struct FileKey<'a> {
    pub owner_id: i64,
    pub uuid: &'a str,
    pub ext: &'a str,
    /// Upload time (Unix seconds): the date directories of the original.
    pub created_at: i64,
}

impl Storage {
    pub fn new(data_dir: PathBuf) -> Self {
        Self { data_dir }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    /// `originals/<owner>/<YYYY>/<MM>/<DD>/<uuid>.<ext>`, by upload date (UTC).
    pub fn original_path(&self, key: FileKey<'_>) -> PathBuf {
        let date = Utc
            .timestamp_opt(key.created_at, 0)
            .single()
            .unwrap_or_default();
        self.data_dir
            .join("originals")
            .join(key.owner_id.to_string())
            .join(format!("{:04}", date.year()))
            .join(format!("{:02}", date.month()))
            .join(format!("{:02}", date.day()))
            .join(format!("{}.{}", key.uuid, key.ext))
    }

    /// `trash/<owner>/<uuid>.<ext>`.
    pub fn trash_path(&self, key: FileKey<'_>) -> PathBuf {
        self.data_dir
            .join("trash")
            .join(key.owner_id.to_string())
            .join(format!("{}.{}", key.uuid, key.ext))
    }

    /// `thumbnails/<owner>/<uuid>_<thumb|preview>.jpg`.
    pub fn rendition_path(&self, key: FileKey<'_>, rendition: Rendition) -> PathBuf {
        self.data_dir
            .join("thumbnails")
            .join(key.owner_id.to_string())
            .join(format!("{}_{}.jpg", key.uuid, rendition.suffix()))
    }

    /// Where the original is now: under originals/ while live, under trash/ while trashed. If
    /// a crash left it in the other place, that one is returned.
    pub fn locate_original(&self, key: FileKey<'_>, trashed: bool) -> Option<PathBuf> {
        let (expected, other) = if trashed {
            (self.trash_path(key), self.original_path(key))
        } else {
            (self.original_path(key), self.trash_path(key))
        };
        [expected, other].into_iter().find(|p| p.is_file())
    }

    /// Free bytes on the data dir's file system.
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        free_bytes(&self.data_dir)
    }

    /// Removes the derived files of a photo (missing ones are fine).
    pub fn remove_renditions(&self, key: FileKey<'_>) {
        for r in [Rendition::Thumbnail, Rendition::Preview] {
            remove_if_present(&self.rendition_path(key, r));
        }
    }
}

/// Renames `from` to `to` (same file system), creating `to`'s directory, and fsyncs both
/// directories so the move survives a crash.
pub fn move_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    let to_dir = to
        .parent()
        .ok_or_else(|| std::io::Error::other("target has no directory"))?;
    std::fs::create_dir_all(to_dir)?;
    std::fs::rename(from, to)?;
    sync_dir(to_dir)?;
    if let Some(from_dir) = from.parent() {
        sync_dir(from_dir)?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset` to disk now, without
/// waiting. Only a head start for a later fsync, which alone makes the data durable.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on an open descriptor; it only schedules writeback.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

pub fn remove_if_present(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            log::warn!("could not remove a file: {e}");
        }
    }
}

#[cfg(unix)]
fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path =
        std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and stat a valid out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_path: &Path) -> std::io::Result<u64> {
    Ok(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_contract() {
        let s = Storage::new(PathBuf::from("/d"));
        // 2026-01-21T07:42:41Z
        let key = FileKey {
            owner_id: 7,
            uuid: "abc",
            ext: "jpg",
            created_at: 1_768_981_361,
        };
        assert_eq!(
            s.original_path(key),
            PathBuf::from("/d/originals/7/2026/01/21/abc.jpg")
        );
        assert_eq!(s.trash_path(key), PathBuf::from("/d/trash/7/abc.jpg"));
        assert_eq!(
            s.rendition_path(key, Rendition::Preview),
            PathBuf::from("/d/thumbnails/7/abc_preview.jpg")
        );
    }

    #[test]
    fn locate_finds_a_file_left_in_the_other_place() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::new(dir.path().to_path_buf());
        let key = FileKey {
            owner_id: 1,
            uuid: "u",
            ext: "png",
            created_at: 0,
        };
        assert_eq!(s.locate_original(key, false), None);
        let trash = s.trash_path(key);
        std::fs::create_dir_all(trash.parent().unwrap()).unwrap();
        std::fs::write(&trash, b"x").unwrap();
        assert_eq!(s.locate_original(key, false), Some(trash.clone()));
        move_durably(&trash, &s.original_path(key)).unwrap();
        assert_eq!(s.locate_original(key, true), Some(s.original_path(key)));
    }

    #[test]
    fn free_space_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Storage::new(dir.path().to_path_buf()).free_bytes().unwrap() > 0);
    }
}
