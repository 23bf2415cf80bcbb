//! `GET /api/v1/photos/{id}/file`: originals, previews and thumbnails with Content-Type, ETag,
//! Last-Modified, Cache-Control, 304 and Range. A signed URL (from a Photo's `urls`) works
//! without an Authorization header; public photos need neither.

use crate::db::ids::PhotoId;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Response;
use poem_openapi::{Enum, OpenApi};

use super::photo_file_response::PhotoFileResponse;
use super::responses::{NotFound, PreconditionFailed, RangeNotSatisfiable, Reply};
use super::security::OptionalAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::catalog::service::FileSignature;
use crate::catalog::{Viewer, Visibility};
use crate::storage::Rendition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SizeName {
    Original,
    Preview,
    Thumbnail,
}

impl SizeName {
    fn rendition(self) -> Option<Rendition> {
        match self {
            SizeName::Original => None,
            SizeName::Preview => Some(Rendition::Preview),
            SizeName::Thumbnail => Some(Rendition::Thumbnail),
        }
    }
}

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="..."; filename*=UTF-8''...` with an ASCII fallback.
fn attachment(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(filename, ATTR)
    )
}

pub struct PhotoFilesApi;

#[OpenApi(prefix_path = "/photos", tag = "ApiTags::Photos")]
impl PhotoFilesApi {
    /// The original (default), preview (longest side 1600) or thumbnail (320) of a photo, with
    /// its own Content-Type (previews and thumbnails are JPEG). Supports `If-None-Match` and
    /// `If-Modified-Since` (304), `If-Match` and `If-Unmodified-Since` (412) and `Range` (206,
    /// 416). Works without a token for public photos and with the `exp`/`sig` of a Photo's
    /// `urls` (a wrong or expired signature counts as none). 404 also while a preview or
    /// thumbnail is not made yet.
    #[oai(path = "/:id/file", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn file(
        &self,
        state: Data<&AppState>,
        auth: OptionalAuth,
        req: &Request,
        id: Path<i64>,
        size: Query<Option<SizeName>>,
        /// `thumbnail=1` is the same as `size=thumbnail`.
        thumbnail: Query<Option<String>>,
        /// `download=1` adds `Content-Disposition: attachment` with the original filename.
        download: Query<Option<String>>,
        /// Expiry of a signed URL (seconds since the epoch).
        exp: Query<Option<i64>>,
        /// Signature of a signed URL.
        sig: Query<Option<String>>,
    ) -> Reply<PhotoFileResponse, (NotFound, PreconditionFailed, RangeNotSatisfiable)> {
        let truthy = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| matches!(v, "1" | "true" | "yes"))
        };
        let size = match size.0 {
            Some(s) => s,
            None if truthy(&thumbnail.0) => SizeName::Thumbnail,
            None => SizeName::Original,
        };
        let signature = match (exp.0, sig.0) {
            (Some(exp), Some(sig)) => Some(FileSignature { exp, sig }),
            _ => None,
        };
        let viewer = Viewer::from(auth.0);
        let (photo, path) = state
            .catalog()
            .photo_file(viewer, PhotoId(id.0), size.rendition(), signature)
            .await?;
        let file = super::static_file::respond(req, &path).await?;
        let public = photo.visibility == Visibility::Public && photo.deleted_at.is_none();
        let cache = if public {
            "public, max-age=3600"
        } else {
            "private, max-age=3600"
        };
        let mut response = Response::new(file).header("Cache-Control", cache);
        if truthy(&download.0) {
            response = response.header("Content-Disposition", attachment(&photo.original_filename));
        }
        Ok(PhotoFileResponse(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_survive_any_characters() {
        assert_eq!(
            attachment("a b.jpg"),
            "attachment; filename=\"a b.jpg\"; filename*=UTF-8''a%20b.jpg"
        );
        let h = attachment("照片\"x\".jpg");
        assert!(h.starts_with("attachment; filename=\"___x_.jpg\""), "{h}");
        assert!(h.contains("%E7%85%A7"), "{h}");
    }
}
