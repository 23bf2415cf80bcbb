//! The HTTP API: one file per resource, the OpenAPI service, and the middleware stack.

pub mod album_models;
pub mod albums;
mod allow;
pub mod auth;
pub mod body_check;
pub mod community;
pub mod envelope;
pub mod error;
pub mod family;
pub mod form_data;
pub mod imports;
mod middleware;
pub mod multipart;
pub mod params;
pub mod photo_batch;
pub mod photo_file_response;
pub mod photo_files;
pub mod photo_models;
pub mod photo_upload;
pub mod photos;
pub mod refined;
pub mod responses;
pub mod search;
pub mod security;
pub mod static_file;
pub mod stats;
pub mod system;
pub mod text;
pub mod timeline;
pub mod tus;
pub mod uploads;
pub mod users;

use poem::endpoint::BoxEndpoint;
use poem::middleware::{CatchPanic, Cors, SetHeader};
use poem::{get, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::app::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Service information
    System,
    /// Registration, login and tokens
    Auth,
    /// Profiles, sessions and user administration
    Users,
    /// The photo library: uploads, files, trash
    Photos,
    /// Nested albums, their photos, covers, sharing and likes
    Albums,
    /// Families: invite codes, members, what they share
    Family,
    /// Public albums and photos, no login needed
    Community,
    /// Full-text search with facets, and tags
    Search,
    /// Photos by year and month
    Timeline,
    /// Statistics and administration
    Admin,
}

pub type Apis = responses::Documented<(
    system::SystemApi,
    auth::AuthApi,
    users::UsersApi,
    photos::PhotosApi,
    photo_batch::PhotoBatchApi,
    photo_files::PhotoFilesApi,
    albums::AlbumsApi,
    family::FamilyApi,
    community::CommunityApi,
    timeline::TimelineApi,
    search::SearchApi,
    stats::StatsApi,
    imports::ImportsApi,
)>;

/// The OpenAPI service of every endpoint, mounted at `/api/v1`.
pub fn openapi() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        responses::Documented((
            system::SystemApi,
            auth::AuthApi,
            users::UsersApi,
            photos::PhotosApi,
            photo_batch::PhotoBatchApi,
            photo_files::PhotoFilesApi,
            albums::AlbumsApi,
            family::FamilyApi,
            community::CommunityApi,
            timeline::TimelineApi,
            search::SearchApi,
            stats::StatsApi,
            imports::ImportsApi,
        )),
        "Photox API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .server("/api/v1")
}

/// The document's introduction: conventions every operation follows.
const DESCRIPTION: &str = "Self-hosted photo daemon (API.md is the contract).

* Every JSON response except `/health` is wrapped in `{code, message, data}`, `code` equal to \
the HTTP status; `data` is `null` where there is nothing to return. Errors are \
`{code, message, error: {type, details}}`; `details` (one entry per invalid field) is present \
only on validation errors that can name a field.
* Each operation lists exactly the statuses it can answer. Besides its own, that is 400 for a \
malformed parameter or body where it takes any, 401 where it reads a token, 413 and 422 where \
it takes a body, 429 (rate limits, with `Retry-After`) and 500 everywhere. A method a path does \
not have answers 405 `METHOD_NOT_ALLOWED`.
* Input aliases (e.g. `name` for an album's `title`, `limit` for `per_page`, `ordering` for \
`sort`) are accepted but not listed; output always uses the canonical names.
* Lists take `page` (from 1) and `per_page` (1–200, default 20) and answer \
`{items, pagination}`.
* Text limits count characters (Unicode scalar values), not bytes.
* Resumable uploads speak the tus 1.0.0 protocol at `/api/v1/uploads` (API.md §5.1; extensions \
creation, creation-with-upload, creation-defer-length, termination, expiration, checksum, \
concatenation). Being tus's own binary protocol, those routes are served beside this document, \
not in it: any tus client (tus-js-client, Uppy, tuspy) uploads with the bearer token, and the \
request that delivers the last byte answers `Photo-Id` (and `Photo-Duplicate: true`); \
`GET /photos/{id}` then shows the photo as if it had been sent to `POST /photos`.";

/// The whole HTTP application for `state`.
pub fn build(state: AppState) -> BoxEndpoint<'static> {
    let service = openapi();
    let spec = service.spec_endpoint();
    let allow = std::sync::Arc::new(allow_table(&service));
    let docs = service.swagger_ui();
    let config = state.config();
    let origins = config.server.cors_origins.clone();
    let cors = Cors::new()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
        .allow_headers(["authorization", "content-type", "if-none-match", "range"])
        .allow_headers(tus::REQUEST_HEADERS.iter().copied())
        .expose_headers([
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
            "etag",
            "content-disposition",
        ])
        .expose_headers(tus::ANSWER_HEADERS.iter().copied())
        .max_age(600);
    Route::new()
        .at("/", get(system::root))
        .at("/health", get(system::health))
        .at("/api/v1/openapi.json", get(spec))
        // tus speaks its own protocol beside the OpenAPI document (see `uploads`).
        .at(tus::UPLOADS_PATH, uploads::collection)
        .at(format!("{}/:id", tus::UPLOADS_PATH), uploads::resource)
        .nest("/api/docs", docs)
        .nest("/api/v1", service)
        .catch_all_error(|e| async move { error::envelope_for_poem_error(e) })
        .around(move |next, req| allow::add_allow_header(allow.clone(), next, req))
        .with(CatchPanic::new().with_handler(|_| error::ApiError::internal().into_response()))
        .around(middleware::rate_limit)
        .with_if(!origins.is_empty(), cors)
        .with(
            SetHeader::new()
                .overriding("X-Content-Type-Options", "nosniff")
                .overriding("X-Frame-Options", "DENY")
                .overriding("Referrer-Policy", "no-referrer"),
        )
        .around(middleware::log_request)
        .data(state)
        .boxed()
}

/// Every route and its methods, for the `Allow` header of a 405.
fn allow_table(service: &OpenApiService<Apis, ()>) -> allow::AllowTable {
    let mut table = allow::AllowTable::from_spec(&service.spec(), "/api/v1");
    for path in ["/", "/health", "/api/v1/openapi.json", "/api/docs"] {
        table.add(path, vec!["GET".into()]);
    }
    let methods = |m: &[&str]| m.iter().map(|m| m.to_string()).collect();
    table.add(tus::UPLOADS_PATH, methods(&["POST", "OPTIONS"]));
    table.add(
        &format!("{}/{{id}}", tus::UPLOADS_PATH),
        methods(&["HEAD", "PATCH", "DELETE", "OPTIONS"]),
    );
    table
}

/// RFC 3339 in UTC with whole seconds: `2026-01-21T07:42:41Z`.
pub fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
