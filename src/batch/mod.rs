//! `POST /photos/batch`: one action over many photos, each succeeding or failing on its own.

use crate::auth::Caller;
use crate::catalog::repo::{self, PhotoChange};
use crate::catalog::service::normalize_tags;
use crate::catalog::visibility::ensure_can_modify;
use crate::catalog::{Catalog, PhotoError, Viewer, Visibility};
use crate::db::ids::{AlbumId, PhotoId};
use crate::error::{AppError, ValidationErrors};
use crate::sharing::members::Members;
use crate::trash::Trash;

/// Most photos one batch may name.
pub const MAX_BATCH: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum BatchAction {
    Delete,
    Restore,
    Purge,
    Favorite,
    Unfavorite,
    SetVisibility(Visibility),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    AddToAlbum(AlbumId),
    RemoveFromAlbum(AlbumId),
}

/// One action over many photos, through the services that own each kind of change.
#[derive(Clone)]
pub struct Batch {
    catalog: Catalog,
    trash: Trash,
    members: Members,
}

impl Batch {
    pub fn new(catalog: Catalog, trash: Trash, members: Members) -> Self {
        Self {
            catalog,
            trash,
            members,
        }
    }

    /// Applies `action` to each photo; returns the ids that succeeded and the failures.
    pub async fn batch(
        &self,
        caller: &Caller,
        ids: Vec<PhotoId>,
        action: BatchAction,
    ) -> Result<(Vec<PhotoId>, Vec<(PhotoId, AppError)>), AppError> {
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(ValidationErrors::single(
                "photo_ids",
                "must name 1 to 500 photos",
                "OUT_OF_RANGE",
            )
            .into());
        }
        let action = match action {
            BatchAction::AddTags(t) => BatchAction::AddTags(normalize_tags(&t)?),
            BatchAction::RemoveTags(t) => BatchAction::RemoveTags(normalize_tags(&t)?),
            other => other,
        };
        let viewer = Viewer::User(*caller);
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for id in ids.into_iter().filter(|id| seen.insert(*id)) {
            match self.apply(viewer, id, &action).await {
                Ok(()) => done.push(id),
                Err(e) => failed.push((id, e)),
            }
        }
        Ok((done, failed))
    }

    async fn apply(
        &self,
        viewer: Viewer,
        id: PhotoId,
        action: &BatchAction,
    ) -> Result<(), AppError> {
        let change = |c: PhotoChange| async move {
            self.catalog
                .update_photo(viewer, id, c, None)
                .await
                .map(|_| ())
        };
        match action {
            BatchAction::Delete => self.trash.trash_photo(viewer, id).await,
            BatchAction::Restore => self.trash.restore_photo(viewer, id).await.map(|_| ()),
            BatchAction::Purge => self.trash.purge_photo(viewer, id).await,
            BatchAction::Favorite => {
                change(PhotoChange {
                    is_favorite: Some(true),
                    ..Default::default()
                })
                .await
            }
            BatchAction::Unfavorite => {
                change(PhotoChange {
                    is_favorite: Some(false),
                    ..Default::default()
                })
                .await
            }
            BatchAction::SetVisibility(v) => {
                change(PhotoChange {
                    visibility: Some(*v),
                    ..Default::default()
                })
                .await
            }
            BatchAction::AddTags(tags) | BatchAction::RemoveTags(tags) => {
                let photo = self.catalog.get_photo(viewer, id).await?;
                ensure_can_modify(viewer, &photo)?;
                if photo.deleted_at.is_some() {
                    return Err(PhotoError::InTrash.into());
                }
                let (tags, add) = (tags.clone(), matches!(action, BatchAction::AddTags(_)));
                self.catalog
                    .db
                    .run(move |conn| {
                        if add {
                            let weighted: Vec<(String, f64)> =
                                tags.into_iter().map(|t| (t, 1.0)).collect();
                            repo::tags::add_tags(conn, id, "manual", &weighted)?;
                        } else {
                            repo::tags::remove_tags(conn, id, "manual", &tags)?;
                        }
                        Ok(())
                    })
                    .await
            }
            BatchAction::AddToAlbum(album) => {
                let mut outcome = self.members.add_to_album(viewer, *album, vec![id]).await?;
                match outcome.failed.pop() {
                    Some((_, e)) => Err(e),
                    None => Ok(()),
                }
            }
            BatchAction::RemoveFromAlbum(album) => {
                let removed = self
                    .members
                    .remove_from_album(viewer, *album, vec![id])
                    .await?;
                if removed.is_empty() {
                    return Err(PhotoError::NotInAlbum.into());
                }
                Ok(())
            }
        }
    }
}
