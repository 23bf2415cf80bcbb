//! One scan of a watched folder: compare it with what is known, take what settled, follow
//! renames, mark what went missing, or pause and change nothing.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::super::repo::{self, FileState, KnownFile};
use super::super::scan::{self, Excludes, Found};
use super::super::{Mode, Outcome, Target};
use super::{Root, WatchedFolders};
use crate::config::ImportMode;
use crate::db::ids::{ImportRootId, PhotoId};
use crate::db::now;
use crate::error::AppError;

impl WatchedFolders {
    /// Compares the folder with what is known and brings the library in line. Returns when
    /// the next look is due for files still settling (seconds since the epoch).
    pub(super) async fn reconcile(
        &self,
        root: &Arc<Root>,
        confirmed: bool,
        cancelled: &impl Fn() -> bool,
    ) -> Result<Option<i64>, AppError> {
        let id = root.id;
        let db = &self.inner.db;
        let excludes =
            Excludes::new(&root.config.exclude).map_err(|e| AppError::Internal(e.to_string()))?;
        let path = root.path.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let resolved = path.canonicalize()?;
            std::fs::read_dir(&resolved)?;
            let (found, unusable) = scan::walk(&resolved, &excludes);
            Ok::<_, std::io::Error>((resolved, found, unusable))
        })
        .await
        .map_err(|e| AppError::Internal(format!("folder scan failed: {e}")))?;
        let (resolved, found, unusable) = match listed {
            Ok(listed) => listed,
            Err(e) => {
                let reason = format!("the folder is missing or cannot be read ({})", e.kind());
                return self.pause(root, reason).await;
            }
        };
        for u in &unusable {
            log::debug!("import: {} skipped: {}", u.path.display(), u.reason);
        }
        let known = db.run(move |conn| Ok(repo::known_files(conn, id)?)).await?;
        let moves = root.config.mode == ImportMode::Move;
        let present: HashSet<&str> = found.iter().map(|f| f.relative.as_str()).collect();
        let expected = known
            .values()
            .filter(|k| k.state != FileState::Missing)
            .count();
        let lost = known
            .iter()
            .filter(|(p, k)| k.state != FileState::Missing && !present.contains(p.as_str()))
            .count();
        if !moves && found.is_empty() && expected > 0 {
            let reason = format!(
                "the folder is empty but {expected} files were known: is its disk mounted?"
            );
            return self.pause(root, reason).await;
        }
        if !moves && !confirmed && lost * 2 > expected {
            let reason = format!(
                "{lost} of {expected} known files are gone at once: is its disk mounted? \
                 (a rescan from the admin page accepts the loss)"
            );
            return self.pause(root, reason).await;
        }

        // Files gone since the last scan.
        let gone: Vec<(String, KnownFile)> = known
            .iter()
            .filter(|(p, k)| k.state != FileState::Missing && !present.contains(p.as_str()))
            .map(|(p, k)| (p.clone(), k.clone()))
            .collect();
        let in_place = root.config.mode == ImportMode::InPlace;
        db.run(move |conn| {
            let tx = crate::db::write_tx(conn)?;
            for (path, mut file) in gone {
                if moves && matches!(file.state, FileState::Imported | FileState::Duplicate) {
                    continue; // moved into the library: gone as it should be
                }
                if let (true, FileState::Imported, Some(photo)) =
                    (in_place, file.state, file.photo_id)
                {
                    repo::set_offline(&tx, photo, true)?;
                }
                file.state = FileState::Missing;
                repo::put_file(&tx, id, &path, &file, None)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;

        // New and changed files, and files back in place.
        let now_ms = now_millis();
        let settle_ms = root.config.settle.0.as_millis() as i64;
        let missing_by_shape: HashSet<(u64, i64)> = known
            .iter()
            .filter(|(p, k)| k.state == FileState::Missing || !present.contains(p.as_str()))
            .filter(|(_, k)| k.photo_id.is_some())
            .map(|(_, k)| (k.size, k.mtime_ns))
            .collect();
        let mut take = Vec::new();
        let mut updates = Vec::new();
        let mut next_look: Option<i64> = None;
        for file in &found {
            let seen = known.get(&file.relative);
            let same = seen.is_some_and(|k| k.size == file.size && k.mtime_ns == file.mtime_ns);
            match seen {
                Some(k) if same && k.state == FileState::Missing => {
                    if let (true, Some(photo)) = (in_place, k.photo_id) {
                        updates.push((file.relative.clone(), k.clone(), Some(photo)));
                    } else {
                        take.push(file);
                    }
                }
                Some(k) if same && k.state == FileState::Pending => {
                    if now_ms - k.seen_at >= settle_ms {
                        take.push(file);
                    } else {
                        let due = k.seen_at + settle_ms;
                        next_look = Some(next_look.map_or(due, |n: i64| n.min(due)));
                    }
                }
                Some(k)
                    if same
                        && !(moves
                            && matches!(k.state, FileState::Imported | FileState::Duplicate)) => {}
                _ => {
                    // New or changed: the settle clock starts now, unless it is a file that
                    // was renamed or moved inside the folder (same size and time as one gone).
                    let renamed = in_place
                        && missing_by_shape.contains(&(file.size, file.mtime_ns))
                        && seen.is_none();
                    if renamed || settle_ms == 0 {
                        take.push(file);
                    } else {
                        let due = now_ms + settle_ms;
                        next_look = Some(next_look.map_or(due, |n: i64| n.min(due)));
                    }
                    let pending = KnownFile {
                        size: file.size,
                        mtime_ns: file.mtime_ns,
                        seen_at: now_ms,
                        state: FileState::Pending,
                        photo_id: None,
                    };
                    updates.push((file.relative.clone(), pending, None));
                }
            }
        }
        db.run(move |conn| {
            let tx = crate::db::write_tx(conn)?;
            for (path, mut file, back) in updates {
                if let Some(photo) = back {
                    repo::set_offline(&tx, photo, false)?;
                    file.state = FileState::Imported;
                }
                repo::put_file(&tx, id, &path, &file, None)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;

        for file in take {
            if cancelled() {
                return Err(AppError::Internal(
                    "stopped; the scan resumes after the restart".into(),
                ));
            }
            self.take(root, &resolved, file).await?;
        }
        db.run(move |conn| Ok(repo::finish_scan(conn, id, now(), None)?))
            .await?;
        Ok(next_look.map(|ms| (ms + 999) / 1000))
    }

    /// Records a paused scan: nothing else changes.
    async fn pause(&self, root: &Root, reason: String) -> Result<Option<i64>, AppError> {
        log::warn!("import folder {} paused: {reason}", root.path.display());
        let id = root.id;
        self.inner
            .db
            .run(move |conn| Ok(repo::finish_scan(conn, id, now(), Some(&reason))?))
            .await?;
        Ok(None)
    }

    /// Ingests one settled file and records what became of it.
    async fn take(&self, root: &Root, resolved: &Path, file: &Found) -> Result<(), AppError> {
        let importer = &self.inner.importer;
        let config = &root.config;
        let album_id = importer
            .album_for(
                root.owner.user_id,
                config.album.clone(),
                config.album_from_folders,
                &file.relative,
            )
            .await?;
        let mode = match config.mode {
            ImportMode::Copy => Mode::Copy,
            ImportMode::Move => Mode::Move,
            ImportMode::InPlace => Mode::InPlace,
        };
        let target = Target {
            owner: root.owner,
            mode,
            root_id: root.id,
            root: resolved,
            album_id,
        };
        let (outcome, photo) = importer.ingest_one(&target, file).await?;
        crate::crash_points::reached("import.taken");
        let (id, relative) = (root.id, file.relative.clone());
        let in_place = mode == Mode::InPlace;
        let gone_path = resolved.to_path_buf();
        let record = KnownFile {
            size: file.size,
            mtime_ns: file.mtime_ns,
            seen_at: now_millis(),
            state: FileState::Pending,
            photo_id: photo,
        };
        if let Outcome::Failed(reason) = &outcome {
            log::warn!(
                "import folder {}: {} failed: {reason}",
                root.path.display(),
                file.relative
            );
        }
        self.inner
            .db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let mut record = record;
                let mut reason = None;
                record.state = match &outcome {
                    Outcome::Imported => FileState::Imported,
                    Outcome::Skipped(_) => FileState::Skipped,
                    Outcome::Failed(why) => {
                        reason = Some(why.clone());
                        FileState::Failed
                    }
                    Outcome::Duplicate => {
                        let photo = record.photo_id.expect("a duplicate names its photo");
                        duplicate_state(&tx, id, &relative, photo, in_place, &gone_path)?
                    }
                };
                repo::put_file(&tx, id, &relative, &record, reason.as_deref())?;
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// What a file whose bytes the owner already has is: the same photo found again (a scan cut
/// short before it recorded the file), a renamed or moved in-place file (the photo follows
/// it), or a duplicate.
fn duplicate_state(
    conn: &rusqlite::Connection,
    root: ImportRootId,
    relative: &str,
    photo: PhotoId,
    in_place: bool,
    resolved_root: &Path,
) -> rusqlite::Result<FileState> {
    if let Some((origin_root, origin_path)) = repo::origin_of(conn, photo)? {
        if origin_root == root && origin_path == relative {
            if in_place {
                // Its file came back (written again) where it was.
                repo::set_offline(conn, photo, false)?;
            }
            return Ok(FileState::Imported);
        }
    }
    if in_place {
        if let Some((file_root, old)) = repo::in_place_location(conn, photo)? {
            if file_root == root && old != relative && !resolved_root.join(&old).exists() {
                repo::relocate(conn, photo, relative)?;
                repo::forget_file(conn, root, &old)?;
                return Ok(FileState::Imported);
            }
        }
    }
    Ok(FileState::Duplicate)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
