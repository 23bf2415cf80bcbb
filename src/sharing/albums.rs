//! Albums: create, list, detail, update (re-parenting without cycles), delete (children move up,
//! optionally the caller's photos to trash), cover, share and likes.

use crate::db::ids::{AlbumId, PhotoId, UserId};
use rusqlite::Connection;

use super::album_repo::{self, AlbumChange, NewAlbum};
pub use super::album_repo::{AlbumListParams, AlbumScope, AlbumSort};
use super::{Album, Sharing, SharingError};
use crate::auth::Caller;
use crate::catalog::{Viewer, Visibility};
use crate::db::now;
use crate::error::{AppError, ValidationErrors};

const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;

/// What the caller asked for when creating an album.
#[derive(Debug, Clone)]
pub struct AlbumInput {
    pub title: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub parent_id: Option<AlbumId>,
}

fn check_title(title: &str, errors: &mut ValidationErrors) {
    if title.trim().is_empty() {
        errors.add("title", "is required", "REQUIRED");
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errors.add("title", "must be at most 200 characters", "TOO_LONG");
    }
}

fn check_description(description: &str, errors: &mut ValidationErrors) {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.add("description", "must be at most 5000 characters", "TOO_LONG");
    }
}

/// A parent must be an album of the same owner and must not be the album or one of its
/// descendants (that would make a cycle).
fn check_parent(
    conn: &Connection,
    owner: UserId,
    album: Option<AlbumId>,
    parent: AlbumId,
) -> Result<(), AppError> {
    if album_repo::album_owner(conn, parent)? != Some(owner) {
        return Err(ValidationErrors::single(
            "parent_id",
            "must be one of the owner's albums",
            "INVALID_VALUE",
        )
        .into());
    }
    if let Some(album) = album {
        if album_repo::is_ancestor_or_self(conn, album, parent)? {
            return Err(ValidationErrors::single(
                "parent_id",
                "would make the album its own ancestor",
                "CYCLE",
            )
            .into());
        }
    }
    Ok(())
}

impl Sharing {
    pub async fn create_album(
        &self,
        caller: &Caller,
        input: AlbumInput,
    ) -> Result<Album, AppError> {
        let mut errors = ValidationErrors::default();
        check_title(&input.title, &mut errors);
        if let Some(d) = &input.description {
            check_description(d, &mut errors);
        }
        errors.into_result()?;
        let owner = caller.user_id;
        let id = self
            .db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                if let Some(parent) = input.parent_id {
                    check_parent(&tx, owner, None, parent)?;
                }
                let album = NewAlbum {
                    owner_id: owner,
                    title: input.title.trim(),
                    description: input.description.as_deref(),
                    visibility: input.visibility,
                    parent_id: input.parent_id,
                };
                let id = album_repo::insert_album(&tx, &album, now())?;
                tx.commit()?;
                Ok(id)
            })
            .await?;
        self.get_album(Viewer::User(*caller), id).await
    }

    /// An album the viewer may see.
    pub async fn get_album(&self, viewer: Viewer, id: AlbumId) -> Result<Album, AppError> {
        self.db
            .run(move |conn| {
                Ok(album_repo::find_album(conn, id, viewer)?.ok_or(SharingError::AlbumNotFound)?)
            })
            .await
    }

    /// An album the viewer may see and change: 404 when they cannot see it, 403 when they see
    /// it but are neither its owner nor an admin.
    async fn album_to_change(&self, viewer: Viewer, id: AlbumId) -> Result<Album, AppError> {
        let album = self.get_album(viewer, id).await?;
        if viewer.user_id() == Some(album.owner_id) || viewer.is_admin() {
            Ok(album)
        } else {
            Err(SharingError::NotAlbumOwner.into())
        }
    }

    pub async fn list_albums(
        &self,
        viewer: Viewer,
        params: AlbumListParams,
    ) -> Result<(Vec<Album>, i64), AppError> {
        self.db
            .run(move |conn| Ok(album_repo::list_albums(conn, viewer, &params)?))
            .await
    }

    pub async fn update_album(
        &self,
        viewer: Viewer,
        id: AlbumId,
        change: AlbumChange,
    ) -> Result<Album, AppError> {
        let mut errors = ValidationErrors::default();
        if let Some(title) = &change.title {
            check_title(title, &mut errors);
        }
        if let Some(Some(d)) = &change.description {
            check_description(d, &mut errors);
        }
        errors.into_result()?;
        let album = self.album_to_change(viewer, id).await?;
        let owner = album.owner_id;
        let change = AlbumChange {
            title: change.title.map(|t| t.trim().to_string()),
            ..change
        };
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                if let Some(Some(parent)) = change.parent_id {
                    check_parent(&tx, owner, Some(id), parent)?;
                }
                album_repo::update_album(&tx, id, &change, now())?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.get_album(viewer, id).await
    }

    /// Deletes an album; its children move up to its parent. With `delete_photos`, the
    /// caller's own photos in it go to the trash first.
    pub async fn delete_album(
        &self,
        viewer: Viewer,
        id: AlbumId,
        delete_photos: bool,
    ) -> Result<(), AppError> {
        self.album_to_change(viewer, id).await?;
        if delete_photos {
            let me = viewer.user_id().unwrap_or(UserId(-1));
            let ids = self
                .db
                .run(move |conn| Ok(album_repo::owned_live_photos(conn, id, me)?))
                .await?;
            for photo in ids {
                self.trash.trash_photo(viewer, photo).await?;
            }
        }
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                album_repo::delete_album(&tx, id, now())?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Chooses the cover: a live photo in the album that the caller can see.
    pub async fn set_cover(
        &self,
        viewer: Viewer,
        id: AlbumId,
        photo: PhotoId,
    ) -> Result<Album, AppError> {
        self.album_to_change(viewer, id).await?;
        self.db
            .run(move |conn| {
                if !album_repo::has_live_photo(conn, id, photo, viewer)? {
                    return Err(ValidationErrors::single(
                        "photo_id",
                        "must be a photo in this album",
                        "INVALID_VALUE",
                    )
                    .into());
                }
                Ok(album_repo::set_cover(conn, id, photo, now())?)
            })
            .await?;
        self.get_album(viewer, id).await
    }

    /// Shares an album with the community (`public`) or takes it back (`private`).
    pub async fn share_album(
        &self,
        viewer: Viewer,
        id: AlbumId,
        shared: bool,
    ) -> Result<Album, AppError> {
        let visibility = if shared {
            Visibility::Public
        } else {
            Visibility::Private
        };
        let change = AlbumChange {
            visibility: Some(visibility),
            ..Default::default()
        };
        self.update_album(viewer, id, change).await
    }

    /// Likes or unlikes an album the caller can see; returns the new count and state.
    pub async fn like_album(
        &self,
        caller: &Caller,
        id: AlbumId,
        liked: bool,
    ) -> Result<(i64, bool), AppError> {
        self.get_album(Viewer::User(*caller), id).await?;
        let user = caller.user_id;
        self.db
            .run(move |conn| Ok(album_repo::set_like(conn, id, user, liked, now())?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn album_sorts_parse() {
        assert_eq!(AlbumSort::parse("-likes"), Some((AlbumSort::Likes, true)));
        assert_eq!(AlbumSort::parse("title"), Some((AlbumSort::Title, false)));
        assert_eq!(AlbumSort::parse("size"), None);
    }
}
