//! `photox verify`: every original is re-read and checked against its checksum and size, every
//! row must have its file, and every file under originals/ and trash/ must have its row.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::storage::{FileKey, Storage};
use crate::db::Db;
use crate::error::AppError;

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

fn sha256_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        size,
    ))
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
        let expected = if row.trashed {
            storage.trash_path(key(row))
        } else {
            storage.original_path(key(row))
        };
        known.insert(storage.original_path(key(row)));
        known.insert(storage.trash_path(key(row)));
        match storage.locate_original(key(row), row.trashed) {
            None => report
                .problems
                .push(format!("photo {}: original file is missing", row.id)),
            Some(found) => {
                if found != expected {
                    report.problems.push(format!(
                        "photo {}: original is in {} but the photo is {}",
                        row.id,
                        if row.trashed { "originals/" } else { "trash/" },
                        if row.trashed {
                            "in the trash"
                        } else {
                            "not in the trash"
                        }
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

/// A photo row as `photox verify` needs it (its SQL lives here, beside its only user).
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: i64,
    pub owner_id: i64,
    pub uuid: String,
    pub ext: String,
    pub created_at: i64,
    pub trashed: bool,
    pub checksum: String,
    pub size: i64,
}

/// Every photo row's file identity, for `photox verify`.
pub fn all_files(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<StoredFile>> {
    let mut stmt = conn.prepare(
        "SELECT id, owner_id, uuid, ext, created_at, deleted_at IS NOT NULL, checksum, size FROM photos ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredFile {
            id: r.get(0)?,
            owner_id: r.get(1)?,
            uuid: r.get(2)?,
            ext: r.get(3)?,
            created_at: r.get(4)?,
            trashed: r.get(5)?,
            checksum: r.get(6)?,
            size: r.get(7)?,
        })
    })?;
    rows.collect()
}
