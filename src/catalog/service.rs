//! Reading and changing photos: detail, listing, update, status, likes, file lookup.

use crate::db::ids::{AlbumId, PhotoId};
use std::path::PathBuf;

use super::filter::ListParams;
use super::repo::query;
use super::repo::{self, Access, PhotoChange};
use super::signing::{PhotoKey, UrlSigner};
use super::visibility::ensure_can_modify;
use super::{Photo, PhotoError, Viewer};
use crate::auth::Caller;
use crate::db::{now, Db};
use crate::error::{AppError, ValidationErrors};
use crate::storage::{FileKey, Rendition, Storage};

/// The photo catalog shared by the API, the other features and the command line.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) db: Db,
    storage: Storage,
    signer: UrlSigner,
    /// `storage.trash_retention_days`, for `purge_at`.
    trash_retention_secs: i64,
}

impl Catalog {
    pub fn new(db: Db, storage: Storage, signer: UrlSigner, trash_retention_secs: i64) -> Self {
        Self {
            db,
            storage,
            signer,
            trash_retention_secs,
        }
    }

    pub fn trash_retention_secs(&self) -> i64 {
        self.trash_retention_secs
    }

    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// A photo the viewer may see (their own trashed ones included).
    pub async fn get_photo(&self, viewer: Viewer, id: PhotoId) -> Result<Photo, AppError> {
        self.db
            .run(move |conn| {
                Ok(repo::find_photo(conn, id, Access::Viewer(viewer))?
                    .ok_or(PhotoError::NotFound)?)
            })
            .await
    }

    /// Any photo row (the daemon's own work), or `None` when it is gone.
    pub async fn find_any(&self, id: PhotoId) -> Result<Option<Photo>, AppError> {
        self.db
            .run(move |conn| Ok(repo::find_photo(conn, id, Access::Any)?))
            .await
    }

    /// The page of photos `params` selects among those `viewer` may see (its scope says whose).
    pub async fn list_photos(
        &self,
        viewer: Viewer,
        params: ListParams,
    ) -> Result<(Vec<Photo>, i64), AppError> {
        self.ensure_album_visible(viewer, params.album_id).await?;
        self.db
            .run(move |conn| Ok(query::list_photos(conn, viewer, &params)?))
            .await
    }

    /// `AlbumNotFound` when a filter names an album the viewer cannot see.
    pub async fn ensure_album_visible(
        &self,
        viewer: Viewer,
        album: Option<AlbumId>,
    ) -> Result<(), AppError> {
        let Some(album) = album else {
            return Ok(());
        };
        let visible = self
            .db
            .run(move |conn| Ok(query::album_visible(conn, viewer, album)?))
            .await?;
        if !visible {
            return Err(PhotoError::AlbumNotFound.into());
        }
        Ok(())
    }

    /// Changes a photo; `tags` replaces its manual tags (AI tags stay).
    pub async fn update_photo(
        &self,
        viewer: Viewer,
        id: PhotoId,
        change: PhotoChange,
        tags: Option<Vec<String>>,
    ) -> Result<Photo, AppError> {
        let tags = tags.map(|t| normalize_tags(&t)).transpose()?;
        let photo = self.get_photo(viewer, id).await?;
        ensure_can_modify(viewer, &photo)?;
        if photo.deleted_at.is_some() {
            return Err(PhotoError::InTrash.into());
        }
        self.db
            .run(move |conn| {
                let tx = crate::db::write_tx(conn)?;
                repo::update_photo(&tx, id, &change, now())?;
                if let Some(tags) = tags {
                    let weighted: Vec<(String, f64)> = tags.into_iter().map(|t| (t, 1.0)).collect();
                    repo::tags::replace_tags(&tx, id, "manual", &weighted)?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.get_photo(viewer, id).await
    }

    /// Which of `checksums` (SHA-256 hex) the caller already has.
    pub async fn existing(
        &self,
        caller: &Caller,
        checksums: Vec<String>,
    ) -> Result<Vec<(String, PhotoId)>, AppError> {
        let mut errors = ValidationErrors::default();
        if checksums.len() > 1000 {
            errors.add("checksums", "at most 1000 per request", "TOO_LONG");
        }
        if checksums
            .iter()
            .any(|c| c.len() != 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            errors.add("checksums", "must be SHA-256 hex strings", "INVALID_FORMAT");
        }
        errors.into_result()?;
        let owner = caller.user_id;
        let lower: Vec<String> = checksums.iter().map(|c| c.to_ascii_lowercase()).collect();
        self.db
            .run(move |conn| Ok(repo::existing_checksums(conn, owner, &lower)?))
            .await
    }

    /// Likes or unlikes a photo the caller can see; returns the new count and state.
    pub async fn set_like(
        &self,
        caller: &Caller,
        id: PhotoId,
        liked: bool,
    ) -> Result<(i64, bool), AppError> {
        let viewer = Viewer::User(*caller);
        let photo = self.get_photo(viewer, id).await?;
        if photo.deleted_at.is_some() {
            return Err(PhotoError::NotFound.into());
        }
        let user = caller.user_id;
        self.db
            .run(move |conn| {
                repo::tags::set_like(conn, id, user, liked, now())?;
                Ok(repo::tags::like_state(conn, id, user)?)
            })
            .await
    }

    /// The file to serve for `rendition` (`None`: the original). With `signed`, a valid URL
    /// signature stands in for visibility.
    pub async fn photo_file(
        &self,
        viewer: Viewer,
        id: PhotoId,
        rendition: Option<Rendition>,
        signature: Option<FileSignature>,
    ) -> Result<(Photo, PathBuf), AppError> {
        let size = match rendition {
            None => "original",
            Some(Rendition::Preview) => "preview",
            Some(Rendition::Thumbnail) => "thumbnail",
        };
        let signed = match signature {
            Some(signature) => {
                let found = self
                    .db
                    .run(move |conn| Ok(repo::find_photo(conn, id, Access::Any)?))
                    .await?;
                found.filter(|photo| {
                    let key = PhotoKey {
                        id: photo.id,
                        key: &photo.uuid,
                    };
                    let (exp, sig) = (signature.exp, &signature.sig);
                    self.signer.verify(key, size, exp, sig, crate::db::now())
                })
            }
            None => None,
        };
        let photo = match signed {
            Some(photo) => photo,
            None => self.get_photo(viewer, id).await?,
        };
        let key = file_key(&photo);
        let path = match rendition {
            None => self
                .storage
                .locate(&photo.file, key)
                .ok_or(PhotoError::FileMissing)?,
            Some(r) => {
                let path = self.storage.rendition_path(key, r);
                if !path.is_file() {
                    return Err(PhotoError::RenditionNotReady.into());
                }
                path
            }
        };
        Ok((photo, path))
    }
}

/// The `exp` and `sig` of a signed file URL.
#[derive(Debug, Clone)]
pub struct FileSignature {
    pub exp: i64,
    pub sig: String,
}

pub fn file_key(photo: &Photo) -> FileKey<'_> {
    FileKey {
        owner_id: photo.owner_id,
        uuid: &photo.uuid,
        ext: &photo.ext,
        created_at: photo.created_at,
    }
}

/// Trims, folds inner white space, drops empties and case-insensitive duplicates.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, ValidationErrors> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.split_whitespace().collect::<Vec<_>>().join(" ");
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > 64 {
            return Err(ValidationErrors::single(
                "tags",
                "each tag must be at most 64 characters",
                "TOO_LONG",
            ));
        }
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            out.push(tag);
        }
    }
    if out.len() > 100 {
        return Err(ValidationErrors::single(
            "tags",
            "at most 100 tags",
            "TOO_LONG",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalized() {
        let tags = normalize_tags(&[
            "  Beach ".into(),
            "beach".into(),
            "".into(),
            "new   york".into(),
        ])
        .unwrap();
        assert_eq!(tags, ["Beach", "new york"]);
        assert!(normalize_tags(&["x".repeat(65)]).is_err());
    }
}
