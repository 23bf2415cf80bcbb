//! `/api/v1/auth`: register, login, refresh, logout, me, password.

use poem::web::Data;
use poem::Request;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::envelope::{empty, Created, Empty, Envelope, JsonBody, Ok};
use super::error::ApiError;
use super::security::{client_info, BearerAuth};
use super::users::UserResponse;
use super::ApiTags;
use crate::app::AppState;
use crate::auth::users::NewAccount;
use crate::auth::TokenPair;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Object, Deserialize)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`, unique case-insensitively.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    pub email: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Object, Deserialize)]
pub struct RefreshRequest {
    /// Alias: `refresh`.
    #[serde(alias = "refresh")]
    pub refresh_token: String,
}

#[derive(Debug, Object, Deserialize)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    /// At least 8 characters.
    pub new_password: String,
}

#[derive(Debug, Object)]
pub struct AuthResponse {
    pub user: UserResponse,
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
}

#[derive(Debug, Object)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

fn auth_response(user: UserResponse, tokens: TokenPair) -> AuthResponse {
    AuthResponse {
        user,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        token_type: "Bearer".into(),
        expires_in: tokens.expires_in,
    }
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Create an account (public). The first user ever becomes admin. Refused with 403 when
    /// `auth.registration = "closed"`, except while no user exists. Rate limited per client IP
    /// and username.
    #[oai(path = "/register", method = "post")]
    async fn register(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<RegisterRequest>,
    ) -> Result<Created<AuthResponse>> {
        let body = body.0;
        let account = NewAccount {
            username: body.username,
            password: body.password,
            email: body.email.filter(|e| !e.trim().is_empty()),
            role: None,
        };
        let registration = state.config().auth.registration;
        let (user, tokens) = state
            .accounts()
            .register(account, registration, client_info(req))
            .await?;
        Result::Ok(Envelope(auth_response(user.into(), tokens)))
    }

    /// Log in with username and password (public). Rate limited per client IP and username.
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> Result<Ok<AuthResponse>> {
        let (user, tokens) = state
            .accounts()
            .login(&body.0.username, &body.0.password, client_info(req))
            .await?;
        Result::Ok(Envelope(auth_response(user.into(), tokens)))
    }

    /// Exchange a refresh token for a new pair (public). The presented token dies; presenting a
    /// used one again ends the whole session.
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        body: JsonBody<RefreshRequest>,
    ) -> Result<Ok<TokenResponse>> {
        let tokens = state.accounts().refresh(&body.0.refresh_token).await?;
        Result::Ok(Envelope(TokenResponse {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
        }))
    }

    /// End the caller's session: its access and refresh tokens stop working at once.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, state: Data<&AppState>, auth: BearerAuth) -> Result<Empty> {
        state.accounts().logout(&auth.0).await?;
        Result::Ok(empty())
    }

    /// The caller's account.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> Result<Ok<UserResponse>> {
        let user = state.accounts().get_user(auth.0.user_id).await?;
        Result::Ok(Envelope(user.into()))
    }

    /// Change the caller's password; every other session of the caller ends. A wrong
    /// `old_password` is a 422 on that field.
    #[oai(path = "/password", method = "put")]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ChangePasswordRequest>,
    ) -> Result<Empty> {
        state
            .accounts()
            .change_password(&auth.0, &body.0.old_password, &body.0.new_password)
            .await?;
        Result::Ok(empty())
    }
}
