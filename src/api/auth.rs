//! `/api/v1/auth`: register, login, refresh, logout, me, password.

use poem::web::Data;
use poem::Request;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::envelope::{empty, Created, Empty, Envelope, JsonBody, Ok};
use super::responses::{Conflict, Forbidden, Reply, Unauthorized};
use super::security::{client_info, BearerAuth};
use super::text::{Email, Password, Text, Username};
use super::users::UserResponse;
use super::ApiTags;
use crate::app::AppState;
use crate::auth::users::NewAccount;
use crate::auth::TokenPair;

#[derive(Debug, Object, Deserialize)]
pub struct RegisterRequest {
    pub username: Username,
    pub password: Password,
    /// Optional; null or an empty string for none.
    #[oai(nullable)]
    pub email: Option<Email>,
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
    pub new_password: Password,
}

#[derive(Debug, Object)]
pub struct AuthResponse {
    pub user: UserResponse,
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    #[oai(validator(pattern = "^Bearer$"))]
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
    ) -> Reply<Created<AuthResponse>, (Forbidden, Conflict)> {
        let body = body.0;
        let account = NewAccount {
            username: body.username.into_inner(),
            password: body.password.into_inner(),
            email: body.email.map(Text::into_inner).filter(|e| !e.is_empty()),
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
    /// An unknown user and a wrong password get the same 401; a deactivated account 403.
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> Reply<Ok<AuthResponse>, (Unauthorized, Forbidden)> {
        let (user, tokens) = state
            .accounts()
            .login(&body.0.username, &body.0.password, client_info(req))
            .await?;
        Result::Ok(Envelope(auth_response(user.into(), tokens)))
    }

    /// Exchange a refresh token for a new pair (public). The presented token dies; presenting a
    /// used one again ends the whole session. A dead, expired or malformed token, or one of a
    /// deactivated account, is a 401.
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        body: JsonBody<RefreshRequest>,
    ) -> Reply<Ok<TokenResponse>, Unauthorized> {
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
    async fn logout(&self, state: Data<&AppState>, auth: BearerAuth) -> Reply<Empty> {
        state.accounts().logout(&auth.0).await?;
        Result::Ok(empty())
    }

    /// The caller's account.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> Reply<Ok<UserResponse>> {
        let user = state.accounts().get_user(auth.0.user_id).await?;
        Result::Ok(Envelope(user.into()))
    }

    /// Change the caller's password; every other session of the caller ends. A wrong
    /// `old_password` is a 422 on that field (API.md §3), so this is the one operation where a
    /// request that fits the schema can still be a 422.
    #[oai(path = "/password", method = "put")]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ChangePasswordRequest>,
    ) -> Reply<Empty> {
        state
            .accounts()
            .change_password(&auth.0, &body.0.old_password, &body.0.new_password.0)
            .await?;
        Result::Ok(empty())
    }
}
