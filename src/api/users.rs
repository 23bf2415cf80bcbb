//! `/api/v1/users`: the caller's profile, avatar and sessions; user administration.

use crate::db::ids::{SessionId, UserId};
use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

use super::envelope::{empty, Created, Empty, Envelope, JsonBody, Ok, Page, Paging};
use super::error::ApiError;
use super::multipart::AvatarUpload;
use super::params::{PageNumber, PerPage};
use super::responses::{
    Conflict, Forbidden, InsufficientStorage, NotFound, Reply, UnsupportedMedia,
};
use super::security::BearerAuth;
use super::text::{AvatarUrl, Email, Password, Text, Username};
use super::{timestamp, ApiTags};
use crate::app::AppState;
use crate::auth::repo::ProfileChange;
use crate::auth::sessions::SessionInfo;
use crate::auth::users::{AdminChange, NewAccount};
use crate::auth::{Role, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    User,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::Admin => Role::Admin,
            RoleName::User => Role::User,
        }
    }
}

impl From<Role> for RoleName {
    fn from(r: Role) -> RoleName {
        match r {
            Role::Admin => RoleName::Admin,
            Role::User => RoleName::User,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "User")]
pub struct UserResponse {
    pub id: i64,
    pub username: String,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(nullable)]
    pub display_name: Option<String>,
    #[oai(nullable)]
    pub bio: Option<String>,
    /// Where the avatar is served (`/api/v1/users/{id}/avatar` once one is uploaded).
    #[oai(nullable)]
    pub avatar_url: Option<String>,
    pub role: RoleName,
    pub is_active: bool,
    #[oai(nullable)]
    pub family_id: Option<i64>,
    pub created_at: String,
    pub storage_used_bytes: i64,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.get(),
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            bio: u.bio,
            avatar_url: u.avatar_url,
            role: u.role.into(),
            is_active: u.is_active,
            family_id: u.family_id.map(|f| f.get()),
            created_at: timestamp(u.created_at),
            storage_used_bytes: u.storage_used_bytes,
        }
    }
}

/// Partial update: a field left out or null stays as it is; an empty string clears it.
#[derive(Debug, Object, Deserialize)]
pub struct UpdateProfileRequest {
    #[oai(nullable)]
    pub email: Option<Email>,
    /// At most 64 characters.
    #[oai(nullable, validator(max_length = 64))]
    pub display_name: Option<String>,
    /// At most 1000 characters.
    #[oai(nullable, validator(max_length = 1000))]
    pub bio: Option<String>,
    #[oai(nullable)]
    pub avatar_url: Option<AvatarUrl>,
}

#[derive(Debug, Object, Deserialize)]
pub struct CreateUserRequest {
    pub username: Username,
    pub password: Password,
    /// Optional; null or an empty string for none.
    #[oai(nullable)]
    pub email: Option<Email>,
    /// Default `user`.
    #[oai(nullable)]
    pub role: Option<RoleName>,
}

/// Partial update: a field left out or null stays as it is; an empty string clears the display
/// name or email.
#[derive(Debug, Object, Deserialize)]
pub struct AdminUpdateUserRequest {
    #[oai(nullable)]
    pub role: Option<RoleName>,
    /// `false` ends the user's sessions at once.
    #[oai(nullable)]
    pub is_active: Option<bool>,
    /// At most 64 characters.
    #[oai(nullable, validator(max_length = 64))]
    pub display_name: Option<String>,
    #[oai(nullable)]
    pub email: Option<Email>,
    /// A new password; ends the user's sessions (but the caller's own current one).
    #[oai(nullable)]
    pub password: Option<Password>,
}

#[derive(Debug, Object)]
#[oai(rename = "Session")]
pub struct SessionResponse {
    pub id: i64,
    pub created_at: String,
    pub last_used_at: String,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    #[oai(nullable)]
    pub ip: Option<String>,
    /// The session of the token making this request.
    pub current: bool,
}

impl From<SessionInfo> for SessionResponse {
    fn from(s: SessionInfo) -> Self {
        Self {
            id: s.id.get(),
            created_at: timestamp(s.created_at),
            last_used_at: timestamp(s.last_used_at),
            user_agent: s.user_agent,
            ip: s.ip,
            current: s.current,
        }
    }
}

#[derive(ApiResponse)]
pub enum AvatarResponse {
    /// The avatar as a JPEG (public, so that it works in `<img src>`).
    #[oai(status = 200, content_type = "image/jpeg")]
    Image(
        Binary<Vec<u8>>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
    ),
    /// Unchanged since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

pub struct UsersApi;

#[OpenApi(prefix_path = "/users", tag = "ApiTags::Users")]
impl UsersApi {
    /// The caller's account.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> Reply<Ok<UserResponse>> {
        Result::Ok(Envelope(
            state.accounts().get_user(auth.0.user_id).await?.into(),
        ))
    }

    /// Update the caller's profile (partial): a field left out or null is unchanged, an empty
    /// string clears it.
    #[oai(path = "/me", method = "put")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<UpdateProfileRequest>,
    ) -> Reply<Ok<UserResponse>> {
        let b = body.0;
        let change = ProfileChange {
            email: b.email.map(|e| Some(e.into_inner())),
            display_name: b.display_name.map(Some),
            bio: b.bio.map(Some),
            avatar_url: b.avatar_url.map(|u| Some(u.into_inner())),
        };
        let user = state.accounts().update_profile(&auth.0, change).await?;
        Result::Ok(Envelope(user.into()))
    }

    /// Upload an avatar (multipart part `file`, also `avatar` or `image`; at most 10 MB); it is
    /// centre-cropped to a 256×256 JPEG and served at `GET /users/{id}/avatar`. A file that is
    /// not a supported image answers 415; an image that cannot be decoded 422.
    #[oai(path = "/me/avatar", method = "put")]
    async fn upload_avatar(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        upload: AvatarUpload,
    ) -> Reply<Ok<UserResponse>, (UnsupportedMedia, InsufficientStorage)> {
        let user = state.accounts().set_avatar(&auth.0, upload.0).await?;
        Result::Ok(Envelope(user.into()))
    }

    /// A user's avatar (public: avatars appear beside shared content). 404 when the user has
    /// none (their `avatar_url` is null) or does not exist.
    #[oai(path = "/:id/avatar", method = "get")]
    async fn avatar(
        &self,
        state: Data<&AppState>,
        req: &Request,
        id: Path<i64>,
    ) -> Reply<AvatarResponse, NotFound> {
        let (path, updated) = state.accounts().avatar_file(UserId(id.0)).await?;
        let etag = format!("\"avatar-{}-{updated}\"", id.0);
        if req
            .header("if-none-match")
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
        {
            return Result::Ok(AvatarResponse::NotModified(etag));
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|_| ApiError::not_found("avatar not found"))?;
        Result::Ok(AvatarResponse::Image(
            Binary(bytes),
            etag,
            "public, max-age=3600".into(),
        ))
    }

    /// The caller's live sessions, all on one page (API.md is silent; there are few).
    #[oai(path = "/me/sessions", method = "get")]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Reply<Ok<Page<SessionResponse>>> {
        let sessions = state.accounts().list_sessions(&auth.0).await?;
        let total = sessions.len() as i64;
        let paging = Paging {
            page: 1,
            per_page: total.max(1),
        };
        let items = sessions.into_iter().map(Into::into).collect();
        Result::Ok(Envelope(paging.page_of(items, total)))
    }

    /// End one of the caller's sessions (the current one too); its tokens stop working at once.
    /// 404 for a session that is not the caller's or has ended.
    #[oai(path = "/me/sessions/:id", method = "delete")]
    async fn end_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Empty, NotFound> {
        state
            .accounts()
            .revoke_own_session(&auth.0, SessionId(id.0))
            .await?;
        Result::Ok(empty())
    }

    /// All users (admin only), filtered by `q` on username, display name or email.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// Part of the username, display name or email.
        q: Query<Option<String>>,
        page: Query<Option<PageNumber>>,
        /// Items per page (aliases `page_size`, `perpage`, `limit`).
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<Page<UserResponse>>, Forbidden> {
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let (users, total) = state
            .accounts()
            .list_users(q.0, paging.per_page, paging.offset())
            .await?;
        let items = users.into_iter().map(Into::into).collect();
        Result::Ok(Envelope(paging.page_of(items, total)))
    }

    /// Create a user (admin only); 409 for a taken username.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<CreateUserRequest>,
    ) -> Reply<Created<UserResponse>, (Forbidden, Conflict)> {
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        let b = body.0;
        let account = NewAccount {
            username: b.username.into_inner(),
            password: b.password.into_inner(),
            email: b.email.map(Text::into_inner).filter(|e| !e.is_empty()),
            role: Some(b.role.map(Role::from).unwrap_or(Role::User)),
        };
        let user = state.accounts().create_user(account).await?;
        Result::Ok(Envelope(user.into()))
    }

    /// Change a user's role, active flag, display name, email or password (admin only). The last
    /// active admin cannot be demoted or deactivated (409). A new password ends that user's
    /// sessions. Where API.md is silent: an administrator cannot deactivate their own account
    /// (409), nor set their own password here (403: `PUT /auth/password` does that, and asks
    /// for the old one, so a stolen token cannot take the account over); stepping down to
    /// `user` is allowed while another admin remains.
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: JsonBody<AdminUpdateUserRequest>,
    ) -> Reply<Ok<UserResponse>, (Forbidden, NotFound, Conflict)> {
        let b = body.0;
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        if UserId(id.0) == auth.0.user_id {
            if b.is_active == Some(false) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "RESOURCE_CONFLICT",
                    "an administrator cannot deactivate their own account",
                )
                .into());
            }
            if b.password.is_some() {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "PERMISSION_DENIED",
                    "change your own password with PUT /auth/password",
                )
                .into());
            }
        }
        let change = AdminChange {
            role: b.role.map(Into::into),
            is_active: b.is_active,
            display_name: b.display_name.map(Some),
            email: b.email.map(|e| Some(e.into_inner())),
            password: b.password.map(Text::into_inner),
        };
        let user = state
            .accounts()
            .admin_update(&auth.0, UserId(id.0), change)
            .await?;
        Result::Ok(Envelope(user.into()))
    }

    /// Delete a user (admin only). 409 while the user owns photos unless `purge=true`, which
    /// deletes all of their photos and files too. The last active admin cannot be deleted (409),
    /// nor can an administrator delete their own account (409; API.md is silent).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        /// Also delete everything the user owns.
        purge: Query<Option<bool>>,
    ) -> Reply<Empty, (Forbidden, NotFound, Conflict)> {
        let purge = purge.0.unwrap_or(false);
        state
            .account_removal()
            .delete(&auth.0, UserId(id.0), purge)
            .await?;
        Result::Ok(empty())
    }
}
