//! Intent files: `<work dir>/<uuid>.intent` names the original an ingest is about to place. It
//! exists from before the rename into `originals/` until after the row is committed, so a crash
//! in between can be told apart from a stored photo: when the work dir is found abandoned (its
//! process died; see `storage::work`), the never-acknowledged original is removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::catalog::repo;
use crate::db::Db;
use crate::error::AppError;
use crate::storage::{self, work, Storage};

pub fn intent_path(work_dir: &Path, uuid: &str) -> PathBuf {
    work_dir.join(format!("{uuid}.intent"))
}

/// Writes and fsyncs the intent to place `target` (a path under the data dir).
pub fn write_intent(intent: &Path, data_dir: &Path, target: &Path) -> std::io::Result<()> {
    let relative = target
        .strip_prefix(data_dir)
        .map_err(std::io::Error::other)?;
    let mut file = std::fs::File::create(intent)?;
    file.write_all(relative.to_string_lossy().as_bytes())?;
    file.sync_all()?;
    storage::sync_dir(
        intent
            .parent()
            .ok_or_else(|| std::io::Error::other("no directory"))?,
    )
}

/// Recovers what processes that died left under `tmp/`: the originals of ingests interrupted
/// between placing and committing are removed, then their work dirs. `legacy`: also the intent
/// files earlier releases kept directly in `tmp/` (for the daemon at start, when no other
/// process can be writing there). Returns how many originals were removed.
pub fn recover_interrupted(db: &Db, storage: &Storage, legacy: bool) -> Result<usize, AppError> {
    let mut removed = 0;
    if legacy {
        removed += recover_intents_in(db, storage, &storage.data_dir().join("tmp"))?;
    }
    for dir in work::abandoned(storage.data_dir())? {
        removed += recover_intents_in(db, storage, &dir.path)?;
        dir.remove();
    }
    Ok(removed)
}

fn recover_intents_in(db: &Db, storage: &Storage, dir: &Path) -> Result<usize, AppError> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(uuid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".intent"))
            .map(str::to_string)
        else {
            continue;
        };
        let relative = std::fs::read_to_string(&path).unwrap_or_default();
        let relative = relative.trim();
        let committed = db.run_sync(|conn| Ok(repo::uuid_exists(conn, &uuid)?))?;
        let inside = relative
            .strip_prefix("originals/")
            .is_some_and(storage::is_plain_relative);
        let target = storage.data_dir().join(relative);
        if !committed && inside && target.is_file() {
            storage::remove_if_present(&target);
            removed += 1;
        }
        storage::remove_if_present(&path);
    }
    Ok(removed)
}
