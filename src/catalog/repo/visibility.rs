//! The SQL of who may see what (API.md §5, §6), for the repo modules only. A photo is visible
//! to its owner, to admins, to everyone when it is `public` or inside a public album of its
//! owner, to members of the owner's family when it is `family` or inside a `family` album of
//! that family. An album is visible to its owner, to admins, to everyone when `public`, and to
//! the owner's family when `family`.

use crate::catalog::Viewer;
use crate::db::ids::UserId;

/// User `user` (a SQL expression) is in the same family as user `me`. SQLite evaluates the
/// uncorrelated side once per statement; `NULL = NULL` is not true, so no family, no match.
fn same_family(user: &str, me: UserId) -> String {
    format!(
        "((SELECT family_id FROM users WHERE id = {user}) = (SELECT family_id FROM users WHERE id = {me}))"
    )
}

/// `p` is in an album of its owner that is public.
const IN_PUBLIC_ALBUM: &str =
    "EXISTS (SELECT 1 FROM album_photos ap JOIN albums a ON a.id = ap.album_id
     WHERE ap.photo_id = p.id AND a.visibility = 'public' AND a.owner_id = p.owner_id)";

/// `p` is in a family album of `me`'s family and its owner is in that family too.
fn in_family_album(me: UserId) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM album_photos ap JOIN albums a ON a.id = ap.album_id
                  WHERE ap.photo_id = p.id AND a.visibility = 'family' AND {album_family})
          AND {photo_family})",
        album_family = same_family("a.owner_id", me),
        photo_family = same_family("p.owner_id", me),
    )
}

/// A SQL condition over `p` (a `photos` row) that holds when `viewer` may see the photo.
/// Trash is handled by the callers: trashed photos are only ever shown to their owner.
pub fn photo_visible_sql(viewer: Viewer) -> String {
    match viewer {
        Viewer::Anonymous => format!("(p.visibility = 'public' OR {IN_PUBLIC_ALBUM})"),
        Viewer::User(caller) if caller.is_admin() => "1".to_string(),
        Viewer::User(caller) => {
            let me = caller.user_id;
            format!(
                "(p.owner_id = {me} OR p.visibility = 'public' OR {IN_PUBLIC_ALBUM}
                  OR (p.visibility = 'family' AND {family}) OR {family_album})",
                family = same_family("p.owner_id", me),
                family_album = in_family_album(me),
            )
        }
    }
}

/// Photos `me` sees through the family: their own and those family members share with the
/// family (or the public), directly or through a family album.
pub fn family_scope_sql(me: UserId) -> String {
    format!(
        "(p.owner_id = {me} OR (p.visibility IN ('family', 'public') AND {family}) OR {family_album})",
        family = same_family("p.owner_id", me),
        family_album = in_family_album(me),
    )
}

/// Condition for a detail view: a live photo the viewer may see, or a trashed one of their own
/// (admins see every trashed photo too).
pub fn photo_detail_sql(viewer: Viewer) -> String {
    let trashed_visible = match viewer {
        Viewer::Anonymous => "0".to_string(),
        Viewer::User(c) if c.is_admin() => "1".to_string(),
        Viewer::User(c) => format!("p.owner_id = {}", c.user_id),
    };
    format!(
        "((p.deleted_at IS NULL AND {}) OR (p.deleted_at IS NOT NULL AND {trashed_visible}))",
        photo_visible_sql(viewer)
    )
}

/// A SQL condition over `a` (an `albums` row) that holds when `viewer` may see the album.
pub fn album_visible_sql(viewer: Viewer) -> String {
    match viewer {
        Viewer::Anonymous => "a.visibility = 'public'".to_string(),
        Viewer::User(caller) if caller.is_admin() => "1".to_string(),
        Viewer::User(caller) => {
            let me = caller.user_id;
            format!(
                "(a.owner_id = {me} OR a.visibility = 'public' OR (a.visibility = 'family' AND {family}))",
                family = same_family("a.owner_id", me),
            )
        }
    }
}

/// Albums `me` sees through the family: their own and family members' family or public albums.
pub fn album_family_scope_sql(me: UserId) -> String {
    format!(
        "(a.owner_id = {me} OR (a.visibility IN ('family', 'public') AND {family}))",
        family = same_family("a.owner_id", me),
    )
}

/// A SQL condition over `a` that holds when `viewer` may put their own photos into the album:
/// its owner, an admin, or a member of the owner's family when the album is a family album.
pub fn album_accepts_photos_sql(viewer: Viewer) -> String {
    match viewer {
        Viewer::Anonymous => "0".to_string(),
        Viewer::User(caller) if caller.is_admin() => "1".to_string(),
        Viewer::User(caller) => {
            let me = caller.user_id;
            format!(
                "(a.owner_id = {me} OR (a.visibility = 'family' AND {family}))",
                family = same_family("a.owner_id", me),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Caller;
    use crate::auth::Role;

    fn user(id: i64, role: Role) -> Viewer {
        Viewer::User(Caller {
            user_id: UserId(id),
            session_id: crate::db::ids::SessionId(1),
            role,
        })
    }

    #[test]
    fn conditions_per_viewer() {
        assert!(photo_visible_sql(Viewer::Anonymous).starts_with("(p.visibility = 'public' OR"));
        assert_eq!(photo_visible_sql(user(1, Role::Admin)), "1");
        assert!(photo_visible_sql(user(42, Role::User)).contains("p.owner_id = 42"));
        assert_eq!(
            album_visible_sql(Viewer::Anonymous),
            "a.visibility = 'public'"
        );
        assert_eq!(album_accepts_photos_sql(Viewer::Anonymous), "0");
        assert!(album_accepts_photos_sql(user(7, Role::User)).contains("a.owner_id = 7"));
    }
}
