//! `photox verify`: every original is re-read and checked against its checksum and size, every
//! row must have its file where the row says it is, and every file under originals/ and trash/
//! must have its row. Originals in import roots are checked too; their folders are not.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::db::Db;
use crate::error::AppError;
use crate::storage::files::sha256_file;
use crate::storage::repo::{all_files, StoredFile};
use crate::storage::{FileKey, Location, Storage};

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub photos: usize,
    pub bytes: u64,
    /// One line per problem found.
    pub problems: Vec<String>,
}

fn key(f: &StoredFile) -> FileKey<'_> {
    FileKey {
        owner_id: f.owner_id,
        uuid: &f.uuid,
        ext: &f.ext,
        created_at: f.created_at,
    }
}

/// Checks everything; `progress(done, total)` is called after each photo.
pub fn verify_library(
    db: &Db,
    storage: &Storage,
    mut progress: impl FnMut(usize, usize),
) -> Result<VerifyReport, AppError> {
    let rows = db.run_sync(|conn| Ok(all_files(conn)?))?;
    let mut report = VerifyReport {
        photos: rows.len(),
        ..Default::default()
    };
    let mut known: HashSet<PathBuf> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let expected = storage.path_of(&row.file);
        for place in [Storage::managed(key(row)), Storage::trashed(key(row))] {
            known.extend(storage.path_of(&place));
        }
        known.extend(expected.clone());
        match storage.locate(&row.file, key(row)) {
            None => report
                .problems
                .push(format!("photo {}: original file is missing", row.id)),
            Some(found) => {
                if Some(&found) != expected.as_ref() {
                    let (is, was) = match row.file {
                        Location::Trash(_) => ("originals/", "in the trash"),
                        _ => ("trash/", "not in the trash"),
                    };
                    report.problems.push(format!(
                        "photo {}: original is in {is} but the photo is {was}",
                        row.id
                    ));
                }
                match sha256_file(&found) {
                    Ok((sum, size)) => {
                        report.bytes += size;
                        if size != row.size as u64 {
                            report.problems.push(format!(
                                "photo {}: size is {size}, expected {}",
                                row.id, row.size
                            ));
                        }
                        if sum != row.checksum {
                            report.problems.push(format!(
                                "photo {}: checksum mismatch (file changed or damaged)",
                                row.id
                            ));
                        }
                    }
                    Err(e) => report
                        .problems
                        .push(format!("photo {}: cannot read the original: {e}", row.id)),
                }
            }
        }
        progress(i + 1, rows.len());
    }
    for dir in ["originals", "trash"] {
        for path in files_below(&storage.data_dir().join(dir)) {
            if !known.contains(&path) {
                let shown = path
                    .strip_prefix(storage.data_dir())
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                report
                    .problems
                    .push(format!("file without a photo: {shown}"));
            }
        }
    }
    Ok(report)
}

fn files_below(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
