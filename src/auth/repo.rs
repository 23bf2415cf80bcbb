//! SQL for users and sessions. Every function takes a connection or transaction, so a service
//! can compose several in one transaction.

use crate::db::ids::{SessionId, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Role, User};

const USER_COLUMNS: &str = "u.id, u.username, u.email, u.display_name, u.bio, u.avatar_url, \
     u.role, u.is_active, u.family_id, u.created_at, u.updated_at, \
     (SELECT coalesce(sum(p.size), 0) FROM photos p WHERE p.owner_id = u.id) AS storage_used_bytes";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(6)?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        email: row.get(2)?,
        display_name: row.get(3)?,
        bio: row.get(4)?,
        avatar_url: row.get(5)?,
        role: Role::parse(&role).unwrap_or(Role::User),
        is_active: row.get(7)?,
        family_id: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        storage_used_bytes: row.get(11)?,
    })
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub email: Option<&'a str>,
    pub role: Role,
    pub now: i64,
}

pub fn count_users(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
}

pub fn count_active_admins(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1",
        [],
        |r| r.get(0),
    )
}

/// Inserts a user; `Ok(None)` when the username is taken (case-insensitively).
pub fn insert_user(conn: &Connection, user: &NewUser<'_>) -> rusqlite::Result<Option<UserId>> {
    let result = conn.execute(
        "INSERT INTO users (username, password_hash, email, role, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            user.username,
            user.password_hash,
            user.email,
            user.role.as_str(),
            user.now
        ],
    );
    crate::db::inserted_id(conn, result)
}

pub fn find_user(conn: &Connection, id: UserId) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"
    ))?
    .query_row([id], user_from_row)
    .optional()
}

/// The user and their password hash, by username (case-insensitive).
pub fn find_login(conn: &Connection, username: &str) -> rusqlite::Result<Option<(User, String)>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?1"),
        [username],
        |row| Ok((user_from_row(row)?, row.get(12)?)),
    )
    .optional()
}

pub fn password_hash(conn: &Connection, user_id: UserId) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT password_hash FROM users WHERE id = ?1",
        [user_id],
        |r| r.get(0),
    )
    .optional()
}

/// Users whose username, display name or email contains `q`, by id; and the total count.
pub fn list_users(
    conn: &Connection,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<User>, i64)> {
    let pattern = q.map(|q| format!("%{}%", escape_like(q)));
    let filter = "(?1 IS NULL OR u.username LIKE ?1 ESCAPE '\\' \
                  OR u.display_name LIKE ?1 ESCAPE '\\' OR u.email LIKE ?1 ESCAPE '\\')";
    let total = conn.query_row(
        &format!("SELECT count(*) FROM users u WHERE {filter}"),
        [&pattern],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE {filter} ORDER BY u.id LIMIT ?2 OFFSET ?3"
    ))?;
    let users = stmt
        .query_map(params![pattern, limit, offset], user_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((users, total))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Profile fields; `None` leaves a field unchanged, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct ProfileChange {
    pub email: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

pub fn update_profile(
    conn: &Connection,
    id: UserId,
    change: &ProfileChange,
    now: i64,
) -> rusqlite::Result<()> {
    let columns = [
        ("email", &change.email),
        ("display_name", &change.display_name),
        ("bio", &change.bio),
        ("avatar_url", &change.avatar_url),
    ];
    for (column, value) in columns {
        if let Some(value) = value {
            conn.execute(
                &format!("UPDATE users SET {column} = ?1, updated_at = ?2 WHERE id = ?3"),
                params![value, now, id],
            )?;
        }
    }
    Ok(())
}

pub fn set_avatar(conn: &Connection, id: UserId, url: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET avatar_url = ?1, avatar_updated_at = ?2, updated_at = ?2 WHERE id = ?3",
        params![url, now, id],
    )?;
    Ok(())
}

pub fn avatar_updated_at(conn: &Connection, id: UserId) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT avatar_updated_at FROM users WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
    .map(Option::flatten)
}

pub fn set_password_hash(
    conn: &Connection,
    id: UserId,
    hash: &str,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
        params![hash, now, id],
    )?;
    Ok(())
}

pub fn set_role(conn: &Connection, id: UserId, role: Role, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET role = ?1, updated_at = ?2 WHERE id = ?3",
        params![role.as_str(), now, id],
    )?;
    Ok(())
}

pub fn set_active(conn: &Connection, id: UserId, active: bool, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET is_active = ?1, updated_at = ?2 WHERE id = ?3",
        params![active, now, id],
    )?;
    Ok(())
}

pub fn count_photos(conn: &Connection, owner_id: UserId) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM photos WHERE owner_id = ?1",
        [owner_id],
        |r| r.get(0),
    )
}

pub fn delete_user(conn: &Connection, id: UserId) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", [id])? > 0)
}

/// A session row as the services need it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub refresh_gen: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub revoked: bool,
    /// Carried by every token of the session; a token with another one is not of this session.
    pub secret: String,
}

const SESSION_COLUMNS: &str = "id, user_id, refresh_gen, created_at, last_used_at, expires_at, \
     user_agent, ip, revoked_at IS NOT NULL, secret";

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get(0)?,
        user_id: row.get(1)?,
        refresh_gen: row.get(2)?,
        created_at: row.get(3)?,
        last_used_at: row.get(4)?,
        expires_at: row.get(5)?,
        user_agent: row.get(6)?,
        ip: row.get(7)?,
        revoked: row.get(8)?,
        secret: row.get(9)?,
    })
}

pub fn insert_session(
    conn: &Connection,
    user_id: UserId,
    secret: &str,
    now: i64,
    expires_at: i64,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> rusqlite::Result<SessionId> {
    conn.execute(
        "INSERT INTO sessions (user_id, secret, created_at, last_used_at, expires_at, user_agent, ip)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
        params![user_id, secret, now, expires_at, user_agent, ip],
    )?;
    Ok(SessionId(conn.last_insert_rowid()))
}

pub fn find_session(conn: &Connection, id: SessionId) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
        [id],
        session_from_row,
    )
    .optional()
}

/// A live session with its user's role, when both the session and the user are active and
/// `secret` is the session's own.
pub fn find_live_session(
    conn: &Connection,
    id: SessionId,
    secret: &str,
    now: i64,
) -> rusqlite::Result<Option<(UserId, Role, i64)>> {
    conn.prepare_cached(
        "SELECT s.user_id, u.role, s.last_used_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = ?1 AND s.secret = ?3 AND s.revoked_at IS NULL AND s.expires_at > ?2
           AND u.is_active = 1",
    )?
    .query_row(params![id, now, secret], |r| {
        let role: String = r.get(1)?;
        Ok((
            r.get(0)?,
            Role::parse(&role).unwrap_or(Role::User),
            r.get(2)?,
        ))
    })
    .optional()
}

/// Live sessions of a user, newest first.
pub fn list_sessions(
    conn: &Connection,
    user_id: UserId,
    now: i64,
) -> rusqlite::Result<Vec<SessionRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
         ORDER BY id DESC"
    ))?;
    let rows = stmt
        .query_map(params![user_id, now], session_from_row)?
        .collect();
    rows
}

/// Moves the refresh generation on, only if it still is `expected` (so two concurrent refreshes
/// with the same token cannot both succeed).
pub fn rotate_refresh(
    conn: &Connection,
    id: SessionId,
    expected: i64,
    now: i64,
    expires_at: i64,
) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE sessions SET refresh_gen = refresh_gen + 1, last_used_at = ?3, expires_at = ?4
         WHERE id = ?1 AND refresh_gen = ?2 AND revoked_at IS NULL",
        params![id, expected, now, expires_at],
    )?;
    Ok(changed == 1)
}

pub fn touch_session(conn: &Connection, id: SessionId, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn revoke_session(
    conn: &Connection,
    id: SessionId,
    reason: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3
         WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now, reason],
    )?;
    Ok(changed == 1)
}

/// Revokes every live session of `user_id` except `keep`; returns the ids it revoked.
pub fn revoke_user_sessions(
    conn: &Connection,
    user_id: UserId,
    keep: Option<SessionId>,
    reason: &str,
    now: i64,
) -> rusqlite::Result<Vec<SessionId>> {
    let mut stmt = conn.prepare(
        "UPDATE sessions SET revoked_at = ?3, revoke_reason = ?4
         WHERE user_id = ?1 AND revoked_at IS NULL AND id IS NOT ?2 RETURNING id",
    )?;
    let ids = stmt
        .query_map(params![user_id, keep, now, reason], |r| r.get(0))?
        .collect();
    ids
}

/// Forgets sessions that ended more than `keep_secs` ago.
pub fn prune_sessions(conn: &Connection, now: i64, keep_secs: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
        [now - keep_secs],
    )
}
