//! SQL of imports: the roots photos are imported from.

use std::collections::HashMap;

use crate::db::ids::{ImportRootId, PhotoId};
use rusqlite::{params, Connection, OptionalExtension};

/// The id of the import root at `path` (an absolute, canonical path), made on first use. A
/// root keeps its id as long as its path is unchanged.
pub fn root_id(conn: &Connection, path: &str, now: i64) -> rusqlite::Result<ImportRootId> {
    conn.execute(
        "INSERT OR IGNORE INTO import_roots (path, created_at) VALUES (?1, ?2)",
        params![path, now],
    )?;
    conn.query_row("SELECT id FROM import_roots WHERE path = ?1", [path], |r| {
        r.get(0)
    })
}

/// The id of the import root at `path`, if there is one.
pub fn find_root(conn: &Connection, path: &str) -> rusqlite::Result<Option<ImportRootId>> {
    conn.query_row("SELECT id FROM import_roots WHERE path = ?1", [path], |r| {
        r.get(0)
    })
    .optional()
}

/// What is known of one file below a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub seen_at: i64,
    pub state: FileState,
    pub photo_id: Option<PhotoId>,
}

/// What became of a file (the `state` column of `import_files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileState {
    Pending,
    Imported,
    Duplicate,
    Skipped,
    Failed,
    Missing,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Imported => "imported",
            FileState::Duplicate => "duplicate",
            FileState::Skipped => "skipped",
            FileState::Failed => "failed",
            FileState::Missing => "missing",
        }
    }

    fn parse(text: &str) -> FileState {
        match text {
            "pending" => FileState::Pending,
            "imported" => FileState::Imported,
            "duplicate" => FileState::Duplicate,
            "skipped" => FileState::Skipped,
            "failed" => FileState::Failed,
            _ => FileState::Missing,
        }
    }
}

/// Every file known below `root`, by relative path.
pub fn known_files(
    conn: &Connection,
    root: ImportRootId,
) -> rusqlite::Result<HashMap<String, KnownFile>> {
    let mut stmt = conn.prepare(
        "SELECT path, size, mtime_ns, seen_at, state, photo_id FROM import_files WHERE root_id = ?1",
    )?;
    let rows = stmt.query_map([root], |r| {
        let state: String = r.get(4)?;
        Ok((
            r.get::<_, String>(0)?,
            KnownFile {
                size: r.get::<_, i64>(1)? as u64,
                mtime_ns: r.get(2)?,
                seen_at: r.get(3)?,
                state: FileState::parse(&state),
                photo_id: r.get(5)?,
            },
        ))
    })?;
    rows.collect()
}

/// Records what is known of one file (inserted or replaced).
pub fn put_file(
    conn: &Connection,
    root: ImportRootId,
    path: &str,
    file: &KnownFile,
    reason: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO import_files (root_id, path, size, mtime_ns, seen_at, state, photo_id, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (root_id, path) DO UPDATE SET size = ?3, mtime_ns = ?4, seen_at = ?5,
             state = ?6, photo_id = ?7, reason = ?8",
        params![
            root,
            path,
            file.size as i64,
            file.mtime_ns,
            file.seen_at,
            file.state.as_str(),
            file.photo_id,
            reason
        ],
    )?;
    Ok(())
}

pub fn forget_file(conn: &Connection, root: ImportRootId, path: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM import_files WHERE root_id = ?1 AND path = ?2",
        params![root, path],
    )?;
    Ok(())
}

/// Marks an in-place photo offline (its file is gone) or online again.
pub fn set_offline(conn: &Connection, photo: PhotoId, offline: bool) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET offline = ?2 WHERE id = ?1",
        params![photo, offline],
    )?;
    Ok(())
}

/// Where an in-place photo's file is: its root and path, if it is referenced in place.
pub fn in_place_location(
    conn: &Connection,
    photo: PhotoId,
) -> rusqlite::Result<Option<(ImportRootId, String)>> {
    conn.query_row(
        "SELECT import_root_id, file_path FROM photos
         WHERE id = ?1 AND file_kind = 'import' AND import_root_id IS NOT NULL",
        [photo],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Where a photo came from: its import root and path, if it was imported.
pub fn origin_of(
    conn: &Connection,
    photo: PhotoId,
) -> rusqlite::Result<Option<(ImportRootId, String)>> {
    conn.query_row(
        "SELECT origin_import_id, origin_path FROM photos
         WHERE id = ?1 AND origin_import_id IS NOT NULL AND origin_path IS NOT NULL",
        [photo],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// An in-place file that was renamed or moved inside its root: the photo follows it.
pub fn relocate(conn: &Connection, photo: PhotoId, path: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET file_path = ?2, origin_path = ?2, offline = 0 WHERE id = ?1",
        params![photo, path],
    )?;
    Ok(())
}

/// Ends a scan: when, and why it was paused (`None`: it was not).
pub fn finish_scan(
    conn: &Connection,
    root: ImportRootId,
    at: i64,
    paused: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE import_roots SET last_scan_at = ?2, paused_reason = ?3 WHERE id = ?1",
        params![root, at, paused],
    )?;
    Ok(())
}

/// The counts `GET /admin/imports` shows for a root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootCounts {
    pub last_scan_at: Option<i64>,
    pub paused_reason: Option<String>,
    pub files_seen: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub skipped: i64,
    pub failed: i64,
    pub pending: i64,
    pub offline: i64,
}

pub fn root_counts(conn: &Connection, root: ImportRootId) -> rusqlite::Result<RootCounts> {
    let mut counts = conn.query_row(
        "SELECT last_scan_at, paused_reason FROM import_roots WHERE id = ?1",
        [root],
        |r| {
            Ok(RootCounts {
                last_scan_at: r.get(0)?,
                paused_reason: r.get(1)?,
                ..RootCounts::default()
            })
        },
    )?;
    let mut stmt =
        conn.prepare("SELECT state, count(*) FROM import_files WHERE root_id = ?1 GROUP BY state")?;
    let rows = stmt.query_map([root], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (state, n) = row?;
        match FileState::parse(&state) {
            FileState::Pending => counts.pending = n,
            FileState::Imported => counts.imported = n,
            FileState::Duplicate => counts.duplicates = n,
            FileState::Skipped => counts.skipped = n,
            FileState::Failed => counts.failed = n,
            FileState::Missing => continue,
        }
        counts.files_seen += n;
    }
    counts.offline = conn.query_row(
        "SELECT count(*) FROM photos WHERE import_root_id = ?1 AND offline = 1",
        [root],
        |r| r.get(0),
    )?;
    Ok(counts)
}
