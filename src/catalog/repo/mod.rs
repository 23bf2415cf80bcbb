//! SQL for photos: rows, lookups, listings (`query`), tags and likes (`tags`), and who may see
//! what (`visibility`).

use crate::db::ids::{PhotoId, UserId};
use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

pub mod query;
pub mod tags;
pub(crate) mod visibility;

use super::{AlbumRef, CameraInfo, Location, Origin, Photo, Status, Viewer, Visibility};
use crate::storage;
use visibility::{album_visible_sql, photo_detail_sql};

/// Columns of `photo_from_row`; `{viewer}` is the viewer's user id (or -1).
pub(super) fn photo_columns(viewer: Option<UserId>) -> String {
    let viewer = viewer.map_or(-1, UserId::get);
    format!(
        "p.id, p.owner_id, u.username, p.uuid, p.ext, p.title, p.description, p.original_filename,
         p.mime_type, p.size, p.width, p.height, p.checksum, p.taken_at, p.created_at, p.updated_at,
         p.deleted_at, p.visibility, p.is_favorite, p.status, p.status_reason, p.camera_make,
         p.camera_model, p.lens, p.iso, p.aperture, p.exposure_time, p.focal_length, p.orientation,
         p.latitude, p.longitude, p.altitude,
         (SELECT count(*) FROM photo_likes l WHERE l.photo_id = p.id),
         EXISTS (SELECT 1 FROM photo_likes l WHERE l.photo_id = p.id AND l.user_id = {viewer}),
         p.file_kind, p.file_path, p.import_root_id, r.path, p.origin_kind, p.origin_import_id,
         p.origin_path, p.offline"
    )
}

pub(super) const FROM: &str = "FROM photos p JOIN users u ON u.id = p.owner_id
     LEFT JOIN import_roots r ON r.id = p.import_root_id";

pub(super) fn photo_from_row(row: &Row<'_>) -> rusqlite::Result<Photo> {
    let visibility: String = row.get(17)?;
    let status: String = row.get(19)?;
    let latitude: Option<f64> = row.get(29)?;
    let longitude: Option<f64> = row.get(30)?;
    let file_kind: String = row.get(34)?;
    let file =
        storage::Location::from_columns(&file_kind, row.get(35)?, row.get(36)?, row.get(37)?)
            .ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    34,
                    rusqlite::types::Type::Text,
                    "a photo's file location is incomplete".into(),
                )
            })?;
    let origin_kind: String = row.get(38)?;
    let origin = match (origin_kind.as_str(), row.get(39)?, row.get(40)?) {
        ("import", Some(import_id), Some(path)) => Origin::Import { import_id, path },
        _ => Origin::Upload,
    };
    Ok(Photo {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        owner_username: row.get(2)?,
        uuid: row.get(3)?,
        ext: row.get(4)?,
        title: row.get(5)?,
        description: row.get(6)?,
        original_filename: row.get(7)?,
        mime_type: row.get(8)?,
        size: row.get(9)?,
        width: row.get(10)?,
        height: row.get(11)?,
        checksum: row.get(12)?,
        taken_at: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        deleted_at: row.get(16)?,
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
        is_favorite: row.get(18)?,
        status: Status::parse(&status).unwrap_or(Status::Processing),
        status_reason: row.get(20)?,
        camera: CameraInfo {
            camera_make: row.get(21)?,
            camera_model: row.get(22)?,
            lens: row.get(23)?,
            iso: row.get(24)?,
            aperture: row.get(25)?,
            exposure_time: row.get(26)?,
            focal_length: row.get(27)?,
            orientation: row.get(28)?,
        },
        location: match (latitude, longitude) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
                altitude: row.get(31)?,
            }),
            _ => None,
        },
        tags: Vec::new(),
        albums: Vec::new(),
        like_count: row.get(32)?,
        liked_by_me: row.get(33)?,
        file,
        origin,
        offline: row.get(41)?,
    })
}

/// A photo row to insert.
pub struct NewPhoto<'a> {
    pub owner_id: UserId,
    pub uuid: &'a str,
    pub ext: &'a str,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub original_filename: &'a str,
    pub mime_type: &'a str,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub checksum: &'a str,
    pub taken_at: Option<i64>,
    pub created_at: i64,
    pub visibility: Visibility,
    pub camera: &'a CameraInfo,
    pub location: Option<Location>,
    pub file: &'a storage::Location,
    pub origin: &'a Origin,
}

/// Inserts a photo; `Ok(None)` when the owner already has a photo with this checksum.
pub fn insert_photo(conn: &Connection, p: &NewPhoto<'_>) -> rusqlite::Result<Option<PhotoId>> {
    let result = conn.execute(
        "INSERT INTO photos (owner_id, uuid, ext, title, description, original_filename, mime_type,
            size, width, height, checksum, taken_at, created_at, updated_at, visibility,
            camera_make, camera_model, lens, iso, aperture, exposure_time, focal_length, orientation,
            latitude, longitude, altitude, file_kind, file_path, import_root_id, origin_kind,
            origin_import_id, origin_path)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14,
            ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
        params![
            p.owner_id,
            p.uuid,
            p.ext,
            p.title,
            p.description,
            p.original_filename,
            p.mime_type,
            p.size,
            p.width,
            p.height,
            p.checksum,
            p.taken_at,
            p.created_at,
            p.visibility.as_str(),
            p.camera.camera_make,
            p.camera.camera_model,
            p.camera.lens,
            p.camera.iso,
            p.camera.aperture,
            p.camera.exposure_time,
            p.camera.focal_length,
            p.camera.orientation,
            p.location.map(|l| l.latitude),
            p.location.map(|l| l.longitude),
            p.location.and_then(|l| l.altitude),
            p.file.kind(),
            p.file.key(),
            p.file.root_id(),
            p.origin.kind(),
            p.origin.import_id(),
            p.origin.path(),
        ],
    );
    crate::db::inserted_id(conn, result)
}

pub fn uuid_exists(conn: &Connection, uuid: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM photos WHERE uuid = ?1)",
        [uuid],
        |r| r.get(0),
    )
}

pub fn find_by_checksum(
    conn: &Connection,
    owner_id: UserId,
    checksum: &str,
) -> rusqlite::Result<Option<PhotoId>> {
    conn.query_row(
        "SELECT id FROM photos WHERE owner_id = ?1 AND checksum = ?2",
        params![owner_id, checksum],
        |r| r.get(0),
    )
    .optional()
}

/// Which of `checksums` the owner already has, with the photo ids.
pub fn existing_checksums(
    conn: &Connection,
    owner_id: UserId,
    checksums: &[String],
) -> rusqlite::Result<Vec<(String, PhotoId)>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM photos WHERE owner_id = ?1 AND checksum = ?2")?;
    let mut found = Vec::new();
    for checksum in checksums {
        if let Some(id) = stmt
            .query_row(params![owner_id, checksum], |r| r.get(0))
            .optional()?
        {
            found.push((checksum.clone(), id));
        }
    }
    Ok(found)
}

/// Which photo rows a lookup may return.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// What `viewer` may open: live photos they may see, and their own trashed ones (admins:
    /// every trashed one).
    Viewer(Viewer),
    /// Any row, for the daemon's own work (jobs, purges, a URL signature its caller checked).
    Any,
}

/// A photo with its tags and the albums the viewer sees it in, if `access` allows it.
pub fn find_photo(
    conn: &Connection,
    id: PhotoId,
    access: Access,
) -> rusqlite::Result<Option<Photo>> {
    let (viewer, condition) = match access {
        Access::Viewer(viewer) => (viewer, photo_detail_sql(viewer)),
        Access::Any => (Viewer::Anonymous, "1".to_string()),
    };
    let sql = format!(
        "SELECT {} {FROM} WHERE p.id = ?1 AND {condition}",
        photo_columns(viewer.user_id())
    );
    let photo = conn.query_row(&sql, [id], photo_from_row).optional()?;
    match photo {
        Some(photo) => {
            let mut photos = [photo];
            attach_tags_and_albums(conn, viewer, &mut photos)?;
            let [photo] = photos;
            Ok(Some(photo))
        }
        None => Ok(None),
    }
}

/// Fills in the tags of `photos` and the albums `viewer` may see them in.
pub(super) fn attach_tags_and_albums(
    conn: &Connection,
    viewer: Viewer,
    photos: &mut [Photo],
) -> rusqlite::Result<()> {
    let ids: Vec<PhotoId> = photos.iter().map(|p| p.id).collect();
    let mut tags = tags::tags_of(conn, &ids)?;
    let mut albums = albums_of(conn, &ids, viewer)?;
    for photo in photos {
        photo.tags = tags.remove(&photo.id).unwrap_or_default();
        photo.albums = albums.remove(&photo.id).unwrap_or_default();
    }
    Ok(())
}

/// The photos with these ids, in the order given (missing ones left out).
pub fn photos_by_ids(
    conn: &Connection,
    viewer: Viewer,
    ids: &[PhotoId],
) -> rusqlite::Result<Vec<Photo>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} {FROM} WHERE p.id IN ({})",
        photo_columns(viewer.user_id()),
        id_list(ids)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut found: HashMap<PhotoId, Photo> = stmt
        .query_map([], photo_from_row)?
        .map(|p| p.map(|p| (p.id, p)))
        .collect::<rusqlite::Result<_>>()?;
    let mut photos: Vec<Photo> = ids.iter().filter_map(|id| found.remove(id)).collect();
    attach_tags_and_albums(conn, viewer, &mut photos)?;
    Ok(photos)
}

pub(super) fn id_list(ids: &[PhotoId]) -> String {
    ids.iter()
        .map(PhotoId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn albums_of(
    conn: &Connection,
    ids: &[PhotoId],
    viewer: Viewer,
) -> rusqlite::Result<HashMap<PhotoId, Vec<AlbumRef>>> {
    let mut out: HashMap<PhotoId, Vec<AlbumRef>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT ap.photo_id, a.id, a.title FROM album_photos ap JOIN albums a ON a.id = ap.album_id
         WHERE ap.photo_id IN ({}) AND {} ORDER BY a.title COLLATE NOCASE, a.id",
        id_list(ids),
        album_visible_sql(viewer)
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, PhotoId>(0)?,
            AlbumRef {
                id: r.get(1)?,
                title: r.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (id, album) = row?;
        out.entry(id).or_default().push(album);
    }
    Ok(out)
}

/// Fields a photo update may change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct PhotoChange {
    pub title: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    pub is_favorite: Option<bool>,
    pub taken_at: Option<Option<i64>>,
}

pub fn update_photo(
    conn: &Connection,
    id: PhotoId,
    c: &PhotoChange,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET
            title = CASE WHEN ?2 THEN ?3 ELSE title END,
            description = CASE WHEN ?4 THEN ?5 ELSE description END,
            visibility = coalesce(?6, visibility),
            is_favorite = coalesce(?7, is_favorite),
            taken_at = CASE WHEN ?8 THEN ?9 ELSE taken_at END,
            updated_at = ?10
         WHERE id = ?1",
        params![
            id,
            c.title.is_some(),
            c.title.clone().flatten(),
            c.description.is_some(),
            c.description.clone().flatten(),
            c.visibility.map(Visibility::as_str),
            c.is_favorite,
            c.taken_at.is_some(),
            c.taken_at.flatten(),
            now
        ],
    )?;
    Ok(())
}

/// Stores EXIF read again; width and height swap when the orientation now turns the picture by
/// a quarter where it did not before (or the other way round), so they stay the size as displayed.
pub fn set_exif(
    conn: &Connection,
    id: PhotoId,
    camera: &CameraInfo,
    location: Option<Location>,
    taken_at: Option<i64>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET camera_make = ?2, camera_model = ?3, lens = ?4, iso = ?5, aperture = ?6,
            exposure_time = ?7, focal_length = ?8, orientation = ?9, latitude = ?10, longitude = ?11,
            altitude = ?12, taken_at = coalesce(?13, taken_at), updated_at = ?14,
            width = CASE WHEN (coalesce(orientation, 1) BETWEEN 5 AND 8)
                           != (coalesce(?9, 1) BETWEEN 5 AND 8) THEN height ELSE width END,
            height = CASE WHEN (coalesce(orientation, 1) BETWEEN 5 AND 8)
                            != (coalesce(?9, 1) BETWEEN 5 AND 8) THEN width ELSE height END
         WHERE id = ?1",
        params![
            id,
            camera.camera_make,
            camera.camera_model,
            camera.lens,
            camera.iso,
            camera.aperture,
            camera.exposure_time,
            camera.focal_length,
            camera.orientation,
            location.map(|l| l.latitude),
            location.map(|l| l.longitude),
            location.and_then(|l| l.altitude),
            taken_at,
            now
        ],
    )?;
    Ok(())
}

pub fn set_status(
    conn: &Connection,
    id: PhotoId,
    status: Status,
    reason: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE photos SET status = ?2, status_reason = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, status.as_str(), reason, now],
    )?;
    Ok(())
}

pub fn live_photo_ids(conn: &Connection) -> rusqlite::Result<Vec<PhotoId>> {
    let mut stmt = conn.prepare("SELECT id FROM photos WHERE deleted_at IS NULL ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect();
    ids
}

/// Every photo of `owner_id`, trashed ones too (the files of a deleted account).
pub fn photos_of_owner(conn: &Connection, owner_id: UserId) -> rusqlite::Result<Vec<Photo>> {
    let sql = format!(
        "SELECT {} {FROM} WHERE p.owner_id = ?1 ORDER BY p.id",
        photo_columns(None)
    );
    let mut stmt = conn.prepare(&sql)?;
    let photos = stmt.query_map([owner_id], photo_from_row)?.collect();
    photos
}
