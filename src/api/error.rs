//! The one place that maps domain errors to HTTP: status, error `type` and a message that is
//! safe to show. 5xx bodies say nothing internal; the cause goes to the log.

use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::types::ToJSON;
use poem_openapi::Object;

use crate::auth::{AuthError, UserError};
use crate::catalog::PhotoError;
use crate::error::{AppError, FieldError};
use crate::media::MediaError;
use crate::sharing::SharingError;

/// The error envelope of API.md §1.1.
#[derive(Debug, Object)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    /// Equals the HTTP status.
    pub code: u16,
    pub message: String,
    pub error: ErrorInfo,
}

#[derive(Debug, Object)]
pub struct ErrorInfo {
    /// VALIDATION_ERROR, AUTHENTICATION_REQUIRED, INVALID_TOKEN, TOKEN_EXPIRED,
    /// INVALID_CREDENTIALS, PERMISSION_DENIED, RESOURCE_NOT_FOUND, RESOURCE_CONFLICT,
    /// PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, RATE_LIMIT_EXCEEDED, INSUFFICIENT_STORAGE,
    /// INTERNAL_SERVER_ERROR (API.md §1.1), and METHOD_NOT_ALLOWED for a method a path does not
    /// have.
    #[oai(rename = "type")]
    pub kind: String,
    /// Each invalid field; only on VALIDATION_ERROR answers that can name one.
    #[oai(skip_serializing_if_is_empty, default)]
    pub details: Vec<FieldErrorBody>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "FieldError")]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
    pub code: String,
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// Headers the answer needs besides the envelope (e.g. `Content-Range` on a 416).
    pub headers: Vec<(HeaderName, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn validation(status: StatusCode, field: &str, message: &str, code: &'static str) -> Self {
        let mut e = Self::new(status, "VALIDATION_ERROR", format!("{field} {message}"));
        e.details.push(FieldError {
            field: field.into(),
            message: message.into(),
            code,
        });
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "internal server error",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.status.as_u16(),
            message: self.message.clone(),
            error: ErrorInfo {
                kind: self.kind.to_string(),
                details: self
                    .details
                    .iter()
                    .map(|d| FieldErrorBody {
                        field: d.field.clone(),
                        message: d.message.clone(),
                        code: d.code.to_string(),
                    })
                    .collect(),
            },
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        use StatusCode as S;
        let msg = error.to_string();
        let api = match &error {
            AppError::Auth(e) => match e {
                AuthError::MissingToken => {
                    ApiError::new(S::UNAUTHORIZED, "AUTHENTICATION_REQUIRED", msg)
                }
                AuthError::InvalidToken => ApiError::new(S::UNAUTHORIZED, "INVALID_TOKEN", msg),
                AuthError::TokenExpired => ApiError::new(S::UNAUTHORIZED, "TOKEN_EXPIRED", msg),
                AuthError::InvalidCredentials => {
                    ApiError::new(S::UNAUTHORIZED, "INVALID_CREDENTIALS", msg)
                }
                AuthError::AccountDisabled
                | AuthError::RegistrationClosed
                | AuthError::AdminOnly => ApiError::new(S::FORBIDDEN, "PERMISSION_DENIED", msg),
            },
            AppError::User(e) => match e {
                UserError::NotFound | UserError::SessionNotFound => ApiError::not_found(msg),
                UserError::UsernameTaken
                | UserError::LastAdmin
                | UserError::OwnsPhotos
                | UserError::DeleteSelf => ApiError::new(S::CONFLICT, "RESOURCE_CONFLICT", msg),
            },
            AppError::Media(e) => match e {
                MediaError::Unsupported => {
                    ApiError::new(S::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", msg)
                }
                MediaError::TooLarge { .. } => {
                    ApiError::new(S::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", msg)
                }
                MediaError::TooManyPixels { .. } | MediaError::Corrupt => {
                    ApiError::new(S::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", msg)
                }
                MediaError::Io(std::io::ErrorKind::StorageFull) => ApiError::new(
                    S::INSUFFICIENT_STORAGE,
                    "INSUFFICIENT_STORAGE",
                    "not enough free disk space",
                ),
                MediaError::Io(kind) => {
                    log::error!("image file I/O failed: {kind}");
                    ApiError::internal()
                }
            },
            AppError::Photo(e) => match e {
                PhotoError::NotFound
                | PhotoError::RenditionNotReady
                | PhotoError::AlbumNotFound
                | PhotoError::NotInAlbum => ApiError::not_found(msg),
                PhotoError::FileMissing => {
                    log::error!("a photo row has no original file; run `photox verify`");
                    ApiError::not_found(msg)
                }
                PhotoError::NotOwner | PhotoError::NotAlbumContributor => {
                    ApiError::new(S::FORBIDDEN, "PERMISSION_DENIED", msg)
                }
                PhotoError::NotInTrash | PhotoError::InTrash => {
                    ApiError::new(S::CONFLICT, "RESOURCE_CONFLICT", msg)
                }
                PhotoError::InsufficientStorage => {
                    ApiError::new(S::INSUFFICIENT_STORAGE, "INSUFFICIENT_STORAGE", msg)
                }
            },
            AppError::Sharing(e) => match e {
                SharingError::AlbumNotFound
                | SharingError::FamilyNotFound
                | SharingError::NotInFamily
                | SharingError::MemberNotFound => ApiError::not_found(msg),
                SharingError::NotAlbumOwner | SharingError::NotFamilyOwner => {
                    ApiError::new(S::FORBIDDEN, "PERMISSION_DENIED", msg)
                }
                SharingError::AlreadyInFamily => {
                    ApiError::new(S::CONFLICT, "RESOURCE_CONFLICT", msg)
                }
            },
            AppError::Validation(v) => {
                let mut api = ApiError::new(S::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", msg);
                api.details = v.details.clone();
                api
            }
            AppError::RateLimited { retry_after_secs } => {
                let mut api = ApiError::new(S::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED", msg);
                api.retry_after = Some(*retry_after_secs);
                api
            }
            AppError::Io(e) => match client_body_error(e) {
                Some(api) => api,
                None if is_disk_full(e) => ApiError::new(
                    S::INSUFFICIENT_STORAGE,
                    "INSUFFICIENT_STORAGE",
                    "not enough free disk space",
                ),
                None => {
                    log::error!("internal error: {error:#}");
                    ApiError::internal()
                }
            },
            AppError::Db(_) | AppError::Internal(_) => {
                log::error!("internal error: {error:#}");
                ApiError::internal()
            }
        };
        if api.status.is_client_error() {
            log::debug!("client error: {api}");
        }
        api
    }
}

/// A request body that could not be read is the client's doing: it stalled (408), went away
/// or sent a broken body (400). Never a 500, and nothing for the error log.
fn client_body_error(e: &std::io::Error) -> Option<ApiError> {
    use crate::server::RequestBodyError;
    match crate::server::request_body_error(e) {
        Some(RequestBodyError::Stalled) => Some(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "the request body stopped arriving",
        )),
        Some(RequestBodyError::Broken(_)) => {
            Some(ApiError::bad_request("the request body could not be read"))
        }
        None => e
            .get_ref()
            .is_some_and(|inner| inner.is::<super::form_data::FormDataError>())
            .then(super::multipart::malformed),
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        let mut resp = poem::web::Json(self.body().to_json()).into_response();
        resp.set_status(self.status);
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert("Retry-After", secs.into());
        }
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name.clone(), value);
            }
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

/// Turns any error that reached the edge of the router into the envelope: unknown routes,
/// bad query parameters, a missing bearer token, bodies over a limit.
pub fn envelope_for_poem_error(error: poem::Error) -> Response {
    if let Some(api) = error.downcast_ref::<ApiError>() {
        return api.clone().into_response();
    }
    let status = error.status();
    let api = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "METHOD_NOT_ALLOWED",
            "method not allowed on this resource",
        ),
        StatusCode::UNAUTHORIZED => {
            ApiError::new(status, "AUTHENTICATION_REQUIRED", "authentication required")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "PAYLOAD_TOO_LARGE", "request body too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, "UNSUPPORTED_MEDIA_TYPE", "unsupported content type")
        }
        s if s.is_client_error() => param_error(&error),
        _ => {
            log::error!("unhandled error: {error}");
            ApiError::internal()
        }
    };
    api.into_response()
}

/// A parameter that failed to parse: 400 with the parameter named, if poem-openapi told us.
fn param_error(error: &poem::Error) -> ApiError {
    use poem_openapi::error::{ParseParamError, ParsePathError};
    let named = error
        .downcast_ref::<ParseParamError>()
        .map(|e| (e.name, e.reason.as_str()))
        .or_else(|| {
            error
                .downcast_ref::<ParsePathError>()
                .map(|e| (e.name, e.reason.as_str()))
        });
    if let Some((name, reason)) = named {
        let mut api = ApiError::validation(StatusCode::BAD_REQUEST, name, reason, "INVALID_FORMAT");
        api.message = format!("query or path parameter `{name}` is invalid: {reason}");
        return api;
    }
    ApiError::bad_request("malformed request")
}
