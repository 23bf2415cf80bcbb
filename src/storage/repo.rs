//! SQL of what the data dir should hold: each photo row's file identity (for `photox verify`).

use super::Location;
use crate::db::ids::{PhotoId, UserId};

/// A photo row as `photox verify` needs it .
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: PhotoId,
    pub owner_id: UserId,
    pub uuid: String,
    pub ext: String,
    pub created_at: i64,
    pub file: Location,
    pub checksum: String,
    pub size: i64,
}

/// Every photo row's file identity, for `photox verify`.
pub fn all_files(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<StoredFile>> {
    let mut stmt = conn.prepare(
        "SELECT p.id, p.owner_id, p.uuid, p.ext, p.created_at, p.checksum, p.size, p.file_kind,
                p.file_path, p.import_root_id, r.path
         FROM photos p LEFT JOIN import_roots r ON r.id = p.import_root_id ORDER BY p.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(7)?;
        let file = Location::from_columns(&kind, r.get(8)?, r.get(9)?, r.get(10)?)
            .unwrap_or(Location::Managed(String::new()));
        Ok(StoredFile {
            id: r.get(0)?,
            owner_id: r.get(1)?,
            uuid: r.get(2)?,
            ext: r.get(3)?,
            created_at: r.get(4)?,
            file,
            checksum: r.get(5)?,
            size: r.get(6)?,
        })
    })?;
    rows.collect()
}
