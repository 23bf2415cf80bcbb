//! Photos as the household sees them: what a photo is, who sees it, listing and detail, edits,
//! likes, the files to serve, the timeline. How photos arrive is `ingest`; trash is `trash`;
//! background steps are `processing`.

pub mod filter;
pub mod repo;
pub mod service;
pub mod signing;
pub mod timeline;
pub mod visibility;

pub use service::Catalog;

use crate::db::ids::{AlbumId, ImportRootId, PhotoId, UserId};
use crate::media::exif::ExifData;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("photo not found")]
    NotFound,
    #[error("only the owner may change this photo")]
    NotOwner,
    #[error("photo is not in the trash")]
    NotInTrash,
    #[error("photo is in the trash")]
    InTrash,
    #[error("not enough free disk space")]
    InsufficientStorage,
    #[error("this rendition is not ready yet")]
    RenditionNotReady,
    #[error("the original file is missing")]
    FileMissing,
    #[error("album not found")]
    AlbumNotFound,
    #[error("you may not add photos to this album")]
    NotAlbumContributor,
    #[error("photo is not in this album")]
    NotInAlbum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Private,
    Family,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Family => "family",
            Visibility::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "private" => Some(Visibility::Private),
            "family" => Some(Visibility::Family),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Processing,
    Ready,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "processing",
            Status::Ready => "ready",
            Status::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "processing" => Some(Status::Processing),
            "ready" => Some(Status::Ready),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// Camera settings read from EXIF.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CameraInfo {
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub lens: Option<String>,
    pub iso: Option<u32>,
    pub aperture: Option<f64>,
    pub exposure_time: Option<String>,
    pub focal_length: Option<f64>,
    pub orientation: Option<u16>,
}

impl CameraInfo {
    pub fn is_empty(&self) -> bool {
        *self == CameraInfo::default()
    }

    pub fn from_exif(exif: &ExifData) -> Self {
        CameraInfo {
            camera_make: exif.camera_make.clone(),
            camera_model: exif.camera_model.clone(),
            lens: exif.lens.clone(),
            iso: exif.iso,
            aperture: exif.aperture,
            exposure_time: exif.exposure_time.clone(),
            focal_length: exif.focal_length,
            orientation: exif.orientation,
        }
    }
}

/// Where a photo was taken (EXIF GPS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

impl Location {
    pub fn from_exif(exif: &ExifData) -> Option<Self> {
        match (exif.latitude, exif.longitude) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
                altitude: exif.altitude,
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub name: String,
    /// "ai" or "manual".
    pub source: String,
    pub confidence: f64,
}

/// An album a photo is in: `{id, title}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumRef {
    pub id: AlbumId,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Photo {
    pub id: PhotoId,
    pub owner_id: UserId,
    pub owner_username: String,
    pub uuid: String,
    pub ext: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub original_filename: String,
    pub mime_type: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub checksum: String,
    pub taken_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub visibility: Visibility,
    pub is_favorite: bool,
    pub status: Status,
    pub status_reason: Option<String>,
    pub camera: CameraInfo,
    pub location: Option<Location>,
    pub tags: Vec<Tag>,
    /// Albums the viewer may see this photo in.
    pub albums: Vec<AlbumRef>,
    pub like_count: i64,
    pub liked_by_me: bool,
    /// Where the original is.
    pub file: crate::storage::Location,
    pub origin: Origin,
    /// An in-place original that is missing from its folder.
    pub offline: bool,
}

/// How a photo arrived (API.md §5 `origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Upload,
    /// From an import root; `path` is relative to it, as the file was found.
    Import {
        import_id: ImportRootId,
        path: String,
    },
}

impl Origin {
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Upload => "upload",
            Origin::Import { .. } => "import",
        }
    }

    pub fn import_id(&self) -> Option<ImportRootId> {
        match self {
            Origin::Import { import_id, .. } => Some(*import_id),
            Origin::Upload => None,
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Origin::Import { path, .. } => Some(path),
            Origin::Upload => None,
        }
    }
}

/// A processing step of a photo as shown by `GET /photos/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub status: String,
    pub error: Option<String>,
    /// Whether the step holds the photo back from `ready` and fails it (a mirror copy does not).
    pub counts_toward_status: bool,
}

pub use visibility::Viewer;
