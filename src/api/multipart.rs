//! The `multipart/form-data` extractors: a photo upload read part by part, and an avatar
//! (one file part held in memory, with a size cap enforced while reading).

use poem::http::{header, StatusCode};
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::error::ApiError;
use super::form_data::{boundary_of, FormData};
use super::photos::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};

/// Largest avatar upload.
pub const MAX_AVATAR_BYTES: usize = 10 * 1024 * 1024;

/// `multipart/form-data` with one file in the part `file` (also `avatar` or `image`), held in
/// memory up to `MAX_AVATAR_BYTES`.
pub struct AvatarUpload(pub Vec<u8>);

impl<'a> ApiExtractor<'a> for AvatarUpload {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(_registry: &mut Registry) {}

    fn request_meta() -> Option<MetaRequest> {
        let mut file = MetaSchema::new_with_format("string", "binary");
        file.description = Some("JPEG, PNG, WebP or GIF; at most 10 MB");
        let mut schema = MetaSchema::new("object");
        schema.properties = vec![("file", MetaSchemaRef::Inline(Box::new(file)))];
        schema.required = vec!["file"];
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Inline(Box::new(schema)),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = read_file_part(
            request,
            body,
            &["file", "avatar", "image"],
            MAX_AVATAR_BYTES,
        )
        .await?;
        Ok(AvatarUpload(bytes))
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("file is larger than {} MB", limit / (1024 * 1024)),
    )
}

/// Reads the first part named one of `names`, failing with 413 as soon as it passes `limit`.
async fn read_file_part(
    request: &Request,
    body: &mut RequestBody,
    names: &[&str],
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut form = form_data(request, body)?;
    while let Some(part) = form.next_part().await.map_err(|_| malformed())? {
        if !part.name.is_some_and(|n| names.contains(&n.as_str())) {
            continue;
        }
        return form
            .read_to_end(limit)
            .await
            .map_err(|_| malformed())?
            .ok_or_else(|| too_large(limit));
    }
    Err(ApiError::validation(
        StatusCode::UNPROCESSABLE_ENTITY,
        names[0],
        "is required",
        "REQUIRED",
    ))
}

pub fn malformed() -> ApiError {
    ApiError::bad_request("malformed multipart body")
}

/// The request's body as `multipart/form-data`, by its Content-Type.
fn form_data(request: &Request, body: &mut RequestBody) -> Result<FormData, ApiError> {
    let not_multipart = || ApiError::bad_request("expected a multipart/form-data body");
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(boundary_of)
        .ok_or_else(not_multipart)?;
    let body = body.take().map_err(|_| not_multipart())?;
    Ok(FormData::new(Box::pin(body.into_bytes_stream()), &boundary))
}

/// The parts of a photo upload: text fields (`title`, `description`, `album_id`, `visibility`)
/// apply to the files that follow them; files come in parts named `file`, `files`, `files[]` or
/// `image`. Each file is handed to `store` as a stream as soon as its part starts.
pub const FILE_PARTS: &[&str] = &["file", "files", "files[]", "image"];

/// Documents a `multipart/form-data` photo upload in the OpenAPI document.
pub fn photo_upload_meta() -> MetaRequest {
    let mut file = MetaSchema::new_with_format("string", "binary");
    file.description = Some(
        "JPEG, PNG, WebP or GIF (decided by content); also `files`, `files[]`, `image`; \
         repeat for several",
    );
    let text = |description: &'static str, max_length: usize| {
        let mut s = MetaSchema::new("string");
        s.description = Some(description);
        s.max_length = Some(max_length);
        MetaSchemaRef::Inline(Box::new(s))
    };
    let mut album = MetaSchema::new_with_format("integer", "int64");
    album.description = Some("Album to add the photos to (as `POST /albums/{id}/photos` does)");
    let mut visibility = MetaSchema::new("string");
    visibility.description = Some("Default private");
    visibility.enum_items = ["private", "family", "public"]
        .into_iter()
        .map(Into::into)
        .collect();
    let mut schema = MetaSchema::new("object");
    schema.description = Some("Text fields apply to the files after them: send them first.");
    schema.properties = vec![
        ("file", MetaSchemaRef::Inline(Box::new(file))),
        (
            "title",
            text(
                "Title of the photos; empty (or blank) for none",
                MAX_TITLE_CHARS,
            ),
        ),
        (
            "description",
            text(
                "Description of the photos; empty (or blank) for none",
                MAX_DESCRIPTION_CHARS,
            ),
        ),
        ("album_id", MetaSchemaRef::Inline(Box::new(album))),
        ("visibility", MetaSchemaRef::Inline(Box::new(visibility))),
    ];
    schema.required = vec!["file"];
    MetaRequest {
        description: None,
        content: vec![MetaMediaType {
            content_type: "multipart/form-data",
            schema: MetaSchemaRef::Inline(Box::new(schema)),
        }],
        required: true,
    }
}

/// A multipart body to be read part by part.
pub struct MultipartBody(pub FormData);

impl<'a> ApiExtractor<'a> for MultipartBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        Some(photo_upload_meta())
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(MultipartBody(form_data(request, body)?))
    }
}
