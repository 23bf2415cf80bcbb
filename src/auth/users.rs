//! Users: registration, profile, password, avatar and administration.

use crate::db::ids::{SessionId, UserId};
use std::path::PathBuf;

use super::repo::{self, NewUser, ProfileChange};
use super::{
    blocking, password, rules, Accounts, AuthError, Caller, ClientInfo, Role, TokenPair, User,
    UserError,
};
use crate::config::Registration;
use crate::db::now;
use crate::error::{AppError, ValidationErrors};

/// A new account, from registration, an administrator or the command line.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    /// `None`: the first user becomes admin, every later one a user.
    pub role: Option<Role>,
}

/// What an administrator may change on a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AdminChange {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub password: Option<String>,
}

fn check_account(account: &NewAccount) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    rules::check_username(&mut errors, "username", &account.username);
    rules::check_password(&mut errors, "password", &account.password);
    if let Some(email) = &account.email {
        rules::check_email(&mut errors, "email", email);
    }
    errors.into_result()
}

fn check_profile(change: &ProfileChange) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if let Some(Some(email)) = &change.email {
        rules::check_email(&mut errors, "email", email);
    }
    if let Some(Some(name)) = &change.display_name {
        rules::check_max_len(&mut errors, "display_name", name, rules::DISPLAY_NAME_MAX);
    }
    if let Some(Some(bio)) = &change.bio {
        rules::check_max_len(&mut errors, "bio", bio, rules::BIO_MAX);
    }
    if let Some(Some(url)) = &change.avatar_url {
        rules::check_avatar_url(&mut errors, "avatar_url", url);
    }
    errors.into_result()
}

/// Empty strings clear a field.
fn blank_to_none(value: Option<Option<String>>) -> Option<Option<String>> {
    value.map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

impl Accounts {
    /// Self-service registration: refused when closed, except for the very first user, who
    /// becomes admin.
    pub async fn register(
        &self,
        account: NewAccount,
        registration: Registration,
        client: ClientInfo,
    ) -> Result<(User, TokenPair), AppError> {
        check_account(&account)?;
        if registration == Registration::Closed {
            let users = self.db().run(|conn| Ok(repo::count_users(conn)?)).await?;
            if users > 0 {
                return Err(AuthError::RegistrationClosed.into());
            }
        }
        let user = self
            .insert_account(
                NewAccount {
                    role: None,
                    ..account
                },
                Some(registration),
            )
            .await?;
        let tokens = self.open_session(user.id, client).await?;
        Ok((user, tokens))
    }

    /// Creates a user as an administrator or from the command line.
    pub async fn create_user(&self, account: NewAccount) -> Result<User, AppError> {
        check_account(&account)?;
        self.insert_account(account, None).await
    }

    async fn insert_account(
        &self,
        account: NewAccount,
        registration: Option<Registration>,
    ) -> Result<User, AppError> {
        let pw = account.password.clone();
        let hash = blocking(move || password::hash_password(&pw))
            .await?
            .map_err(AppError::Internal)?;
        self.db()
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let existing = repo::count_users(&tx)?;
                if existing > 0 && registration == Some(Registration::Closed) {
                    return Err(AuthError::RegistrationClosed.into());
                }
                let role = account.role.unwrap_or(if existing == 0 {
                    Role::Admin
                } else {
                    Role::User
                });
                let new = NewUser {
                    username: &account.username,
                    password_hash: &hash,
                    email: account.email.as_deref(),
                    role,
                    now: now(),
                };
                let id = repo::insert_user(&tx, &new)?.ok_or(UserError::UsernameTaken)?;
                let user = repo::find_user(&tx, id)?.ok_or(UserError::NotFound)?;
                tx.commit()?;
                Ok(user)
            })
            .await
    }

    pub async fn get_user(&self, id: UserId) -> Result<User, AppError> {
        self.db()
            .run(move |conn| Ok(repo::find_user(conn, id)?.ok_or(UserError::NotFound)?))
            .await
    }

    pub async fn find_by_username(&self, username: &str) -> Result<User, AppError> {
        let name = username.to_string();
        self.db()
            .run(move |conn| {
                Ok(repo::find_login(conn, &name)?
                    .map(|(user, _)| user)
                    .ok_or(UserError::NotFound)?)
            })
            .await
    }

    pub async fn update_profile(
        &self,
        caller: &Caller,
        change: ProfileChange,
    ) -> Result<User, AppError> {
        let change = ProfileChange {
            email: blank_to_none(change.email),
            display_name: blank_to_none(change.display_name),
            bio: blank_to_none(change.bio),
            avatar_url: blank_to_none(change.avatar_url),
        };
        check_profile(&change)?;
        let id = caller.user_id;
        self.db()
            .run(move |conn| {
                repo::update_profile(conn, id, &change, now())?;
                Ok(repo::find_user(conn, id)?.ok_or(UserError::NotFound)?)
            })
            .await
    }

    /// Changes the caller's password and ends every other session of theirs.
    pub async fn change_password(
        &self,
        caller: &Caller,
        old: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let mut errors = ValidationErrors::default();
        rules::check_password(&mut errors, "new_password", new);
        errors.into_result()?;
        let id = caller.user_id;
        let stored = self
            .db()
            .run(move |conn| Ok(repo::password_hash(conn, id)?.ok_or(UserError::NotFound)?))
            .await?;
        let old = old.to_string();
        if !blocking(move || password::verify_password(&old, &stored)).await? {
            return Err(ValidationErrors::single("old_password", "is incorrect", "INVALID").into());
        }
        self.store_password(id, new).await?;
        self.end_sessions(id, Some(caller.session_id), "password changed")
            .await
    }

    /// Sets a password without the old one (administrators, `photox user passwd`) and ends
    /// every session of that user but `keep`.
    pub async fn reset_password(
        &self,
        user_id: UserId,
        new: &str,
        keep: Option<SessionId>,
    ) -> Result<(), AppError> {
        let mut errors = ValidationErrors::default();
        rules::check_password(&mut errors, "password", new);
        errors.into_result()?;
        self.get_user(user_id).await?;
        self.store_password(user_id, new).await?;
        self.end_sessions(user_id, keep, "password reset").await
    }

    async fn store_password(&self, user_id: UserId, new: &str) -> Result<(), AppError> {
        let pw = new.to_string();
        let hash = blocking(move || password::hash_password(&pw))
            .await?
            .map_err(AppError::Internal)?;
        self.db()
            .run(move |conn| Ok(repo::set_password_hash(conn, user_id, &hash, now())?))
            .await
    }

    pub async fn list_users(
        &self,
        q: Option<String>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), AppError> {
        let q = q.filter(|q| !q.trim().is_empty());
        self.db()
            .run(move |conn| Ok(repo::list_users(conn, q.as_deref(), limit, offset)?))
            .await
    }

    /// An administrator's change to a user. The last active admin keeps their role and stays
    /// active; deactivation and a new password end the user's sessions at once.
    pub async fn admin_update(
        &self,
        caller: &Caller,
        user_id: UserId,
        change: AdminChange,
    ) -> Result<User, AppError> {
        caller.require_admin()?;
        let mut errors = ValidationErrors::default();
        let email = blank_to_none(change.email);
        let display_name = blank_to_none(change.display_name);
        if let Some(Some(e)) = &email {
            rules::check_email(&mut errors, "email", e);
        }
        if let Some(Some(n)) = &display_name {
            rules::check_max_len(&mut errors, "display_name", n, rules::DISPLAY_NAME_MAX);
        }
        if let Some(pw) = &change.password {
            rules::check_password(&mut errors, "password", pw);
        }
        errors.into_result()?;
        let (role, active) = (change.role, change.is_active);
        let user = self
            .db()
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let target = repo::find_user(&tx, user_id)?.ok_or(UserError::NotFound)?;
                let loses_admin = target.role == Role::Admin
                    && target.is_active
                    && (role == Some(Role::User) || active == Some(false));
                if loses_admin && repo::count_active_admins(&tx)? <= 1 {
                    return Err(UserError::LastAdmin.into());
                }
                let now = now();
                if let Some(role) = role {
                    repo::set_role(&tx, user_id, role, now)?;
                }
                if let Some(active) = active {
                    repo::set_active(&tx, user_id, active, now)?;
                }
                let profile = ProfileChange {
                    email,
                    display_name,
                    ..Default::default()
                };
                repo::update_profile(&tx, user_id, &profile, now)?;
                let user = repo::find_user(&tx, user_id)?.ok_or(UserError::NotFound)?;
                tx.commit()?;
                Ok(user)
            })
            .await?;
        self.forget_user(user_id);
        if change.is_active == Some(false) {
            self.end_sessions(user_id, None, "deactivated").await?;
        }
        if let Some(pw) = change.password {
            let keep = (user_id == caller.user_id).then_some(caller.session_id);
            self.reset_password(user_id, &pw, keep).await?;
        }
        Ok(user)
    }

    /// Checks that `user_id` exists and may be deleted: not the last active admin, and owning
    /// no photos unless they are to be purged.
    pub fn avatar_path(&self, user_id: UserId) -> PathBuf {
        self.avatar_dir.join(format!("{user_id}.jpg"))
    }
}

/// Whether `user_id` may be deleted: they exist, are not the last active admin, and own no
/// photos unless `purge`.
pub fn deletable(
    conn: &rusqlite::Connection,
    user_id: UserId,
    purge: bool,
) -> Result<(), AppError> {
    let target = repo::find_user(conn, user_id)?.ok_or(UserError::NotFound)?;
    if target.role == Role::Admin && target.is_active && repo::count_active_admins(conn)? <= 1 {
        return Err(UserError::LastAdmin.into());
    }
    if !purge && repo::count_photos(conn, user_id)? > 0 {
        return Err(UserError::OwnsPhotos.into());
    }
    Ok(())
}
