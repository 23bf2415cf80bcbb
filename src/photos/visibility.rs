//! Who may see and who may change a photo: the one place that decides (API.md §5). Listings,
//! details and file routes all use `photo_visible_sql`, so page totals are exact and a new case
//! (families, public albums) is one change here.

use super::{Photo, PhotoError, Viewer};

/// A SQL condition over `p` (a `photos` row) that holds when `viewer` may see the photo.
/// Trash is handled by the callers: trashed photos are only ever shown to their owner.
pub fn photo_visible_sql(viewer: Viewer) -> String {
    match viewer {
        Viewer::Anonymous => "p.visibility = 'public'".to_string(),
        Viewer::User(caller) if caller.is_admin() => "1".to_string(),
        Viewer::User(caller) => format!(
            "(p.owner_id = {me} OR p.visibility = 'public' OR (p.visibility = 'family' AND {family}))",
            me = caller.user_id,
            family = same_family_sql(caller.user_id),
        ),
    }
}

/// The owner of `p` and user `me` are in the same family.
fn same_family_sql(me: i64) -> String {
    format!(
        "EXISTS (SELECT 1 FROM users o JOIN users m ON m.family_id = o.family_id
                 WHERE o.id = p.owner_id AND m.id = {me} AND o.family_id IS NOT NULL)"
    )
}

/// Photos `me` sees through the family: their own and those of family members shared with
/// the family or the public.
pub fn family_scope_sql(me: i64) -> String {
    format!(
        "(p.owner_id = {me} OR (p.visibility IN ('family', 'public') AND {family}))",
        family = same_family_sql(me)
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

/// Changes are for the owner and admins; anybody else who can see the photo gets 403.
pub fn ensure_can_modify(viewer: Viewer, photo: &Photo) -> Result<(), PhotoError> {
    match viewer {
        Viewer::User(c) if c.user_id == photo.owner_id || c.is_admin() => Ok(()),
        _ => Err(PhotoError::NotOwner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Caller, Role};

    fn user(id: i64, role: Role) -> Viewer {
        Viewer::User(Caller {
            user_id: id,
            session_id: 1,
            role,
        })
    }

    #[test]
    fn conditions_per_viewer() {
        assert_eq!(
            photo_visible_sql(Viewer::Anonymous),
            "p.visibility = 'public'"
        );
        assert_eq!(photo_visible_sql(user(1, Role::Admin)), "1");
        assert!(photo_visible_sql(user(42, Role::User)).contains("p.owner_id = 42"));
    }
}
