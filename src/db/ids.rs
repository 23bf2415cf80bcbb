//! Typed ids, so that an album id can never be passed where a photo id is meant. Each wraps its
//! row's integer id; SQLite reads and writes them as integers, JSON (job parameters) as plain
//! numbers. The API shows plain numbers and turns them into these at its edge.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The integer the database and the API know.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )*};
}

id_types! {
    /// A photo (`photos.id`).
    PhotoId;
    /// A user (`users.id`).
    UserId;
    /// An album (`albums.id`).
    AlbumId;
    /// A login session (`sessions.id`).
    SessionId;
    /// A family (`families.id`).
    FamilyId;
    /// A background job (`jobs.id`).
    JobId;
    /// A folder photos are imported from (`import_roots.id`).
    ImportRootId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_integers_in_sql_and_json() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: PhotoId = conn
            .query_row("SELECT ?1", [PhotoId(42)], |r| r.get(0))
            .unwrap();
        assert_eq!(back, PhotoId(42));
        assert_eq!(serde_json::to_string(&AlbumId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<UserId>("9").unwrap(), UserId(9));
        assert_eq!(format!("p.owner_id = {}", UserId(3)), "p.owner_id = 3");
    }
}
