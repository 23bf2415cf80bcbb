//! SQLite access: connection setup (WAL, foreign keys, busy timeout), migrations, and `Db::run`,
//! which moves every blocking call onto the blocking thread pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::error::AppError;

pub mod grams;
pub mod ids;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// How many connections the daemon keeps open. WAL lets readers run beside the one writer.
const POOL_SIZE: usize = 4;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Db {
    /// Opens (creating if needed) the database, applies pending migrations and fills the pool.
    pub fn open(path: &Path) -> Result<Db, AppError> {
        // Migrations get a connection of their own (see `migrate`); the pool's are plain.
        migrate(&mut open_connection(path)?)?;
        let mut idle = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            idle.push(open_connection(path)?);
        }
        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(idle),
                permits: Semaphore::new(POOL_SIZE),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with a pooled connection on a blocking thread. A panic inside `f` is re-raised
    /// in the caller's task, so it is not mistaken for an error value.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, AppError> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("database pool closed".into()))?;
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .expect("a permit guarantees an idle connection");
            let result = f(&mut conn);
            inner
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(AppError::Internal(format!("database task cancelled: {e}"))),
        }
    }

    /// Runs `f` on a fresh connection synchronously: for the command line, where no runtime runs.
    pub fn run_sync<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = open_connection(&self.inner.path)?;
        f(&mut conn)
    }

    /// Checks that the database answers and accepts writes (for `/health`).
    pub async fn check_writable(&self) -> Result<(), AppError> {
        self.run(|conn| {
            conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
            Ok(())
        })
        .await
    }

    /// Consistent online copy of the database into `dest` (SQLite's `VACUUM INTO`).
    pub fn backup_to(&self, dest: &Path) -> Result<(), AppError> {
        let dest = dest
            .to_str()
            .ok_or_else(|| AppError::Internal("backup destination must be valid UTF-8".into()))?;
        self.run_sync(|conn| {
            conn.execute("VACUUM INTO ?1", [dest])?;
            Ok(())
        })
    }
}

/// Applies pending migrations with foreign keys off, as SQLite's way of changing a table
/// requires (a rebuilt table is dropped and its replacement renamed; with foreign keys on,
/// the drop would delete every row that refers to it). Every reference is checked afterwards.
fn migrate(conn: &mut Connection) -> Result<(), AppError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    // Migrations V4 and V5 made search objects that call it.
    grams::register(conn)?;
    let report = embedded::migrations::runner()
        .run(conn)
        .map_err(|e| AppError::Internal(format!("database migration failed: {e}")));
    let checked = match &report {
        Ok(r) if !r.applied_migrations().is_empty() => conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(AppError::from),
        _ => Ok(0),
    };
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    report?;
    match checked? {
        0 => Ok(()),
        broken => Err(AppError::Internal(format!(
            "database migration left {broken} rows that refer to missing rows"
        ))),
    }
}

fn open_connection(path: &Path) -> Result<Connection, AppError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

/// The id of the row an INSERT just made, or `None` when it broke a uniqueness constraint
/// (a taken username, a duplicate photo).
pub fn inserted_id<Id: From<i64>>(
    conn: &Connection,
    result: rusqlite::Result<usize>,
) -> rusqlite::Result<Option<Id>> {
    match result {
        Ok(_) => Ok(Some(Id::from(conn.last_insert_rowid()))),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A transaction that takes the write lock at once. A deferred one that reads first and writes
/// later fails with "database is locked" when another connection wrote in between (WAL snapshot),
/// which `busy_timeout` cannot wait out; every read-then-write transaction uses this.
pub fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

/// Seconds since the Unix epoch; every timestamp in the database uses it.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_applies_migrations_and_enables_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (fk, mode): (i64, String) = db
            .run(|c| {
                let fk = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                Ok((fk, mode))
            })
            .await
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(mode, "wal");
        let users: i64 = db
            .run(|c| Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(users, 0);
    }

    #[tokio::test]
    async fn reopening_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let db = Db::open(&path).unwrap();
            db.run(|c| {
                c.execute(
                    "INSERT INTO users (username, password_hash, role, created_at, updated_at)
                     VALUES ('ann', 'x', 'admin', 0, 0)",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let n: i64 = db
            .run(|c| Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
