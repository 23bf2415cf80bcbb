//! `/health`, `/` and `/api/v1`: service information.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, IntoResponse, Response};
use poem_openapi::{Object, OpenApi};

use super::envelope::{Envelope, Ok};
use super::{timestamp, ApiTags};
use crate::app::AppState;
use crate::config::Registration;

#[derive(Debug, Object)]
pub struct ApiInfo {
    pub name: String,
    pub version: String,
    /// Server time (RFC 3339, UTC).
    pub time: String,
    pub features: Features,
}

/// Which optional features this server runs.
#[derive(Debug, Object)]
pub struct Features {
    /// AI tagging of photos (`tagging.enabled`).
    pub tagging: bool,
    /// Mirroring originals to remote storage (not built into this version yet).
    pub mirror: bool,
    /// Watched import folders (not built into this version yet).
    pub import: bool,
    /// Whether `POST /auth/register` accepts new users.
    pub registration: bool,
}

pub fn api_info(state: &AppState) -> ApiInfo {
    let config = state.config();
    ApiInfo {
        name: "photox".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        time: timestamp(crate::db::now()),
        features: Features {
            tagging: state.processing().tagger().is_some(),
            mirror: false,
            import: false,
            registration: config.auth.registration == Registration::Open,
        },
    }
}

pub struct SystemApi;

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// Service name, version, time and features (public).
    #[oai(path = "/", method = "get")]
    async fn info(&self, state: Data<&AppState>) -> Ok<ApiInfo> {
        Envelope(api_info(&state))
    }
}

/// `GET /`: the same information as `GET /api/v1`.
#[handler]
pub async fn root(state: Data<&AppState>) -> Response {
    Envelope::<_, 200>(api_info(&state)).into_response()
}

/// `GET /health`: `{"status":"OK"}`, or 503 when the database or the data dir is not writable.
#[handler]
pub async fn health(state: Data<&AppState>) -> Response {
    match state.check_health().await {
        Result::Ok(()) => poem::web::Json(serde_json::json!({"status": "OK"})).into_response(),
        Err(reason) => {
            log::error!("health check failed: {reason}");
            let body = serde_json::json!({"status": "DEGRADED", "reason": reason});
            let mut resp = poem::web::Json(body).into_response();
            resp.set_status(StatusCode::SERVICE_UNAVAILABLE);
            resp
        }
    }
}
