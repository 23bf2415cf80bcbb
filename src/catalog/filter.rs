//! Which photos a listing is about, in what order: typed, so that the SQL made of it (in
//! `repo`) always carries whose photos they are.

use super::{Status, Visibility};
use crate::db::ids::{AlbumId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The caller's own photos.
    Mine,
    /// Photos the caller sees through the family, own included.
    Family,
    /// Every photo the viewer may see (album pages, admin views).
    Visible,
    /// Public photos (the community feed).
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    TakenAt,
    CreatedAt,
    UpdatedAt,
    Title,
    Size,
    Likes,
    /// When the photo went to the trash (trash listings).
    DeletedAt,
}

impl SortKey {
    /// `taken_at`, `-created_at`, ...; `None` for an unknown field.
    pub fn parse(text: &str) -> Option<(SortKey, bool)> {
        let (field, descending) = split_sort(text);
        let key = match field {
            "taken_at" => SortKey::TakenAt,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "title" => SortKey::Title,
            "size" => SortKey::Size,
            "likes" | "like_count" => SortKey::Likes,
            _ => return None,
        };
        Some((key, descending))
    }
}

/// `-field` → (`field`, descending); `field` → (`field`, ascending).
pub fn split_sort(text: &str) -> (&str, bool) {
    match text.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// Filters of `GET /photos`.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub scope: Scope,
    /// Photos of this owner only.
    pub owner_id: Option<UserId>,
    /// Photos in this album, which the viewer must be able to see (else `AlbumNotFound`).
    pub album_id: Option<AlbumId>,
    pub tag: Option<String>,
    pub favorite: Option<bool>,
    pub year: Option<i32>,
    pub month: Option<u32>,
    pub visibility: Option<Visibility>,
    pub status: Option<Status>,
    /// The caller's trash instead of live photos (with `Scope::Mine`).
    pub trash: bool,
    pub sort: (SortKey, bool),
    pub limit: i64,
    pub offset: i64,
}

impl ListParams {
    /// No filters, newest first by `taken_at`.
    pub fn page(scope: Scope, limit: i64, offset: i64) -> Self {
        Self {
            scope,
            owner_id: None,
            album_id: None,
            tag: None,
            favorite: None,
            year: None,
            month: None,
            visibility: None,
            status: None,
            trash: false,
            sort: (SortKey::TakenAt, true),
            limit,
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_parse() {
        assert_eq!(SortKey::parse("-taken_at"), Some((SortKey::TakenAt, true)));
        assert_eq!(SortKey::parse("size"), Some((SortKey::Size, false)));
        assert_eq!(SortKey::parse("owner"), None);
        assert_eq!(SortKey::parse("--size"), None);
    }
}
