//! How `GET /photos/{id}/file` answers, as the OpenAPI document shows it: the image in its own
//! Content-Type, whole (200) or a range of it (206), or 304 when the client's copy is current.

use poem::web::StaticFileResponse;
use poem::{IntoResponse, Response};
use poem_openapi::payload;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::ApiResponse;

/// Content types of originals (decided by content at upload) and of renditions (JPEG).
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];

pub struct PhotoFileResponse(pub payload::Response<StaticFileResponse>);

impl IntoResponse for PhotoFileResponse {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

fn header(name: &str, description: &str, required: bool) -> MetaHeader {
    MetaHeader {
        name: name.into(),
        description: Some(description.into()),
        required,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
    }
}

fn file_headers(partial: bool) -> Vec<MetaHeader> {
    let mut headers = vec![
        header("ETag", "Changes whenever the file does.", true),
        header("Last-Modified", "When the file last changed.", true),
        header(
            "Cache-Control",
            "`public, max-age=3600` for public photos, else `private, max-age=3600`.",
            true,
        ),
        header("Accept-Ranges", "`bytes`.", true),
        header(
            "Content-Disposition",
            "With `download=1`: `attachment` with the original filename.",
            false,
        ),
    ];
    if partial {
        headers.push(header(
            "Content-Range",
            "`bytes first-last/size` of the part sent.",
            true,
        ));
    }
    headers
}

fn images() -> Vec<MetaMediaType> {
    IMAGE_TYPES
        .iter()
        .map(|content_type| MetaMediaType {
            content_type,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format(
                "string", "binary",
            ))),
        })
        .collect()
}

impl ApiResponse for PhotoFileResponse {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The file",
                    status: Some(200),
                    status_range: None,
                    content: images(),
                    headers: file_headers(false),
                },
                MetaResponse {
                    description: "The part of the file that `Range` asked for",
                    status: Some(206),
                    status_range: None,
                    content: images(),
                    headers: file_headers(true),
                },
                MetaResponse {
                    description: "Not modified since the `If-None-Match` ETag or \
                                  `If-Modified-Since` time; no body",
                    status: Some(304),
                    status_range: None,
                    content: Vec::new(),
                    headers: Vec::new(),
                },
            ],
        }
    }

    fn register(_registry: &mut Registry) {}
}
