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

/// Bearer authentication where it is optional (public content): no header means anonymous, but
/// a header with a bad token is still refused, so clients learn that their token expired.
pub struct OptionalAuth(pub Option<Caller>);

impl<'a> poem_openapi::ApiExtractor<'a> for OptionalAuth {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <BearerAuth as poem_openapi::ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["BearerAuth"]
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(header) = req.header("authorization") else {
            return Ok(OptionalAuth(None));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::from(crate::error::AppError::from(
                    crate::auth::AuthError::InvalidToken,
                ))
            })?;
        let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
        let caller = state
            .accounts()
            .authenticate(token.trim())
            .await
            .map_err(ApiError::from)?;
        Ok(OptionalAuth(Some(caller)))
    }
}
