//! Sharing: nested albums, families, the community feed and album likes (API.md §6–§8).
//! Who sees what is decided in `crate::visibility`; this module only applies it.

pub mod album_repo;
pub mod albums;
pub mod family;
pub mod family_repo;
pub mod members;
pub mod members_repo;

use crate::catalog::Visibility;
use crate::db::ids::{AlbumId, FamilyId, PhotoId, UserId};
use crate::db::Db;
use crate::trash::Trash;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    #[error("album not found")]
    AlbumNotFound,
    #[error("only the owner may change this album")]
    NotAlbumOwner,
    #[error("family not found")]
    FamilyNotFound,
    #[error("you are not in a family")]
    NotInFamily,
    #[error("you are already in a family")]
    AlreadyInFamily,
    #[error("only the family owner may do this")]
    NotFamilyOwner,
    #[error("no such member in your family")]
    MemberNotFound,
}

/// An album as the viewer sees it: counts and cover are over the photos the viewer may see.
#[derive(Debug, Clone)]
pub struct Album {
    pub id: AlbumId,
    pub owner_id: UserId,
    pub owner_username: String,
    pub title: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub parent_id: Option<AlbumId>,
    /// The chosen cover if it is live and visible, else the newest visible photo.
    pub cover_photo_id: Option<PhotoId>,
    /// The cover photo is public itself (its URL needs no signature).
    pub cover_is_public: bool,
    /// The cover photo's storage key, which its signed URL is bound to.
    pub cover_key: Option<String>,
    pub photo_count: i64,
    pub like_count: i64,
    pub liked_by_me: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub joined_at: i64,
}

#[derive(Debug, Clone)]
pub struct Family {
    pub id: FamilyId,
    pub name: String,
    pub invite_code: String,
    pub owner_id: UserId,
    /// Longest-standing first.
    pub members: Vec<Member>,
    pub created_at: i64,
}

/// The sharing service shared by the API handlers.
#[derive(Clone)]
pub struct Sharing {
    db: Db,
    /// Deleting an album with `delete_photos` trashes the caller's photos in it.
    trash: Trash,
}

impl Sharing {
    pub fn new(db: Db, trash: Trash) -> Self {
        Self { db, trash }
    }
}
