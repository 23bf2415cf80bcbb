//! Walking an import root: every regular file below it, in any depth, with size and
//! modification time (no file contents are read). Symlinks are never followed (a link cannot
//! lead out of the root, and a link loop cannot hang a scan); names that NAS boxes, phones and
//! browsers use for system folders and files in progress are never taken.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Always excluded, whatever the configuration adds (API.md §14). Matched against each name
/// on the way down, so an excluded folder is not entered at all.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".*",
    "@eaDir",
    "#recycle",
    "#snapshot",
    ".Trash-*",
    "*.part",
    "*.tmp",
    "*.crdownload",
    "*.download",
];

/// A bad `exclude` pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exclude pattern `{pattern}` is not a valid glob: {reason}")]
pub struct BadPattern {
    pub pattern: String,
    pub reason: String,
}

/// Names and paths not to import: the defaults and the configured patterns. A pattern with a
/// `/` is matched against the path relative to the root, others against each name.
#[derive(Debug, Clone)]
pub struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    pub fn new(extra: &[String]) -> Result<Self, BadPattern> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        let defaults = DEFAULT_EXCLUDES.iter().map(|p| p.to_string());
        for pattern in defaults.chain(extra.iter().cloned()) {
            let glob = Glob::new(&pattern).map_err(|e| BadPattern {
                pattern: pattern.clone(),
                reason: e.kind().to_string(),
            })?;
            if pattern.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| BadPattern {
                pattern: String::new(),
                reason: e.to_string(),
            })
        };
        Ok(Self {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    /// Whether the entry named `name` at `relative` (to the root) is left out.
    pub fn excludes(&self, name: &str, relative: &str) -> bool {
        self.names.is_match(name) || self.paths.is_match(relative)
    }
}

/// A regular file found below a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// Relative to the root, `/`-separated.
    pub relative: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// Something below a root that could not be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub path: PathBuf,
    pub reason: String,
}

/// Every regular file below `root` that `excludes` does not leave out, sorted by path, and the
/// entries that could not be read or named.
pub fn walk(root: &Path, excludes: &Excludes) -> (Vec<Found>, Vec<Unusable>) {
    let mut found = Vec::new();
    let mut unusable = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            if entry.depth() == 0 {
                return true;
            }
            let name = entry.file_name().to_string_lossy();
            let relative = entry
                .path()
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            !excludes.excludes(&name, &relative)
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().map(Path::to_path_buf).unwrap_or_default();
                unusable.push(Unusable {
                    path,
                    reason: io_reason(e.io_error()),
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(relative) = entry
            .path()
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .map(str::to_string)
        else {
            unusable.push(Unusable {
                path: entry.path().to_path_buf(),
                reason: "the file name is not valid UTF-8".into(),
            });
            continue;
        };
        match entry.metadata() {
            Ok(meta) => found.push(Found {
                path: entry.path().to_path_buf(),
                relative,
                size: meta.len(),
                mtime_ns: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0),
            }),
            Err(e) => unusable.push(Unusable {
                path: entry.path().to_path_buf(),
                reason: io_reason(e.io_error()),
            }),
        }
    }
    (found, unusable)
}

fn io_reason(e: Option<&std::io::Error>) -> String {
    match e.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::PermissionDenied) => "permission denied".into(),
        Some(std::io::ErrorKind::NotFound) => "it vanished while the folder was read".into(),
        Some(kind) => format!("cannot be read: {kind}"),
        None => "a symlink loop".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, rel.as_bytes()).unwrap();
    }

    #[test]
    fn system_folders_and_files_in_progress_are_never_taken() {
        let dir = tempfile::tempdir().unwrap();
        for rel in [
            "a.jpg",
            "2019/summer/b.jpg",
            "@eaDir/a.jpg/SYNOFILE_THUMB_M.jpg",
            "#recycle/old.jpg",
            "#snapshot/x.jpg",
            ".Trash-1000/files/c.jpg",
            ".hidden.jpg",
            "phone/.thumbnails/t.jpg",
            "c.jpg.part",
            "d.tmp",
            "e.jpg.crdownload",
            "f.download",
            "raw/skip.mov",
        ] {
            touch(dir.path(), rel);
        }
        let excludes = Excludes::new(&["*.mov".into()]).unwrap();
        let (found, unusable) = walk(dir.path(), &excludes);
        let names: Vec<&str> = found.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["2019/summer/b.jpg", "a.jpg"]);
        assert!(unusable.is_empty());
        assert_eq!(found[1].size, 5);
    }

    #[test]
    fn symlinks_are_not_followed_and_loops_do_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        touch(outside.path(), "secret.jpg");
        touch(dir.path(), "in/a.jpg");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("in/out")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("in/loop")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.jpg"), dir.path().join("l.jpg"))
            .unwrap();
        let (found, _) = walk(dir.path(), &Excludes::new(&[]).unwrap());
        let names: Vec<&str> = found.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["in/a.jpg"]);
    }

    #[test]
    fn path_patterns_and_bad_patterns() {
        let excludes = Excludes::new(&["private/**".into()]).unwrap();
        assert!(excludes.excludes("x.jpg", "private/x.jpg"));
        assert!(!excludes.excludes("x.jpg", "public/x.jpg"));
        let bad = Excludes::new(&["[".into()]).unwrap_err();
        assert_eq!(bad.pattern, "[");
    }

    #[test]
    fn names_that_are_not_utf8_are_reported() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"bad\xff.jpg");
        std::fs::write(dir.path().join(name), b"x").unwrap();
        let (found, unusable) = walk(dir.path(), &Excludes::new(&[]).unwrap());
        assert!(found.is_empty());
        assert_eq!(unusable.len(), 1);
        assert!(unusable[0].reason.contains("UTF-8"));
    }
}
