//! Work directories: each process that writes new originals (the daemon, `photox import`) gets
//! its own directory under `tmp/`, holding an exclusive lock on its `.lock` file for as long as
//! it lives. Files in flight and intent files live there. Whatever another process finds under
//! `tmp/` with its lock free was left by a process that died: it can be recovered and removed
//! without touching the work of a process that still runs beside it.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

const LOCK_FILE: &str = ".lock";
const WORK_PREFIX: &str = "work-";

/// This process's directory under `tmp/`; removed when dropped.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    _lock: File,
}

impl WorkDir {
    /// Makes `tmp/work-<random>/` and locks it. The directory is made and locked under another
    /// name first, so no other process ever sees it unlocked.
    pub fn create(data_dir: &Path) -> std::io::Result<WorkDir> {
        let name = uuid::Uuid::new_v4().simple().to_string();
        let tmp = data_dir.join("tmp");
        let making = tmp.join(format!(".making-{name}"));
        std::fs::create_dir_all(&making)?;
        let lock = File::create(making.join(LOCK_FILE))?;
        lock.try_lock().map_err(|e| match e {
            TryLockError::Error(e) => e,
            TryLockError::WouldBlock => std::io::Error::other("a new work dir is locked"),
        })?;
        let path = tmp.join(format!("{WORK_PREFIX}{name}"));
        std::fs::rename(&making, &path)?;
        Ok(WorkDir { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A work dir whose process is gone; its lock is held by the caller until this is dropped.
pub struct Abandoned {
    pub path: PathBuf,
    _lock: File,
}

impl Abandoned {
    /// Removes the directory and everything left in it.
    pub fn remove(self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            log::warn!("could not remove an abandoned work dir: {e}");
        }
    }
}

/// Work dirs under `tmp/` whose lock is free: their process died.
pub fn abandoned(data_dir: &Path) -> std::io::Result<Vec<Abandoned>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("tmp"))? {
        let entry = entry?;
        let path = entry.path();
        let is_work = entry.file_name().to_string_lossy().starts_with(WORK_PREFIX);
        if !is_work || !path.is_dir() {
            continue;
        }
        let Ok(lock) = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE))
        else {
            continue;
        };
        match lock.try_lock() {
            Ok(()) => out.push(Abandoned { path, _lock: lock }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => log::warn!("could not check a work dir's lock: {e}"),
        }
    }
    Ok(out)
}

/// Whether `path` (a directory under `tmp/`) belongs to a process that still runs.
pub fn is_in_use(path: &Path) -> bool {
    match File::open(path.join(LOCK_FILE)) {
        Ok(lock) => matches!(lock.try_lock(), Err(TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_work_dir_is_not_abandoned_and_a_dead_one_is() {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("tmp")).unwrap();
        let live = WorkDir::create(data.path()).unwrap();
        assert!(is_in_use(live.path()));
        assert!(abandoned(data.path()).unwrap().is_empty());
        // A process that died leaves its directory without a lock holder.
        let dead = data.path().join("tmp/work-dead");
        std::fs::create_dir_all(data.path().join("tmp/.making-half")).unwrap();
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join(LOCK_FILE), b"").unwrap();
        std::fs::write(dead.join("x.intent"), b"originals/x").unwrap();
        let found = abandoned(data.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, dead);
        let path = live.path().to_path_buf();
        drop(live);
        assert!(!path.exists(), "a work dir goes with its process");
    }
}
