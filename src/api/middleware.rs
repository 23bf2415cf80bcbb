//! Request logging and rate limiting.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::error::ApiError;
use super::security::client_ip;
use crate::app::AppState;
use crate::auth::tokens::TokenKind;
use crate::ratelimit::Decision;

/// One line per request: method, path (never the query, which may carry signatures), status
/// and duration. Tokens and passwords never reach the log.
pub async fn log_request<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    log::debug!("{method} {path} started");
    let resp = next.get_response(req).await;
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        log::error!("{method} {path} {status} {ms:.1}ms");
    } else {
        log::info!("{method} {path} {status} {ms:.1}ms");
    }
    Ok(resp)
}

enum LimitClass {
    Login,
    Upload,
    General,
    Exempt,
}

fn limit_class(method: &Method, path: &str) -> LimitClass {
    if !path.starts_with("/api/v1") {
        return LimitClass::Exempt;
    }
    match (method, path) {
        (&Method::POST, "/api/v1/auth/login" | "/api/v1/auth/register") => LimitClass::Login,
        (&Method::PUT, "/api/v1/users/me/avatar")
        | (&Method::POST, "/api/v1/photos")
        | (&Method::POST, "/api/v1/uploads") => LimitClass::Upload,
        _ => LimitClass::General,
    }
}

/// Applies the limits of API.md §1.3 and adds the `X-RateLimit-*` headers.
pub async fn rate_limit<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let Some(state) = req.data::<AppState>().cloned() else {
        return Ok(next.get_response(req).await);
    };
    let limits = state.config().limits.clone();
    let ip = client_ip(&req).unwrap_or_default();
    let (key, limit) = match limit_class(req.method(), req.uri().path()) {
        LimitClass::Exempt => return Ok(next.get_response(req).await),
        LimitClass::Login => {
            let username = match peek_username(&mut req).await {
                Ok(name) => name,
                Err(e) => return Ok(e.into_response()),
            };
            (format!("login:{ip}:{username}"), limits.login_per_minute)
        }
        LimitClass::Upload => (
            format!("upload:{}", identity(&state, &req, &ip)),
            limits.upload_per_minute,
        ),
        LimitClass::General => (
            format!("req:{}", identity(&state, &req, &ip)),
            limits.requests_per_minute,
        ),
    };
    let decision = state.limiter().check(key, limit);
    let mut resp = if decision.allowed {
        next.get_response(req).await
    } else {
        let mut api = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!("too many requests; retry in {} s", decision.reset_secs),
        );
        api.retry_after = Some(decision.reset_secs);
        api.into_response()
    };
    add_headers(&mut resp, &decision);
    Ok(resp)
}

fn add_headers(resp: &mut Response, d: &Decision) {
    let headers = resp.headers_mut();
    headers.insert("X-RateLimit-Limit", d.limit.into());
    headers.insert("X-RateLimit-Remaining", d.remaining.into());
    headers.insert("X-RateLimit-Reset", d.reset_secs.into());
}

/// The user of a validly signed access token, else the client IP. Only the signature is
/// checked here; the endpoint checks the session.
fn identity(state: &AppState, req: &Request, ip: &str) -> String {
    req.header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|token| {
            state
                .accounts()
                .keys()
                .verify(token.trim(), TokenKind::Access)
                .ok()
        })
        .map(|claims| format!("user:{}", claims.sub))
        .unwrap_or_else(|| format!("ip:{ip}"))
}

/// Reads the JSON body for its `username` (lowercased) and puts the body back. A body that is
/// not JSON is left for the endpoint to refuse.
async fn peek_username(req: &mut Request) -> Result<String, ApiError> {
    let bytes = super::envelope::read_json_body(req.take_body()).await?;
    let name = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("username")
                .and_then(|u| u.as_str())
                .map(str::to_lowercase)
        })
        .unwrap_or_default();
    req.set_body(bytes);
    Ok(name)
}
