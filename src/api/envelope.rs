//! The success envelope `{code, message, data}`, paginated lists, and the JSON body extractor
//! that turns parse failures into 400 (malformed) or 422 (a field is missing or of the wrong type).

use poem::http::StatusCode;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest JSON request body (API.md §1).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// A success response: `{code: S, message: "OK", data}`.
pub struct Envelope<T, const S: u16>(pub T);

pub type Ok<T> = Envelope<T, 200>;
pub type Created<T> = Envelope<T, 201>;
pub type Accepted<T> = Envelope<T, 202>;

/// `data: null`.
pub type Empty = Ok<Option<bool>>;

pub fn empty() -> Empty {
    Envelope(None)
}

fn message(status: u16) -> &'static str {
    match status {
        201 => "Created",
        202 => "Accepted",
        _ => "OK",
    }
}

impl<T: ToJSON, const S: u16> IntoResponse for Envelope<T, S> {
    fn into_response(self) -> Response {
        // `{"code":S,"message":"…","data":…}` as serde_json writes it, with `data` from
        // `to_json_string` so a type can write itself without a `Value` tree.
        let body = format!(
            r#"{{"code":{S},"message":"{}","data":{}}}"#,
            message(S),
            self.0.to_json_string()
        );
        Response::builder()
            .status(StatusCode::from_u16(S).unwrap_or(StatusCode::OK))
            .header(
                poem::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body)
    }
}

impl<T: ToJSON, const S: u16> ApiResponse for Envelope<T, S> {
    fn meta() -> MetaResponses {
        let mut schema = MetaSchema::new("object");
        schema.properties = vec![
            ("code", u16::schema_ref()),
            ("message", String::schema_ref()),
            ("data", T::schema_ref()),
        ];
        schema.required = vec!["code", "message", "data"];
        MetaResponses {
            responses: vec![MetaResponse {
                description: message(S),
                status: Some(S),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: MetaSchemaRef::Inline(Box::new(schema)),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// One of two responses, for an endpoint that answers differently shaped successes (each
/// documented with its status).
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

impl<A: IntoResponse, B: IntoResponse> IntoResponse for Either<A, B> {
    fn into_response(self) -> Response {
        match self {
            Either::Left(a) => a.into_response(),
            Either::Right(b) => b.into_response(),
        }
    }
}

impl<A: ApiResponse, B: ApiResponse> ApiResponse for Either<A, B> {
    fn meta() -> MetaResponses {
        let mut responses = A::meta().responses;
        responses.extend(B::meta().responses);
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        A::register(registry);
        B::register(registry);
    }
}

#[derive(Debug, Object, serde::Serialize)]
pub struct Pagination {
    pub page: i64,
    pub per_page: i64,
    pub total_items: i64,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_prev: bool,
}

/// A page of a list: `{items, pagination}`.
#[derive(Debug, Object)]
pub struct Page<T: ToJSON + poem_openapi::types::ParseFromJSON> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

/// `page` and `per_page` (aliases `page_size`, `perpage`, `limit`), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 200;

impl Paging {
    /// From the documented parameters, falling back to the aliases in the raw query.
    pub fn from_query(
        page: Option<i64>,
        per_page: Option<i64>,
        req: &Request,
    ) -> Result<Self, ApiError> {
        let per_page = match per_page {
            Some(n) => Some(n),
            None => alias_value(req, &["page_size", "perpage", "limit"])?,
        };
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                "page",
                "must be at least 1",
                "OUT_OF_RANGE",
            ));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                "per_page",
                "must be between 1 and 200",
                "OUT_OF_RANGE",
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn page_of<T: ToJSON + poem_openapi::types::ParseFromJSON>(
        &self,
        items: Vec<T>,
        total: i64,
    ) -> Page<T> {
        let total_pages = if total == 0 {
            0
        } else {
            (total + self.per_page - 1) / self.per_page
        };
        Page {
            items,
            pagination: Pagination {
                page: self.page,
                per_page: self.per_page,
                total_items: total,
                total_pages,
                has_next: self.page < total_pages,
                has_prev: self.page > 1,
            },
        }
    }
}

fn alias_value(req: &Request, names: &[&str]) -> Result<Option<i64>, ApiError> {
    match raw_query_value(req, names) {
        Some((key, value)) => value.parse().map(Some).map_err(|_| {
            ApiError::validation(
                StatusCode::BAD_REQUEST,
                &key,
                "must be an integer",
                "INVALID_FORMAT",
            )
        }),
        None => Ok(None),
    }
}

/// The first of `names` present in the raw query string, with its decoded value: for input
/// aliases that are not documented parameters.
pub fn raw_query_value(req: &Request, names: &[&str]) -> Option<(String, String)> {
    let query = req.uri().query().unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| names.contains(&key.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// A JSON request body of type `T` (documented from `T`'s schema, parsed with serde so that
/// aliases work and the failing field is named).
pub struct JsonBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = read_json_body(body.take()?).await?;
        parse_json(&bytes).map(JsonBody).map_err(Into::into)
    }
}

/// Reads a JSON request body, refusing one over `MAX_JSON_BYTES` with 413.
pub async fn read_json_body(body: poem::Body) -> Result<Vec<u8>, ApiError> {
    let bytes = body
        .into_bytes_limit(MAX_JSON_BYTES)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "JSON body is larger than 1 MB",
            ),
            _ => ApiError::bad_request("could not read the request body"),
        })?;
    Ok(bytes.into())
}

/// 400 when `bytes` is not JSON at all; 422 naming the field when it is JSON of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("a JSON body is required"));
    } else {
        serde_json::from_slice(bytes).map_err(|_| ApiError::bad_request("malformed JSON body"))?
    };
    if !value.is_object() {
        return Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "must be a JSON object",
            "INVALID_TYPE",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.inner().to_string();
        let (field, message, code) = if let Some(name) = missing_field(&inner) {
            (name, "is required".to_string(), "REQUIRED")
        } else {
            (
                e.path().to_string(),
                describe_type_error(&inner),
                "INVALID_TYPE",
            )
        };
        ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, &field, &message, code)
    })
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// serde's "invalid type: integer `5`, expected a string" → "expected a string".
fn describe_type_error(message: &str) -> String {
    match message.split_once("expected ") {
        Some((_, expected)) => format!("must be {expected}"),
        None => "has an invalid value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        #[serde(alias = "pw")]
        password: String,
        remember: Option<bool>,
    }

    #[test]
    fn malformed_json_is_400() {
        let e = parse_json::<Login>(b"{\"username\": ").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn missing_field_is_422_and_named() {
        let e = parse_json::<Login>(br#"{"username":"ann"}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.details[0].field, "password");
        assert_eq!(e.details[0].code, "REQUIRED");
    }

    #[test]
    fn wrong_type_is_422_and_named() {
        let e = parse_json::<Login>(br#"{"username":"ann","password":"x","remember":"yes"}"#)
            .unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.details[0].field, "remember");
        assert!(
            e.details[0].message.starts_with("must be"),
            "{}",
            e.details[0].message
        );
    }

    #[test]
    fn aliases_are_accepted() {
        let l = parse_json::<Login>(br#"{"username":"ann","pw":"secret"}"#).unwrap();
        assert_eq!(l.password, "secret");
    }

    #[test]
    fn pagination_arithmetic() {
        let p = Paging {
            page: 2,
            per_page: 20,
        };
        let page = p.page_of(vec![1i64], 41);
        assert_eq!(page.pagination.total_pages, 3);
        assert!(page.pagination.has_next && page.pagination.has_prev);
        assert_eq!(p.offset(), 20);
        assert_eq!(
            Paging {
                page: 1,
                per_page: 20
            }
            .page_of(Vec::<i64>::new(), 0)
            .pagination
            .total_pages,
            0
        );
    }

    #[tokio::test]
    async fn the_envelope_is_written_as_serde_json_writes_it() {
        async fn body_of<T: ToJSON, const S: u16>(e: Envelope<T, S>) -> (StatusCode, String) {
            let resp = e.into_response();
            let status = resp.status();
            assert_eq!(
                resp.headers()[poem::http::header::CONTENT_TYPE],
                "application/json; charset=utf-8"
            );
            (status, resp.into_body().into_string().await.unwrap())
        }
        let page = Paging {
            page: 1,
            per_page: 20,
        }
        .page_of(vec!["a \"quoted\" \u{e9}".to_string()], 1);
        let expected =
            serde_json::json!({"code": 201, "message": "Created", "data": page.to_json()});
        let created: Created<_> = Envelope(page);
        assert_eq!(
            body_of(created).await,
            (StatusCode::CREATED, expected.to_string())
        );
        assert_eq!(
            body_of(empty()).await,
            (
                StatusCode::OK,
                r#"{"code":200,"message":"OK","data":null}"#.to_string()
            )
        );
    }
}
