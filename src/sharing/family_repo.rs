//! SQL for families. Membership is `users.family_id` with `users.family_joined_at`.

use crate::db::ids::{FamilyId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

use super::{Family, Member, Role};

/// The family a user is in, if any.
pub fn family_of(conn: &Connection, user: UserId) -> rusqlite::Result<Option<FamilyId>> {
    conn.query_row("SELECT family_id FROM users WHERE id = ?1", [user], |r| {
        r.get(0)
    })
    .optional()
    .map(Option::flatten)
}

pub fn find_family(conn: &Connection, id: FamilyId) -> rusqlite::Result<Option<Family>> {
    let family = conn
        .query_row(
            "SELECT id, name, invite_code, owner_id, created_at FROM families WHERE id = ?1",
            [id],
            |r| {
                Ok(Family {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    invite_code: r.get(2)?,
                    owner_id: r.get(3)?,
                    members: Vec::new(),
                    created_at: r.get(4)?,
                })
            },
        )
        .optional()?;
    let Some(mut family) = family else {
        return Ok(None);
    };
    family.members = members(conn, id, family.owner_id)?;
    Ok(Some(family))
}

/// Members, longest-standing first.
fn members(conn: &Connection, family: FamilyId, owner: UserId) -> rusqlite::Result<Vec<Member>> {
    let mut stmt = conn.prepare(
        "SELECT id, username, display_name, family_joined_at FROM users
         WHERE family_id = ?1 ORDER BY family_joined_at, id",
    )?;
    let rows = stmt.query_map([family], |r| {
        let id: UserId = r.get(0)?;
        Ok(Member {
            id,
            username: r.get(1)?,
            display_name: r.get(2)?,
            role: if id == owner {
                Role::Owner
            } else {
                Role::Member
            },
            joined_at: r.get::<_, Option<i64>>(3)?.unwrap_or_default(),
        })
    })?;
    rows.collect()
}

pub fn family_by_code(conn: &Connection, code: &str) -> rusqlite::Result<Option<FamilyId>> {
    conn.query_row(
        "SELECT id FROM families WHERE invite_code = ?1",
        [code],
        |r| r.get(0),
    )
    .optional()
}

/// Inserts a family; `Ok(None)` when the invite code is taken.
pub fn insert_family(
    conn: &Connection,
    name: &str,
    code: &str,
    owner: UserId,
    now: i64,
) -> rusqlite::Result<Option<FamilyId>> {
    let result = conn.execute(
        "INSERT INTO families (name, invite_code, owner_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, code, owner, now],
    );
    crate::db::inserted_id(conn, result)
}

pub fn set_membership(
    conn: &Connection,
    user: UserId,
    family: Option<FamilyId>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET family_id = ?2, family_joined_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END
         WHERE id = ?1",
        params![user, family, now],
    )?;
    Ok(())
}

/// The member who has been in the family longest, if any is left.
pub fn longest_standing_member(
    conn: &Connection,
    family: FamilyId,
) -> rusqlite::Result<Option<UserId>> {
    conn.query_row(
        "SELECT id FROM users WHERE family_id = ?1 ORDER BY family_joined_at, id LIMIT 1",
        [family],
        |r| r.get(0),
    )
    .optional()
}

pub fn set_owner(conn: &Connection, family: FamilyId, owner: UserId) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE families SET owner_id = ?2 WHERE id = ?1",
        params![family, owner],
    )?;
    Ok(())
}

/// Sets a new invite code; `false` when the code is taken.
pub fn set_invite_code(conn: &Connection, family: FamilyId, code: &str) -> rusqlite::Result<bool> {
    let result = conn.execute(
        "UPDATE families SET invite_code = ?2 WHERE id = ?1",
        params![family, code],
    );
    Ok(crate::db::inserted_id::<FamilyId>(conn, result)?.is_some())
}

pub fn delete_family(conn: &Connection, family: FamilyId) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM families WHERE id = ?1", [family])?;
    Ok(())
}
