//! Which error statuses an operation answers, as the OpenAPI document lists them.
//!
//! A handler names the statuses of its own outcomes in its return type,
//! `Reply<Ok<Album>, (Forbidden, NotFound)>`; `Documented` adds the statuses that every
//! operation of its shape answers, read from the operation itself: 400 where it has parameters
//! or a body, 401 where it takes a token, 413 and 422 where it has a body, and 429 and 500
//! everywhere (every `/api/v1` route is rate limited). So the document lists exactly what an
//! operation can answer, and adding an operation means naming only its own outcomes.

use std::collections::HashMap;
use std::marker::PhantomData;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::registry::{
    MetaApi, MetaHeader, MetaMediaType, MetaOperation, MetaResponse, MetaResponses, MetaSchema,
    MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use super::error::{ApiError, ErrorBody};
use crate::error::AppError;

/// One error status with what it means in this API (API.md §1.1).
pub trait ErrorStatus {
    const STATUS: u16;
    const DESCRIPTION: &'static str;
}

macro_rules! error_statuses {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl ErrorStatus for $name {
            const STATUS: u16 = $status;
            const DESCRIPTION: &'static str = $description;
        }

        impl StatusSet for $name {
            fn statuses() -> Vec<(u16, &'static str)> {
                vec![($status, $description)]
            }
        }
    )*};
}

error_statuses! {
    BadRequest = 400, "VALIDATION_ERROR: a malformed path or query parameter, or a body that \
        is not JSON (or not multipart where an upload is expected)";
    /// For operations without a token that still answer 401 (login, refresh).
    Unauthorized = 401, "AUTHENTICATION_REQUIRED, INVALID_TOKEN or TOKEN_EXPIRED: a missing, \
        malformed, expired or revoked access token; INVALID_CREDENTIALS at login";
    Forbidden = 403, "PERMISSION_DENIED: the caller may see the resource but not do this to it";
    NotFound = 404, "RESOURCE_NOT_FOUND: it does not exist, or the caller may not see it";
    Conflict = 409, "RESOURCE_CONFLICT: the request conflicts with the current state";
    TooLarge = 413, "PAYLOAD_TOO_LARGE: a JSON body over 1 MB, or a file over its limit";
    UnsupportedMedia = 415, "UNSUPPORTED_MEDIA_TYPE: the file is not a supported image \
        (decided by its content)";
    PreconditionFailed = 412, "An `If-Match` or `If-Unmodified-Since` precondition failed";
    RangeNotSatisfiable = 416, "The requested range lies outside the file";
    Invalid = 422, "VALIDATION_ERROR: a field is missing or invalid; `error.details` names \
        each field";
    TooManyRequests = 429, "RATE_LIMIT_EXCEEDED: retry after `Retry-After` seconds";
    InternalError = 500, "INTERNAL_SERVER_ERROR: a bug or a failing disk; the body says \
        nothing more";
    InsufficientStorage = 507, "INSUFFICIENT_STORAGE: the disk is full or below \
        `storage.min_free_mb`";
}

/// A set of error statuses: one status, `()` for none, or a tuple of them.
pub trait StatusSet {
    fn statuses() -> Vec<(u16, &'static str)>;
}

impl StatusSet for () {
    fn statuses() -> Vec<(u16, &'static str)> {
        Vec::new()
    }
}

macro_rules! status_tuples {
    ($(($($t:ident),+))*) => {$(
        impl<$($t: ErrorStatus),+> StatusSet for ($($t,)+) {
            fn statuses() -> Vec<(u16, &'static str)> {
                vec![$(($t::STATUS, $t::DESCRIPTION)),+]
            }
        }
    )*};
}

status_tuples! {
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
}

/// An error answer of an operation whose own outcomes are the statuses `S` (those common to
/// its shape are added by `Documented`).
pub struct Fail<S>(pub ApiError, PhantomData<fn() -> S>);

/// What a handler returns: a success `T` or one of the error statuses `S`.
pub type Reply<T, S = ()> = Result<T, Fail<S>>;

impl<S> From<ApiError> for Fail<S> {
    fn from(error: ApiError) -> Self {
        Fail(error, PhantomData)
    }
}

impl<S> From<AppError> for Fail<S> {
    fn from(error: AppError) -> Self {
        Fail(ApiError::from(error), PhantomData)
    }
}

impl<S> From<Fail<S>> for poem::Error {
    fn from(fail: Fail<S>) -> Self {
        poem::Error::from(fail.0)
    }
}

fn error_response(status: u16, description: &'static str) -> MetaResponse {
    MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json; charset=utf-8",
            schema: ErrorBody::schema_ref(),
        }],
        headers: Vec::new(),
    }
}

impl<S: StatusSet> ApiResponse for Fail<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::statuses()
                .into_iter()
                .map(|(status, description)| error_response(status, description))
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// The APIs `A` with the statuses of each operation's shape added to its responses.
pub struct Documented<A>(pub A);

impl<A: OpenApi> OpenApi for Documented<A> {
    fn meta() -> Vec<MetaApi> {
        let mut apis = A::meta();
        for path in apis.iter_mut().flat_map(|api| api.paths.iter_mut()) {
            for operation in &mut path.operations {
                add_common_statuses(operation);
            }
        }
        apis
    }

    fn register(registry: &mut Registry) {
        A::register(registry);
        ErrorBody::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        self.0.add_routes(route_table);
    }
}

/// The statuses any operation of this shape may answer, besides its own.
fn common_statuses(operation: &MetaOperation) -> Vec<(u16, &'static str)> {
    let mut statuses = Vec::new();
    if !operation.params.is_empty() || operation.request.is_some() {
        statuses.push((BadRequest::STATUS, BadRequest::DESCRIPTION));
    }
    if !operation.security.is_empty() {
        statuses.push((Unauthorized::STATUS, Unauthorized::DESCRIPTION));
    }
    if operation.request.is_some() {
        statuses.push((TooLarge::STATUS, TooLarge::DESCRIPTION));
        statuses.push((Invalid::STATUS, Invalid::DESCRIPTION));
    }
    statuses.push((TooManyRequests::STATUS, TooManyRequests::DESCRIPTION));
    statuses.push((InternalError::STATUS, InternalError::DESCRIPTION));
    statuses
}

fn add_common_statuses(operation: &mut MetaOperation) {
    for (status, description) in common_statuses(operation) {
        let responses = &mut operation.responses.responses;
        if responses.iter().all(|r| r.status != Some(status)) {
            responses.push(error_response(status, description));
        }
    }
    for response in &mut operation.responses.responses {
        if response.status == Some(TooManyRequests::STATUS) {
            response.headers = vec![retry_after()];
        }
    }
    operation
        .responses
        .responses
        .sort_by_key(|r| r.status.unwrap_or(u16::MAX));
}

fn retry_after() -> MetaHeader {
    let mut schema = MetaSchema::new_with_format("integer", "int64");
    schema.minimum = Some(0.0);
    MetaHeader {
        name: "Retry-After".into(),
        description: Some("Seconds until the limit resets.".into()),
        required: true,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(schema)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        serde_json::from_str(&crate::api::openapi().spec()).unwrap()
    }

    fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        responses.keys().cloned().collect()
    }

    #[test]
    fn every_operation_lists_the_statuses_of_its_shape() {
        let doc = document();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, op) in operations.as_object().unwrap() {
                let has = |s: &str| op["responses"].get(s).is_some();
                let body = op.get("requestBody").is_some();
                let input = body || op.get("parameters").is_some();
                let token = op.get("security").is_some();
                let name = format!("{method} {path}");
                assert!(has("429") && has("500"), "{name}");
                assert_eq!(has("400"), input, "{name}");
                assert_eq!(has("413"), body, "{name}");
                assert!(!body || has("422"), "{name}");
                assert!(!token || has("401"), "{name}");
            }
        }
    }

    #[test]
    fn operations_list_only_what_they_answer() {
        let doc = document();
        assert_eq!(statuses(&doc, "/", "get"), ["200", "429", "500"]);
        assert_eq!(
            statuses(&doc, "/auth/login", "post"),
            ["200", "400", "401", "403", "413", "422", "429", "500"]
        );
        assert_eq!(
            statuses(&doc, "/users/{id}/avatar", "get"),
            ["200", "304", "400", "404", "429", "500"]
        );
        assert_eq!(
            statuses(&doc, "/photos/{id}/like", "post"),
            ["200", "400", "401", "404", "429", "500"]
        );
        let retry = &doc["paths"]["/stats"]["get"]["responses"]["429"]["headers"]["Retry-After"];
        assert_eq!(retry["required"], true);
    }
}
