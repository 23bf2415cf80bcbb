//! Where an original lives and how it is reached: the only module that knows the on-disk layout
//! of API.md §12. A photo's row records its `Location` (managed under `originals/`, in `trash/`,
//! or in an import root, where Photox never writes); derived files are keyed by the photo's
//! storage key (its uuid) wherever the original is.

pub mod files;
pub mod repo;
pub mod verify;
pub mod work;

use crate::db::ids::{ImportRootId, UserId};
use std::path::{Component, Path, PathBuf};

use chrono::{Datelike, TimeZone, Utc};

pub use files::{move_durably, remove_if_present, sync_dir};

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

/// Where an original is, as its row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Photox's copy under `originals/`; the key is relative to it (`7/2026/01/21/<uuid>.jpg`).
    Managed(String),
    /// Photox's copy moved to `trash/`; the key is relative to it (`7/<uuid>.jpg`).
    Trash(String),
    /// The household's own file in an import root, referenced in place: never written, moved
    /// or deleted by Photox. `path` is relative to the root.
    Imported {
        root_id: ImportRootId,
        root: PathBuf,
        path: String,
    },
}

impl Location {
    /// The `file_kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Location::Managed(_) => "managed",
            Location::Trash(_) => "trash",
            Location::Imported { .. } => "import",
        }
    }

    /// The `file_path` column.
    pub fn key(&self) -> &str {
        match self {
            Location::Managed(k) | Location::Trash(k) => k,
            Location::Imported { path, .. } => path,
        }
    }

    /// The `import_root_id` column.
    pub fn root_id(&self) -> Option<ImportRootId> {
        match self {
            Location::Imported { root_id, .. } => Some(*root_id),
            _ => None,
        }
    }

    /// From the columns `file_kind`, `file_path`, `import_root_id` and the root's path.
    pub fn from_columns(
        kind: &str,
        key: String,
        root_id: Option<ImportRootId>,
        root: Option<String>,
    ) -> Option<Self> {
        match (kind, root_id, root) {
            ("managed", _, _) => Some(Location::Managed(key)),
            ("trash", _, _) => Some(Location::Trash(key)),
            ("import", Some(root_id), Some(root)) => Some(Location::Imported {
                root_id,
                root: PathBuf::from(root),
                path: key,
            }),
            _ => None,
        }
    }

    /// Whether Photox owns the file (may move and delete it).
    pub fn is_ours(&self) -> bool {
        !matches!(self, Location::Imported { .. })
    }
}

/// What names one photo's files: its owner, its storage key (uuid) and extension, and its
/// upload time (the date directories of a managed original).
#[derive(Debug, Clone, Copy)]
pub struct FileKey<'a> {
    pub owner_id: UserId,
    pub uuid: &'a str,
    pub ext: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Storage {
    data_dir: PathBuf,
}

impl Storage {
    pub fn new(data_dir: PathBuf) -> Self {
        Self { data_dir }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where a new upload of `key` goes: `<owner>/<YYYY>/<MM>/<DD>/<uuid>.<ext>` under
    /// `originals/`, by upload date (UTC).
    pub fn managed(key: FileKey<'_>) -> Location {
        let date = Utc
            .timestamp_opt(key.created_at, 0)
            .single()
            .unwrap_or_default();
        Location::Managed(format!(
            "{}/{:04}/{:02}/{:02}/{}.{}",
            key.owner_id,
            date.year(),
            date.month(),
            date.day(),
            key.uuid,
            key.ext
        ))
    }

    /// `<owner>/<uuid>.<ext>` under `trash/`.
    pub fn trashed(key: FileKey<'_>) -> Location {
        Location::Trash(format!("{}/{}.{}", key.owner_id, key.uuid, key.ext))
    }

    /// The file a location names; `None` for a key that would leave its directory.
    pub fn path_of(&self, location: &Location) -> Option<PathBuf> {
        let (base, key) = match location {
            Location::Managed(k) => (self.data_dir.join("originals"), k),
            Location::Trash(k) => (self.data_dir.join("trash"), k),
            Location::Imported { root, path, .. } => (root.clone(), path),
        };
        is_plain_relative(key).then(|| base.join(key))
    }

    /// Where the original is now: the recorded place, or, for Photox's own copy, the other of
    /// `originals/` and `trash/` (a crash between moving the file and committing the row).
    pub fn locate(&self, location: &Location, key: FileKey<'_>) -> Option<PathBuf> {
        let recorded = self.path_of(location);
        if recorded.as_ref().is_some_and(|p| p.is_file()) {
            return recorded;
        }
        let other = match location {
            Location::Managed(_) => Self::trashed(key),
            Location::Trash(_) => Self::managed(key),
            Location::Imported { .. } => return None,
        };
        self.path_of(&other).filter(|p| p.is_file())
    }

    /// `thumbnails/<owner>/<uuid>_<thumb|preview>.jpg`.
    pub fn rendition_path(&self, key: FileKey<'_>, rendition: Rendition) -> PathBuf {
        self.data_dir
            .join("thumbnails")
            .join(key.owner_id.to_string())
            .join(format!("{}_{}.jpg", key.uuid, rendition.suffix()))
    }

    /// Free bytes on the data dir's file system.
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        files::free_bytes(&self.data_dir)
    }

    /// Removes the derived files of a photo (missing ones are fine).
    pub fn remove_renditions(&self, key: FileKey<'_>) {
        for r in [Rendition::Thumbnail, Rendition::Preview] {
            remove_if_present(&self.rendition_path(key, r));
        }
    }

    /// Moves Photox's copy of an original into `trash/` and returns its new location. An
    /// imported original stays where it is: trash only hides it.
    pub fn move_to_trash(
        &self,
        location: &Location,
        key: FileKey<'_>,
    ) -> std::io::Result<Location> {
        if !location.is_ours() {
            return Ok(location.clone());
        }
        self.move_within(location, Self::trashed(key), key)
    }

    /// Moves Photox's copy of an original back from `trash/` to `originals/`.
    pub fn restore_from_trash(
        &self,
        location: &Location,
        key: FileKey<'_>,
    ) -> std::io::Result<Location> {
        if !location.is_ours() {
            return Ok(location.clone());
        }
        self.move_within(location, Self::managed(key), key)
    }

    fn move_within(
        &self,
        from: &Location,
        to: Location,
        key: FileKey<'_>,
    ) -> std::io::Result<Location> {
        let target = self.path_of(&to).ok_or_else(invalid_key)?;
        if let Some(found) = self.locate(from, key) {
            if found != target {
                move_durably(&found, &target)?;
            }
        }
        Ok(to)
    }

    /// Deletes Photox's copy of an original (from either place); never a household's file.
    pub fn remove_original(&self, location: &Location, key: FileKey<'_>) {
        if !location.is_ours() {
            return;
        }
        for place in [Self::managed(key), Self::trashed(key), location.clone()] {
            if let Some(path) = self.path_of(&place) {
                remove_if_present(&path);
            }
        }
    }
}

fn invalid_key() -> std::io::Error {
    std::io::Error::other("a storage key leaves its directory")
}

/// A relative path of plain names only: no root, no `..`, not empty.
pub fn is_plain_relative(key: &str) -> bool {
    let path = Path::new(key);
    !key.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(created_at: i64) -> FileKey<'static> {
        FileKey {
            owner_id: UserId(7),
            uuid: "abc",
            ext: "jpg",
            created_at,
        }
    }

    #[test]
    fn layout_follows_the_contract() {
        let s = Storage::new(PathBuf::from("/d"));
        // 2026-01-21T07:42:41Z
        let k = key(1_768_981_361);
        let managed = Storage::managed(k);
        assert_eq!(managed, Location::Managed("7/2026/01/21/abc.jpg".into()));
        assert_eq!(
            s.path_of(&managed),
            Some(PathBuf::from("/d/originals/7/2026/01/21/abc.jpg"))
        );
        assert_eq!(
            s.path_of(&Storage::trashed(k)),
            Some(PathBuf::from("/d/trash/7/abc.jpg"))
        );
        assert_eq!(
            s.rendition_path(k, Rendition::Preview),
            PathBuf::from("/d/thumbnails/7/abc_preview.jpg")
        );
        let imported = Location::Imported {
            root_id: ImportRootId(1),
            root: PathBuf::from("/srv/photos"),
            path: "2019/x.jpg".into(),
        };
        assert_eq!(
            s.path_of(&imported),
            Some(PathBuf::from("/srv/photos/2019/x.jpg"))
        );
    }

    #[test]
    fn keys_cannot_leave_their_directory() {
        let s = Storage::new(PathBuf::from("/d"));
        for bad in ["../x.jpg", "/etc/passwd", "a/../../b", "", "./a"] {
            assert_eq!(s.path_of(&Location::Managed(bad.into())), None, "{bad}");
        }
    }

    #[test]
    fn locate_finds_a_file_left_in_the_other_place_and_trash_moves_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::new(dir.path().to_path_buf());
        let k = key(0);
        let managed = Storage::managed(k);
        assert_eq!(s.locate(&managed, k), None);
        let trash_path = s.path_of(&Storage::trashed(k)).unwrap();
        std::fs::create_dir_all(trash_path.parent().unwrap()).unwrap();
        std::fs::write(&trash_path, b"x").unwrap();
        assert_eq!(s.locate(&managed, k), Some(trash_path.clone()));
        let restored = s.restore_from_trash(&Storage::trashed(k), k).unwrap();
        assert_eq!(restored, managed);
        assert!(s.path_of(&managed).unwrap().is_file());
        assert!(!trash_path.exists());
        let trashed = s.move_to_trash(&managed, k).unwrap();
        assert_eq!(s.locate(&trashed, k), Some(trash_path));
    }

    #[test]
    fn imported_files_are_never_moved_or_removed() {
        let root = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("x.jpg"), b"x").unwrap();
        let s = Storage::new(data.path().to_path_buf());
        let imported = Location::Imported {
            root_id: ImportRootId(3),
            root: root.path().to_path_buf(),
            path: "x.jpg".into(),
        };
        let k = key(0);
        assert_eq!(s.move_to_trash(&imported, k).unwrap(), imported);
        assert_eq!(s.restore_from_trash(&imported, k).unwrap(), imported);
        s.remove_original(&imported, k);
        assert!(root.path().join("x.jpg").is_file());
    }
}
