//! Sessions: login, token issue, refresh with rotation and reuse detection, logout, the
//! per-request token check, and the session list.

use super::tokens::{Claims, TokenKind};
use super::{
    blocking, password, repo, Accounts, AuthError, Caller, ClientInfo, TokenPair, User, UserError,
};
use crate::db::ids::{SessionId, UserId};
use crate::db::now;
use crate::error::AppError;
use crate::jobs::{handler_fn, JobError, JobKind, Jobs, Priority, RetryPolicy};

/// Ended sessions are pruned this often.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The scheduled pruning of sessions that ended long ago.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneSessions {}

impl JobKind for PruneSessions {
    const NAME: &'static str = "prune_sessions";
    const PRIORITY: Priority = Priority::LOW;
    // The next hourly run tries again anyway.
    const RETRY: RetryPolicy = RetryPolicy::attempts(3);
}

/// How often `last_used_at` is written for a session in use.
const TOUCH_EVERY_SECS: i64 = 60;

/// 128 random bits, hex: the secret every token of a new session carries.
fn new_session_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A session as listed to its user.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: SessionId,
    pub created_at: i64,
    pub last_used_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub current: bool,
}

impl Accounts {
    /// Checks username and password and opens a session. Unknown user and wrong password give
    /// the same error after the same work.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: ClientInfo,
    ) -> Result<(User, TokenPair), AppError> {
        let name = username.to_string();
        let found = self
            .db()
            .run(move |conn| Ok(repo::find_login(conn, &name)?))
            .await?;
        let password = password.to_string();
        let Some((user, hash)) = found else {
            blocking(move || password::burn_verification_time(&password)).await?;
            return Err(AuthError::InvalidCredentials.into());
        };
        if !blocking(move || password::verify_password(&password, &hash)).await? {
            return Err(AuthError::InvalidCredentials.into());
        }
        if !user.is_active {
            return Err(AuthError::AccountDisabled.into());
        }
        let tokens = self.open_session(user.id, client).await?;
        Ok((user, tokens))
    }

    /// Opens a new session for `user_id` and issues its first token pair.
    pub async fn open_session(
        &self,
        user_id: UserId,
        client: ClientInfo,
    ) -> Result<TokenPair, AppError> {
        let refresh_ttl = self.refresh_ttl.as_secs() as i64;
        let secret = new_session_secret();
        let key = secret.clone();
        let (session_id, expires_at) = self
            .db()
            .run(move |conn| {
                let now = now();
                let expires_at = now + refresh_ttl;
                let id = repo::insert_session(
                    conn,
                    user_id,
                    &key,
                    now,
                    expires_at,
                    client.user_agent.as_deref(),
                    client.ip.as_deref(),
                )?;
                Ok((id, expires_at))
            })
            .await?;
        self.issue_pair(user_id, session_id, &secret, 0, expires_at)
    }

    fn issue_pair(
        &self,
        user_id: UserId,
        session_id: SessionId,
        secret: &str,
        generation: i64,
        refresh_expires_at: i64,
    ) -> Result<TokenPair, AppError> {
        let now = now();
        let access_ttl = self.access_ttl.as_secs() as i64;
        let access = Claims {
            sub: user_id.to_string(),
            sid: session_id.get(),
            sk: secret.to_string(),
            typ: TokenKind::Access,
            gen: None,
            iat: now,
            exp: now + access_ttl,
        };
        let refresh = Claims {
            sub: user_id.to_string(),
            sid: session_id.get(),
            sk: secret.to_string(),
            typ: TokenKind::Refresh,
            gen: Some(generation),
            iat: now,
            exp: refresh_expires_at,
        };
        Ok(TokenPair {
            access_token: self.keys().issue(&access)?,
            refresh_token: self.keys().issue(&refresh)?,
            expires_in: access_ttl as u64,
        })
    }

    /// Exchanges a refresh token for a new pair. The presented token dies; presenting a dead one
    /// again revokes the whole session (it was probably stolen).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AppError> {
        let claims = self.keys().verify(refresh_token, TokenKind::Refresh)?;
        let user_id = claims.user_id()?;
        let generation = claims.gen.ok_or(AuthError::InvalidToken)?;
        let refresh_ttl = self.refresh_ttl.as_secs() as i64;
        let sid = SessionId(claims.sid);
        let secret = claims.sk.clone();
        let outcome = self
            .db()
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let now = now();
                let session = repo::find_session(&tx, sid)?
                    .filter(|s| s.user_id == user_id && s.secret == secret)
                    .ok_or(AuthError::InvalidToken)?;
                if session.revoked || session.expires_at <= now {
                    return Err(AuthError::InvalidToken.into());
                }
                let active = repo::find_user(&tx, user_id)?.is_some_and(|u| u.is_active);
                if !active {
                    return Err(AuthError::InvalidToken.into());
                }
                let expires_at = now + refresh_ttl;
                if !repo::rotate_refresh(&tx, sid, generation, now, expires_at)? {
                    repo::revoke_session(&tx, sid, "refresh token reused", now)?;
                    tx.commit()?;
                    return Ok(None);
                }
                tx.commit()?;
                Ok(Some(expires_at))
            })
            .await?;
        match outcome {
            Some(expires_at) => {
                self.issue_pair(user_id, sid, &claims.sk, generation + 1, expires_at)
            }
            None => {
                log::warn!("refresh token reused for session {sid}; session revoked");
                self.cache.evict_sessions(&[sid]);
                Err(AuthError::InvalidToken.into())
            }
        }
    }

    /// Resolves an access token to its caller, checking that the session is still live.
    pub async fn authenticate(&self, access_token: &str) -> Result<Caller, AppError> {
        let claims = self.keys().verify(access_token, TokenKind::Access)?;
        let user_id = claims.user_id()?;
        let sid = SessionId(claims.sid);
        if let Some((cached_user, role)) = self.cache.get(sid, &claims.sk) {
            if cached_user == user_id {
                return Ok(Caller {
                    user_id,
                    session_id: sid,
                    role,
                });
            }
            return Err(AuthError::InvalidToken.into());
        }
        let epoch = self.cache.epoch();
        let secret = claims.sk.clone();
        let live = self
            .db()
            .run(move |conn| {
                let now = now();
                let live = repo::find_live_session(conn, sid, &secret, now)?;
                if let Some((_, _, last_used)) = live {
                    if now - last_used >= TOUCH_EVERY_SECS {
                        repo::touch_session(conn, sid, now)?;
                    }
                }
                Ok(live)
            })
            .await?;
        match live {
            Some((owner, role, _)) if owner == user_id => {
                self.cache.put(sid, &claims.sk, user_id, role, epoch);
                Ok(Caller {
                    user_id,
                    session_id: sid,
                    role,
                })
            }
            _ => Err(AuthError::InvalidToken.into()),
        }
    }

    /// Ends the caller's session: its access and refresh tokens both stop working.
    pub async fn logout(&self, caller: &Caller) -> Result<(), AppError> {
        let sid = caller.session_id;
        self.db()
            .run(move |conn| Ok(repo::revoke_session(conn, sid, "logout", now())?))
            .await?;
        self.cache.evict_sessions(&[sid]);
        Ok(())
    }

    pub async fn list_sessions(&self, caller: &Caller) -> Result<Vec<SessionInfo>, AppError> {
        let (user_id, current) = (caller.user_id, caller.session_id);
        let rows = self
            .db()
            .run(move |conn| Ok(repo::list_sessions(conn, user_id, now())?))
            .await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
                ip: s.ip,
                current: s.id == current,
            })
            .collect())
    }

    /// Ends one of the caller's own sessions; another user's session id answers not found.
    pub async fn revoke_own_session(
        &self,
        caller: &Caller,
        session_id: SessionId,
    ) -> Result<(), AppError> {
        let user_id = caller.user_id;
        self.db()
            .run(move |conn| {
                let session = repo::find_session(conn, session_id)?
                    .filter(|s| s.user_id == user_id && !s.revoked)
                    .ok_or(UserError::SessionNotFound)?;
                repo::revoke_session(conn, session.id, "revoked by user", now())?;
                Ok(())
            })
            .await?;
        self.cache.evict_sessions(&[session_id]);
        Ok(())
    }

    /// Ends every session of `user_id` but `keep`.
    pub(super) async fn end_sessions(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: &'static str,
    ) -> Result<(), AppError> {
        let ids = self
            .db()
            .run(move |conn| {
                Ok(repo::revoke_user_sessions(
                    conn,
                    user_id,
                    keep,
                    reason,
                    now(),
                )?)
            })
            .await?;
        self.cache.evict_sessions(&ids);
        Ok(())
    }

    /// Drops what the session cache knows of a user (after they were deactivated or deleted).
    pub fn forget_user(&self, user_id: UserId) {
        self.cache.evict_user(user_id);
    }

    /// Deletes sessions that ended more than a week ago.
    pub async fn prune_sessions(&self) -> Result<usize, AppError> {
        self.db()
            .run(|conn| Ok(repo::prune_sessions(conn, now(), 7 * 86400)?))
            .await
    }

    /// Registers the hourly pruning of ended sessions.
    pub fn register_jobs(&self, jobs: &Jobs) {
        let accounts = self.clone();
        jobs.register(handler_fn(move |_: PruneSessions, _| {
            let accounts = accounts.clone();
            async move {
                let pruned = accounts
                    .prune_sessions()
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if pruned > 0 {
                    log::debug!("pruned {pruned} ended sessions");
                }
                Ok(())
            }
        }));
        jobs.schedule(PRUNE_EVERY, PruneSessions {});
    }
}
