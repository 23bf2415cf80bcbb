//! Album objects as the API shows them (API.md §6), request bodies, and the body of
//! `POST /albums/{id}/photos`, which is either JSON photo ids or a multipart upload.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{MaybeUndefined, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object};
use serde::Deserialize;

use super::envelope::{parse_json, read_json_body, Page};
use super::multipart::{photo_upload_meta, MultipartBody};
use super::photo_models::{file_url, OwnerRef, PhotoResponse, VisibilityName};
use super::timestamp;
use crate::photos::signing::{PhotoKey, UrlSigner};
use crate::photos::Visibility;
use crate::sharing::Album;

#[derive(Debug, Object)]
#[oai(rename = "Album")]
pub struct AlbumResponse {
    pub id: i64,
    pub owner: OwnerRef,
    pub title: String,
    pub description: Option<String>,
    pub visibility: VisibilityName,
    /// `visibility == "public"`.
    pub is_public: bool,
    /// The parent album; null at the top level.
    pub parent_id: Option<i64>,
    /// The chosen cover while it is in the album and not in trash, else the newest photo.
    pub cover_photo_id: Option<i64>,
    /// Thumbnail of the cover, usable in `<img src>` for at least an hour.
    pub cover_url: Option<String>,
    /// Photos in the album the caller can see, trash left out.
    pub photo_count: i64,
    pub like_count: i64,
    pub liked_by_me: bool,
    pub created_at: String,
    pub updated_at: String,
}

pub fn album_response(album: Album, signer: &UrlSigner, now: i64) -> AlbumResponse {
    AlbumResponse {
        id: album.id,
        owner: OwnerRef {
            id: album.owner_id,
            username: album.owner_username,
        },
        title: album.title,
        description: album.description,
        visibility: album.visibility.into(),
        is_public: album.visibility == Visibility::Public,
        parent_id: album.parent_id,
        cover_photo_id: album.cover_photo_id,
        cover_url: album
            .cover_photo_id
            .zip(album.cover_key.as_deref())
            .map(|(id, key)| {
                let cover = PhotoKey { id, key };
                file_url(cover, "thumbnail", album.cover_is_public, signer, now)
            }),
        photo_count: album.photo_count,
        like_count: album.like_count,
        liked_by_me: album.liked_by_me,
        created_at: timestamp(album.created_at),
        updated_at: timestamp(album.updated_at),
    }
}

/// An album with the first page of its photos.
#[derive(Debug, Object)]
#[oai(rename = "AlbumDetail")]
pub struct AlbumDetailResponse {
    #[oai(flatten)]
    pub album: AlbumResponse,
    pub photos: Page<PhotoResponse>,
}

#[derive(Debug, Object, Deserialize)]
pub struct CreateAlbumRequest {
    /// Alias `name`.
    #[serde(alias = "name")]
    pub title: String,
    pub description: Option<String>,
    /// Default private.
    pub visibility: Option<VisibilityName>,
    /// Alias input: true = public, false = private (`visibility` wins when both are given).
    pub is_public: Option<bool>,
    /// Parent album (one of the caller's); null or 0 for the top level.
    pub parent_id: Option<i64>,
}

#[derive(Debug, Object, Deserialize)]
pub struct UpdateAlbumRequest {
    /// Alias `name`.
    #[serde(alias = "name")]
    pub title: Option<String>,
    /// An empty string or null clears it.
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    pub visibility: Option<VisibilityName>,
    pub is_public: Option<bool>,
    /// Another of the owner's albums; null or 0 moves the album to the top level. A parent
    /// inside the album's own subtree is refused with 422.
    #[serde(default)]
    pub parent_id: MaybeUndefined<i64>,
}

/// `visibility`, else the `is_public` alias.
pub fn chosen_visibility(
    visibility: Option<VisibilityName>,
    is_public: Option<bool>,
) -> Option<Visibility> {
    visibility.map(Into::into).or(is_public.map(|public| {
        if public {
            Visibility::Public
        } else {
            Visibility::Private
        }
    }))
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct PhotoIdsRequest {
    /// At most 500.
    pub photo_ids: Option<Vec<i64>>,
    /// One photo (alias input).
    pub image_id: Option<i64>,
}

impl PhotoIdsRequest {
    pub fn ids(self) -> Vec<i64> {
        let mut ids = self.photo_ids.unwrap_or_default();
        ids.extend(self.image_id);
        ids
    }
}

#[derive(Debug, Object)]
pub struct AddFailure {
    pub id: i64,
    pub error: super::photo_upload::UploadError,
}

#[derive(Debug, Object)]
pub struct AddPhotosResponse {
    /// Ids newly put into the album.
    pub added: Vec<i64>,
    /// Ids that were in it already.
    pub already_present: Vec<i64>,
    pub failed: Vec<AddFailure>,
}

#[derive(Debug, Object)]
pub struct RemovedResponse {
    /// How many of the photos were in the album and are not any more.
    pub removed: i64,
}

#[derive(Debug, Object, Deserialize)]
pub struct CoverRequest {
    /// A photo in the album.
    pub photo_id: i64,
}

/// `POST /albums/{id}/photos`: JSON `{photo_ids}` (or `{image_id}`) adds existing photos; a
/// multipart body uploads new ones straight into the album.
pub enum AlbumPhotosBody {
    Ids(PhotoIdsRequest),
    Upload(Box<MultipartBody>),
}

impl<'a> ApiExtractor<'a> for AlbumPhotosBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        PhotoIdsRequest::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        let mut meta = photo_upload_meta();
        meta.content.insert(
            0,
            MetaMediaType {
                content_type: "application/json",
                schema: PhotoIdsRequest::schema_ref(),
            },
        );
        Some(meta)
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let multipart = request
            .content_type()
            .is_some_and(|t| t.trim_start().starts_with("multipart/"));
        if multipart {
            let upload = MultipartBody::from_request(request, body, param_opts).await?;
            return Ok(AlbumPhotosBody::Upload(Box::new(upload)));
        }
        let bytes = read_json_body(body.take()?).await?;
        Ok(AlbumPhotosBody::Ids(parse_json(&bytes)?))
    }
}
