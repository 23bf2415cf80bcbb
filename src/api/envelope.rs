//! The success envelope `{code, message, data}`, paginated lists, and the JSON body extractor
//! that turns parse failures into 400 (malformed) or 422 (a field is missing or of the wrong type).

use poem::http::StatusCode;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ParseFromParameter, ToJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::params::{PageNumber, PerPage};

/// Largest JSON request body (API.md §1).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// A success response: `{code: S, message: "OK", data}`.
pub struct Envelope<T, const S: u16>(pub T);

pub type Ok<T> = Envelope<T, 200>;
pub type Created<T> = Envelope<T, 201>;
pub type Accepted<T> = Envelope<T, 202>;

/// `data: null`.
pub type Empty = Ok<Null>;

pub fn empty() -> Empty {
    Envelope(Null)
}

/// The JSON value `null`, documented as exactly that (OpenAPI 3.0 has no `null` type: a
/// nullable schema whose only value is null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Null;

impl Type for Null {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "null".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::ANY;
        schema.nullable = true;
        schema.enum_items = vec![serde_json::Value::Null];
        schema.description = Some("always null");
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ToJSON for Null {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::Null)
    }
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
        let mut code = MetaSchema::new_with_format("integer", "uint16");
        code.enum_items = vec![S.into()];
        code.description = Some("Equals the HTTP status.");
        let mut schema = MetaSchema::new("object");
        schema.properties = vec![
            ("code", MetaSchemaRef::Inline(Box::new(code))),
            ("message", String::schema_ref()),
            ("data", data_schema::<T>()),
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

/// `T`'s schema; nullable when `T` is an `Option` (e.g. `GET /family` without a family).
fn data_schema<T: Type>() -> MetaSchemaRef {
    if T::IS_REQUIRED {
        return T::schema_ref();
    }
    let mut nullable = MetaSchema::ANY;
    nullable.nullable = true;
    T::schema_ref().merge(nullable)
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

impl Paging {
    /// From the documented parameters, falling back to the aliases of `per_page` in the raw
    /// query (checked the same way).
    pub fn from_query(
        page: Option<PageNumber>,
        per_page: Option<PerPage>,
        req: &Request,
    ) -> Result<Self, ApiError> {
        let per_page = match per_page {
            Some(n) => n.0,
            None => match raw_query_value(req, &["page_size", "perpage", "limit"]) {
                Some((key, value)) => {
                    PerPage::parse_from_parameter(&value)
                        .map_err(|e| {
                            ApiError::validation(
                                StatusCode::BAD_REQUEST,
                                &key,
                                e.message(),
                                "OUT_OF_RANGE",
                            )
                        })?
                        .0
                }
                None => DEFAULT_PER_PAGE,
            },
        };
        Ok(Self {
            page: page.map_or(1, |p| p.0),
            per_page,
        })
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

/// The first of `names` present in the raw query string, with its decoded value: for input
/// aliases that are not documented parameters.
pub fn raw_query_value(req: &Request, names: &[&str]) -> Option<(String, String)> {
    let query = req.uri().query().unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| names.contains(&key.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// A JSON request body of type `T` (documented from `T`'s schema, parsed with serde so that
/// aliases work and the failing field is named, then held to the limits of its schema).
pub struct JsonBody<T>(pub T);

impl<'a, T: Type + ToJSON + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
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
        let value: T = parse_json(&bytes)?;
        super::body_check::check_body(&value)?;
        Ok(JsonBody(value))
    }
}

/// A JSON request body that may be left out (no body, or only white space).
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<'a, T: Type + ToJSON + DeserializeOwned + Send> ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        let mut meta = JsonBody::<T>::request_meta()?;
        meta.required = false;
        Some(meta)
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = read_json_body(body.take()?).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        let value: T = parse_json(&bytes)?;
        super::body_check::check_body(&value)?;
        Ok(OptionalJsonBody(Some(value)))
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
