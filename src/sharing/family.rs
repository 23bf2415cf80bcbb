//! Families: create with an invite code, join by code, leave (the longest-standing member
//! inherits; the last one out deletes it), new code, remove a member. Access through a family is
//! decided per request from `users.family_id`, so leaving loses it at once.

use crate::db::ids::{FamilyId, UserId};
use rand::Rng;
use rusqlite::Connection;

use super::family_repo as repo;
use super::{Family, Sharing, SharingError};
use crate::auth::Caller;
use crate::db::now;
use crate::error::{AppError, ValidationErrors};

const MAX_NAME_CHARS: usize = 100;
/// Invite codes: no 0/O or 1/I/L, so they survive being read aloud or typed from paper.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

fn new_invite_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Codes are compared in upper case without spaces or dashes.
pub fn normalize_invite_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn loaded(conn: &Connection, family: FamilyId) -> Result<Family, AppError> {
    Ok(repo::find_family(conn, family)?.ok_or(SharingError::FamilyNotFound)?)
}

/// The family `user` owns: 404 when in none, 403 when only a member.
fn owned_family(conn: &Connection, user: UserId) -> Result<FamilyId, AppError> {
    let family = repo::family_of(conn, user)?.ok_or(SharingError::NotInFamily)?;
    if loaded(conn, family)?.owner_id != user {
        return Err(SharingError::NotFamilyOwner.into());
    }
    Ok(family)
}

/// Takes `user` out of their family, handing it on or deleting it; `false` when they were in
/// none.
pub fn leave_family(conn: &Connection, user: UserId, now: i64) -> Result<bool, AppError> {
    let Some(family) = repo::family_of(conn, user)? else {
        return Ok(false);
    };
    let owned = loaded(conn, family)?.owner_id == user;
    repo::set_membership(conn, user, None, now)?;
    match repo::longest_standing_member(conn, family)? {
        None => repo::delete_family(conn, family)?,
        Some(next) if owned => repo::set_owner(conn, family, next)?,
        Some(_) => {}
    }
    Ok(true)
}

impl Sharing {
    pub async fn create_family(&self, caller: &Caller, name: String) -> Result<Family, AppError> {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(ValidationErrors::single("name", "is required", "REQUIRED").into());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ValidationErrors::single(
                "name",
                "must be at most 100 characters",
                "TOO_LONG",
            )
            .into());
        }
        let me = caller.user_id;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                if repo::family_of(&tx, me)?.is_some() {
                    return Err(SharingError::AlreadyInFamily.into());
                }
                let now = now();
                let id = loop {
                    if let Some(id) = repo::insert_family(&tx, &name, &new_invite_code(), me, now)?
                    {
                        break id;
                    }
                };
                repo::set_membership(&tx, me, Some(id), now)?;
                let family = loaded(&tx, id)?;
                tx.commit()?;
                Ok(family)
            })
            .await
    }

    pub async fn join_family(&self, caller: &Caller, code: String) -> Result<Family, AppError> {
        let code = normalize_invite_code(&code);
        if code.is_empty() {
            return Err(ValidationErrors::single("invite_code", "is required", "REQUIRED").into());
        }
        let me = caller.user_id;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let family =
                    repo::family_by_code(&tx, &code)?.ok_or(SharingError::FamilyNotFound)?;
                if repo::family_of(&tx, me)?.is_some() {
                    return Err(SharingError::AlreadyInFamily.into());
                }
                repo::set_membership(&tx, me, Some(family), now())?;
                let family = loaded(&tx, family)?;
                tx.commit()?;
                Ok(family)
            })
            .await
    }

    /// The caller's family, or `None`.
    pub async fn my_family(&self, caller: &Caller) -> Result<Option<Family>, AppError> {
        let me = caller.user_id;
        self.db
            .run(move |conn| match repo::family_of(conn, me)? {
                Some(family) => Ok(repo::find_family(conn, family)?),
                None => Ok(None),
            })
            .await
    }

    pub async fn leave_family(&self, caller: &Caller) -> Result<(), AppError> {
        if !self.remove_from_family(caller.user_id).await? {
            return Err(SharingError::NotInFamily.into());
        }
        Ok(())
    }

    /// Takes a user out of their family if they are in one (also before an account is
    /// deleted); `false` when they were in none.
    pub async fn remove_from_family(&self, user: UserId) -> Result<bool, AppError> {
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let left = leave_family(&tx, user, now())?;
                tx.commit()?;
                Ok(left)
            })
            .await
    }

    /// A new invite code (owner only); the old one stops working.
    pub async fn renew_invite_code(&self, caller: &Caller) -> Result<Family, AppError> {
        let me = caller.user_id;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let family = owned_family(&tx, me)?;
                while !repo::set_invite_code(&tx, family, &new_invite_code())? {}
                let family = loaded(&tx, family)?;
                tx.commit()?;
                Ok(family)
            })
            .await
    }

    /// The owner removes another member.
    pub async fn remove_member(&self, caller: &Caller, user: UserId) -> Result<Family, AppError> {
        let me = caller.user_id;
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let family = owned_family(&tx, me)?;
                if user == me {
                    return Err(ValidationErrors::single(
                        "user_id",
                        "the owner leaves with POST /family/leave",
                        "INVALID_VALUE",
                    )
                    .into());
                }
                if repo::family_of(&tx, user)? != Some(family) {
                    return Err(SharingError::MemberNotFound.into());
                }
                repo::set_membership(&tx, user, None, now())?;
                let family = loaded(&tx, family)?;
                tx.commit()?;
                Ok(family)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_are_unambiguous_and_normalized() {
        let code = new_invite_code();
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(normalize_invite_code(" abcd-efgh "), "ABCDEFGH");
    }
}
