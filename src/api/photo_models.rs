//! Photo objects as the API shows them (API.md §5), built from domain photos.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::envelope::{Page, Pagination};
use super::timestamp;
use crate::catalog::signing::{PhotoKey, UrlSigner};
use crate::catalog::{Origin, Photo, Status, Visibility};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum VisibilityName {
    Private,
    Family,
    Public,
}

impl From<VisibilityName> for Visibility {
    fn from(v: VisibilityName) -> Self {
        match v {
            VisibilityName::Private => Visibility::Private,
            VisibilityName::Family => Visibility::Family,
            VisibilityName::Public => Visibility::Public,
        }
    }
}

impl From<Visibility> for VisibilityName {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Private => VisibilityName::Private,
            Visibility::Family => VisibilityName::Family,
            Visibility::Public => VisibilityName::Public,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    Processing,
    Ready,
    Failed,
}

impl From<Status> for StatusName {
    fn from(s: Status) -> Self {
        match s {
            Status::Processing => StatusName::Processing,
            Status::Ready => StatusName::Ready,
            Status::Failed => StatusName::Failed,
        }
    }
}

impl From<StatusName> for Status {
    fn from(s: StatusName) -> Self {
        match s {
            StatusName::Processing => Status::Processing,
            StatusName::Ready => Status::Ready,
            StatusName::Failed => Status::Failed,
        }
    }
}

#[derive(Debug, Object, Serialize)]
pub struct OwnerRef {
    pub id: i64,
    pub username: String,
}

/// File URLs usable in `<img src>` without an Authorization header for at least an hour.
#[derive(Debug, Object, Serialize)]
pub struct PhotoUrls {
    pub original: String,
    pub preview: String,
    pub thumbnail: String,
}

#[derive(Debug, Object, Serialize)]
pub struct ExifResponse {
    #[oai(nullable)]
    pub camera_make: Option<String>,
    #[oai(nullable)]
    pub camera_model: Option<String>,
    #[oai(nullable)]
    pub lens: Option<String>,
    #[oai(nullable)]
    pub iso: Option<u32>,
    /// f-number, e.g. 2.8.
    #[oai(nullable)]
    #[serde(skip_serializing_if = "not_finite")]
    pub aperture: Option<f64>,
    /// Seconds as photographers write them, e.g. "1/250".
    #[oai(nullable)]
    pub exposure_time: Option<String>,
    /// Millimetres.
    #[oai(nullable)]
    #[serde(skip_serializing_if = "not_finite")]
    pub focal_length: Option<f64>,
    /// EXIF orientation 1–8.
    #[oai(nullable)]
    pub orientation: Option<u16>,
}

#[derive(Debug, Object, Serialize)]
pub struct LocationResponse {
    #[serde(skip_serializing_if = "f64_not_finite")]
    pub latitude: f64,
    #[serde(skip_serializing_if = "f64_not_finite")]
    pub longitude: f64,
    /// Metres above sea level.
    #[oai(nullable)]
    #[serde(skip_serializing_if = "not_finite")]
    pub altitude: Option<f64>,
}

#[derive(Debug, Object, Serialize)]
pub struct TagResponse {
    pub name: String,
    /// "ai" or "manual".
    pub source: String,
    /// In (0, 1]; 1 for manual tags.
    #[serde(skip_serializing_if = "f64_not_finite")]
    pub confidence: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum OriginKind {
    Upload,
    Import,
}

/// How the photo arrived: uploaded, or imported from a folder (API.md §14).
#[derive(Debug, Object, Serialize)]
pub struct OriginResponse {
    pub kind: OriginKind,
    /// The import root it came from; null for uploads.
    #[oai(nullable)]
    pub import_id: Option<i64>,
    /// Its path below the import root, as it was found; null for uploads.
    #[oai(nullable)]
    pub path: Option<String>,
}

#[derive(Debug, Object, Serialize)]
pub struct AlbumRef {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Object, Serialize)]
#[oai(rename = "Photo")]
pub struct PhotoResponse {
    pub id: i64,
    pub owner: OwnerRef,
    #[oai(nullable)]
    pub title: Option<String>,
    #[oai(nullable)]
    pub description: Option<String>,
    pub original_filename: String,
    pub mime_type: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    /// SHA-256 hex of the original bytes.
    pub checksum: String,
    /// From EXIF DateTimeOriginal (or set by the owner), else null.
    #[oai(nullable)]
    pub taken_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// When the photo went to the trash; null while it is not there.
    #[oai(nullable)]
    pub deleted_at: Option<String>,
    /// When a trashed photo will be purged; null while it is not in the trash.
    #[oai(nullable)]
    pub purge_at: Option<String>,
    pub visibility: VisibilityName,
    pub is_favorite: bool,
    pub like_count: i64,
    pub liked_by_me: bool,
    pub status: StatusName,
    /// Why processing failed (with status `failed`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub urls: PhotoUrls,
    /// Null when the file has no camera data.
    #[oai(nullable)]
    pub exif: Option<ExifResponse>,
    /// GPS position; null when the file has none.
    #[oai(nullable)]
    pub location: Option<LocationResponse>,
    pub tags: Vec<TagResponse>,
    pub albums: Vec<AlbumRef>,
    pub origin: OriginResponse,
    /// True while an original imported in place is missing from its folder.
    pub offline: bool,
    /// Only in upload answers: the caller already had these bytes and this is that photo.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

/// The URL of one rendition of a photo: unsigned for a public photo, else signed for 1–2 hours.
pub fn file_url(
    photo: PhotoKey<'_>,
    size: &str,
    public: bool,
    signer: &UrlSigner,
    now: i64,
) -> String {
    let base = format!("/api/v1/photos/{}/file?size={size}", photo.id);
    if public {
        base
    } else {
        let exp = UrlSigner::expiry(now);
        format!("{base}&exp={exp}&sig={}", signer.sign(photo, size, exp))
    }
}

// poem-openapi leaves out a number JSON cannot hold (its `to_json` is `None`); serde would
// write null. These keep the two serializations of a photo identical.
fn f64_not_finite(v: &f64) -> bool {
    !v.is_finite()
}

fn not_finite(v: &Option<f64>) -> bool {
    v.is_some_and(|v| !v.is_finite())
}

/// A page of photos. Same schema and JSON as `Page<PhotoResponse>`, but written straight from
/// the structs: the derived `to_json` first builds a `serde_json::Value` tree (a map with an
/// allocated key per field), which was about 40 % of a listing's time.
pub struct PhotoPage(pub Page<PhotoResponse>);

impl Type for PhotoPage {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Page::<PhotoResponse>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        Page::<PhotoResponse>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Page::<PhotoResponse>::register(registry)
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for PhotoPage {
    fn to_json(&self) -> Option<serde_json::Value> {
        self.0.to_json()
    }

    fn to_json_string(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            items: &'a [PhotoResponse],
            pagination: &'a Pagination,
        }
        let out = Out {
            items: &self.0.items,
            pagination: &self.0.pagination,
        };
        serde_json::to_string(&out).unwrap_or_else(|_| self.0.to_json_string())
    }
}

/// Builds file URLs: public photos need no signature; others carry one valid 1–2 hours.
pub fn photo_urls(photo: &Photo, signer: &UrlSigner, now: i64) -> PhotoUrls {
    let public = photo.visibility == Visibility::Public && photo.deleted_at.is_none();
    let key = PhotoKey {
        id: photo.id,
        key: &photo.uuid,
    };
    let url = |size: &str| file_url(key, size, public, signer, now);
    PhotoUrls {
        original: url("original"),
        preview: url("preview"),
        thumbnail: url("thumbnail"),
    }
}

pub fn photo_response(
    photo: Photo,
    signer: &UrlSigner,
    retention_secs: i64,
    now: i64,
) -> PhotoResponse {
    let urls = photo_urls(&photo, signer, now);
    let exif = (!photo.camera.is_empty()).then(|| ExifResponse {
        camera_make: photo.camera.camera_make.clone(),
        camera_model: photo.camera.camera_model.clone(),
        lens: photo.camera.lens.clone(),
        iso: photo.camera.iso,
        aperture: photo.camera.aperture,
        exposure_time: photo.camera.exposure_time.clone(),
        focal_length: photo.camera.focal_length,
        orientation: photo.camera.orientation,
    });
    PhotoResponse {
        id: photo.id.get(),
        owner: OwnerRef {
            id: photo.owner_id.get(),
            username: photo.owner_username,
        },
        title: photo.title,
        description: photo.description,
        original_filename: photo.original_filename,
        mime_type: photo.mime_type,
        size: photo.size,
        width: photo.width,
        height: photo.height,
        checksum: photo.checksum,
        taken_at: photo.taken_at.map(timestamp),
        created_at: timestamp(photo.created_at),
        updated_at: timestamp(photo.updated_at),
        deleted_at: photo.deleted_at.map(timestamp),
        purge_at: photo.deleted_at.map(|d| timestamp(d + retention_secs)),
        visibility: photo.visibility.into(),
        is_favorite: photo.is_favorite,
        like_count: photo.like_count,
        liked_by_me: photo.liked_by_me,
        status: photo.status.into(),
        status_reason: photo.status_reason,
        urls,
        exif,
        location: photo.location.map(|l| LocationResponse {
            latitude: l.latitude,
            longitude: l.longitude,
            altitude: l.altitude,
        }),
        tags: photo
            .tags
            .into_iter()
            .map(|t| TagResponse {
                name: t.name,
                source: t.source,
                confidence: t.confidence,
            })
            .collect(),
        albums: photo
            .albums
            .into_iter()
            .map(|a| AlbumRef {
                id: a.id.get(),
                title: a.title,
            })
            .collect(),
        origin: match photo.origin {
            Origin::Upload => OriginResponse {
                kind: OriginKind::Upload,
                import_id: None,
                path: None,
            },
            Origin::Import { import_id, path } => OriginResponse {
                kind: OriginKind::Import,
                import_id: Some(import_id.get()),
                path: Some(path),
            },
        },
        offline: photo.offline,
        duplicate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::envelope::Paging;

    fn photo(id: i64) -> PhotoResponse {
        PhotoResponse {
            id,
            owner: OwnerRef {
                id: 3,
                username: "ann".into(),
            },
            title: None,
            description: Some("line\nbreak \"quoted\" \u{1f600}".into()),
            original_filename: "IMG_0001.JPG".into(),
            mime_type: "image/jpeg".into(),
            size: 3_000_000,
            width: 4000,
            height: 3000,
            checksum: "ab".repeat(32),
            taken_at: Some("2023-07-14T19:30:05Z".into()),
            created_at: "2026-01-21T07:42:41Z".into(),
            updated_at: "2026-01-21T07:42:41Z".into(),
            deleted_at: None,
            purge_at: None,
            visibility: VisibilityName::Family,
            is_favorite: true,
            like_count: 2,
            liked_by_me: false,
            status: StatusName::Failed,
            status_reason: None,
            urls: PhotoUrls {
                original: "/api/v1/photos/1/file?size=original&exp=1&sig=x".into(),
                preview: "/p".into(),
                thumbnail: "/t".into(),
            },
            exif: None,
            location: None,
            tags: vec![TagResponse {
                name: "beach".into(),
                source: "ai".into(),
                confidence: 0.87,
            }],
            albums: vec![AlbumRef {
                id: 9,
                title: "Summer".into(),
            }],
            origin: OriginResponse {
                kind: OriginKind::Import,
                import_id: Some(2),
                path: Some("2019/a \"b\".jpg".into()),
            },
            offline: false,
            duplicate: None,
        }
    }

    #[test]
    fn a_photo_page_writes_the_same_json_as_the_derived_path() {
        let mut varied = photo(2);
        varied.title = Some("T".into());
        varied.deleted_at = Some("2026-01-22T00:00:00Z".into());
        varied.status_reason = Some("decode failed".into());
        varied.duplicate = Some(true);
        varied.exif = Some(ExifResponse {
            camera_make: Some("Canon".into()),
            camera_model: None,
            lens: None,
            iso: Some(400),
            aperture: Some(2.8),
            exposure_time: Some("1/250".into()),
            focal_length: Some(f64::INFINITY),
            orientation: Some(6),
        });
        varied.location = Some(LocationResponse {
            latitude: -22.95,
            longitude: f64::NAN,
            altitude: None,
        });
        varied.tags.push(TagResponse {
            name: "x".into(),
            source: "manual".into(),
            confidence: 1.0,
        });
        let paging = Paging {
            page: 2,
            per_page: 2,
        };
        for items in [vec![], vec![photo(1)], vec![photo(1), varied]] {
            let page = PhotoPage(paging.page_of(items, 5));
            let derived = serde_json::to_string(&page.0.to_json()).unwrap();
            assert_eq!(page.to_json_string(), derived);
        }
    }
}
