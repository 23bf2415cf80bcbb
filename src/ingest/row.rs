//! The row of a new photo, its steps and jobs, and its album membership: one transaction.

use super::{Checked, Ingest, Ingested, Meta};
use crate::catalog::repo::{self, NewPhoto};
use crate::catalog::{CameraInfo, Location as GpsLocation, Viewer};
use crate::db::ids::PhotoId;
use crate::error::AppError;
use crate::processing::repo as steps_repo;
use crate::processing::{queue_step_in, MakeThumbnails, TagPhoto, TAGGING_OFF};
use crate::sharing::members::{add_own_photo, check_album_accepts, insert_member, touch_album};
use crate::storage::Location;

pub(super) struct NewRow {
    pub meta: Meta,
    pub uuid: String,
    pub created_at: i64,
    pub checked: Checked,
    pub location: Location,
}

impl Ingest {
    /// Commits the row with its steps, jobs and album membership. `Err(Some(id))`: the owner's
    /// photo `id` with the same bytes arrived meanwhile (the first one is kept).
    pub(super) async fn commit(
        &self,
        new: NewRow,
    ) -> Result<Result<PhotoId, Option<PhotoId>>, AppError> {
        let tagging = self.tagging;
        let committed = self
            .db
            .run(move |conn| {
                let NewRow {
                    meta,
                    uuid,
                    created_at,
                    checked,
                    location: file,
                } = new;
                let viewer = Viewer::User(meta.owner);
                let tx = crate::db::write_tx(conn)?;
                if let Some(album) = meta.album_id {
                    // Checked again: the album may have gone while the bytes arrived.
                    check_album_accepts(&tx, viewer, album)?;
                }
                let camera = CameraInfo::from_exif(&checked.exif);
                let photo = NewPhoto {
                    owner_id: meta.owner.user_id,
                    uuid: &uuid,
                    ext: checked.kind.extension(),
                    title: meta.title.as_deref(),
                    description: meta.description.as_deref(),
                    original_filename: &meta.filename,
                    mime_type: checked.kind.mime_type(),
                    size: checked.size as i64,
                    width: checked.dimensions.0.into(),
                    height: checked.dimensions.1.into(),
                    checksum: &checked.checksum,
                    taken_at: checked.exif.taken_at,
                    created_at,
                    visibility: meta.visibility,
                    camera: &camera,
                    location: GpsLocation::from_exif(&checked.exif),
                    file: &file,
                    origin: &meta.origin,
                };
                let Some(id) = repo::insert_photo(&tx, &photo)? else {
                    let owner = meta.owner.user_id;
                    return Ok(Err(repo::find_by_checksum(&tx, owner, &checked.checksum)?));
                };
                steps_repo::set_step(&tx, id, "stored", "done", None, created_at)?;
                let exif_step = if checked.exif.is_empty() {
                    "skipped"
                } else {
                    "done"
                };
                steps_repo::set_step(&tx, id, "exif", exif_step, None, created_at)?;
                queue_step_in(&tx, &MakeThumbnails { photo_id: id }, created_at)?;
                if let Some(album) = meta.album_id {
                    insert_member(&tx, album, id, created_at)?;
                    touch_album(&tx, album, created_at)?;
                }
                if tagging {
                    queue_step_in(&tx, &TagPhoto { photo_id: id }, created_at)?;
                } else {
                    steps_repo::set_step(
                        &tx,
                        id,
                        "tags",
                        "skipped",
                        Some(TAGGING_OFF),
                        created_at,
                    )?;
                }
                tx.commit()?;
                Ok(Ok(id))
            })
            .await?;
        if committed.is_ok() {
            self.jobs.wake();
        }
        Ok(committed)
    }

    /// The owner already has these bytes: that photo, put into `meta.album_id` if one was named.
    pub(super) async fn duplicate(&self, meta: &Meta, id: PhotoId) -> Result<Ingested, AppError> {
        if let Some(album) = meta.album_id {
            let viewer = Viewer::User(meta.owner);
            self.db
                .run(move |conn| {
                    let tx = crate::db::write_tx(conn)?;
                    check_album_accepts(&tx, viewer, album)?;
                    let now = crate::db::now();
                    if add_own_photo(&tx, viewer, album, id, now)? {
                        touch_album(&tx, album, now)?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await?;
        }
        Ok(Ingested {
            photo_id: id,
            duplicate: true,
        })
    }
}
