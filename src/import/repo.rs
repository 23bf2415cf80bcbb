//! SQL of imports: the roots photos are imported from.

use crate::db::ids::ImportRootId;
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
