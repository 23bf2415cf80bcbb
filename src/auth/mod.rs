//! Accounts: users, passwords, sessions and tokens.

pub mod avatar;
pub mod password;
pub mod repo;
pub mod rules;
pub mod session_cache;
pub mod sessions;
pub mod tokens;
pub mod users;

use crate::db::ids::{FamilyId, SessionId, UserId};
use std::path::PathBuf;
use std::time::Duration;

use crate::db::Db;
use session_cache::SessionCache;
use tokens::TokenKeys;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    MissingToken,
    #[error("invalid token")]
    InvalidToken,
    #[error("token expired")]
    TokenExpired,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("this account is deactivated")]
    AccountDisabled,
    #[error("registration is closed; ask an administrator for an account")]
    RegistrationClosed,
    #[error("administrator role required")]
    AdminOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("session not found")]
    SessionNotFound,
    #[error("username is already taken")]
    UsernameTaken,
    #[error("the last active administrator cannot be demoted, deactivated or deleted")]
    LastAdmin,
    #[error("user still owns photos; pass purge=true to delete them too")]
    OwnsPhotos,
    #[error("an administrator cannot delete their own account")]
    DeleteSelf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A user as stored, without the password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub family_id: Option<FamilyId>,
    pub created_at: i64,
    pub updated_at: i64,
    pub storage_used_bytes: i64,
}

/// The authenticated principal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), AuthError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AuthError::AdminOnly)
        }
    }
}

/// Where a login comes from, kept on the session for the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// The account service: everything the API and the CLI do with users and sessions.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    keys: TokenKeys,
    cache: SessionCache,
    access_ttl: Duration,
    refresh_ttl: Duration,
    avatar_dir: PathBuf,
}

impl Accounts {
    pub fn new(
        db: Db,
        keys: TokenKeys,
        access_ttl: Duration,
        refresh_ttl: Duration,
        avatar_dir: PathBuf,
    ) -> Self {
        Self {
            db,
            keys,
            cache: SessionCache::default(),
            access_ttl,
            refresh_ttl,
            avatar_dir,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }
}

/// Runs CPU-heavy password work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::error::AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("blocking task failed: {e}")))
}
