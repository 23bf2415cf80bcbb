//! Album objects as the API shows them (API.md §6), request bodies, and the body of
//! `POST /albums/{id}/photos`, which is either JSON photo ids or a multipart upload.

use crate::db::ids::PhotoId;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, Registry};
use poem_openapi::types::{MaybeUndefined, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object};
use serde::Deserialize;

use super::envelope::{parse_json, read_json_body, Page};
use super::multipart::{photo_upload_meta, MultipartBody};
use super::photo_models::{file_url, OwnerRef, PhotoResponse, VisibilityName};
use super::refined::{requiring, Refine, Refined};
use super::text::AlbumTitle;
use super::timestamp;
use crate::catalog::signing::{PhotoKey, UrlSigner};
use crate::catalog::Visibility;
use crate::sharing::Album;

#[derive(Debug, Object)]
#[oai(rename = "Album")]
pub struct AlbumResponse {
    pub id: i64,
    pub owner: OwnerRef,
    pub title: String,
    #[oai(nullable)]
    pub description: Option<String>,
    pub visibility: VisibilityName,
    /// `visibility == "public"`.
    pub is_public: bool,
    /// The parent album; null at the top level.
    #[oai(nullable)]
    pub parent_id: Option<i64>,
    /// The chosen cover while it is in the album and not in trash, else the newest photo the
    /// caller can see; null for an album without one.
    #[oai(nullable)]
    pub cover_photo_id: Option<i64>,
    /// Thumbnail of the cover, usable in `<img src>` for at least an hour; null without a cover.
    #[oai(nullable)]
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
        id: album.id.get(),
        owner: OwnerRef {
            id: album.owner_id.get(),
            username: album.owner_username,
        },
        title: album.title,
        description: album.description,
        visibility: album.visibility.into(),
        is_public: album.visibility == Visibility::Public,
        parent_id: album.parent_id.map(|a| a.get()),
        cover_photo_id: album.cover_photo_id.map(|p| p.get()),
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
    pub title: AlbumTitle,
    /// At most 5000 characters; empty (or blank) for none.
    #[oai(nullable, validator(max_length = 5000))]
    pub description: Option<String>,
    /// Default private.
    #[oai(nullable)]
    pub visibility: Option<VisibilityName>,
    /// Alias input: true = public, false = private (`visibility` wins when both are given).
    #[oai(nullable)]
    pub is_public: Option<bool>,
    /// Parent album, one of the caller's (else 422); null or 0 for the top level.
    #[oai(nullable)]
    pub parent_id: Option<i64>,
}

/// Partial update: a field left out is unchanged.
#[derive(Debug, Object, Deserialize)]
pub struct UpdateAlbumRequest {
    /// Alias `name`; null leaves it unchanged.
    #[serde(alias = "name")]
    #[oai(nullable)]
    pub title: Option<AlbumTitle>,
    /// At most 5000 characters; an empty (or blank) string or null clears it.
    #[serde(default)]
    #[oai(nullable, validator(max_length = 5000))]
    pub description: MaybeUndefined<String>,
    #[oai(nullable)]
    pub visibility: Option<VisibilityName>,
    #[oai(nullable)]
    pub is_public: Option<bool>,
    /// Another of the owner's albums (else 422); null or 0 moves the album to the top level.
    /// A parent inside the album's own subtree is refused with 422.
    #[serde(default)]
    #[oai(nullable)]
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

/// `{photo_ids}`, or `{image_id}` for one photo (an alias, used when `photo_ids` is left out or
/// null). One of them is required.
pub type PhotoIdsRequest = Refined<PhotoIdsFields>;

impl Refine for PhotoIdsFields {
    const NAME: &'static str = "PhotoIdsRequest";

    fn refine(schema: &mut MetaSchema) {
        schema.any_of = vec![
            requiring("photo_ids", "array"),
            requiring("image_id", "integer"),
        ];
    }
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct PhotoIdsFields {
    /// 1 to 500 photos; duplicates count once.
    #[oai(nullable, validator(min_items = 1, max_items = 500))]
    pub photo_ids: Option<Vec<i64>>,
    /// One photo.
    #[oai(nullable)]
    pub image_id: Option<i64>,
}

impl PhotoIdsRequest {
    pub fn ids(self) -> Vec<PhotoId> {
        match self.0.photo_ids {
            Some(ids) => ids.into_iter().map(PhotoId).collect(),
            None => self.0.image_id.into_iter().map(PhotoId).collect(),
        }
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
    /// A photo in the album that is not in the trash (else 422).
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
        let ids: PhotoIdsRequest = parse_json(&bytes)?;
        super::body_check::check_body(&ids)?;
        Ok(AlbumPhotosBody::Ids(ids))
    }
}
