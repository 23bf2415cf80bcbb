//! Bearer authentication: the token is checked on every request, session included.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::ApiError;
use crate::app::AppState;
use crate::auth::{Caller, ClientInfo};

/// `Authorization: Bearer <access_token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    state
        .accounts()
        .authenticate(&bearer.token)
        .await
        .map_err(|e| ApiError::from(e).into())
}

/// The client's address and user agent, kept on sessions.
pub fn client_info(req: &Request) -> ClientInfo {
    ClientInfo {
        ip: client_ip(req),
        user_agent: req
            .header("user-agent")
            .map(|ua| ua.chars().take(256).collect()),
    }
}

pub fn client_ip(req: &Request) -> Option<String> {
    req.remote_addr()
        .as_socket_addr()
        .map(|addr| addr.ip().to_string())
}
