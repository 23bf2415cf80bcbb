//! Who is looking, and who may change a photo. Who may *see* a photo or an album is decided in
//! one place, as SQL inside the repo modules (`catalog::repo::visibility`), from the typed
//! viewer and scope the services pass: listings, search, details and file routes all use it,
//! so page totals are exact and no caller can forget a condition.
//!
//! A photo is visible to its owner, to admins, to everyone when it is `public` or inside a
//! public album of its owner, to members of the owner's family when it is `family` or inside a
//! `family` album of that family. An album is visible to its owner, to admins, to everyone when
//! `public`, and to the owner's family when `family`.

use crate::auth::Caller;
use crate::catalog::{Photo, PhotoError};
use crate::db::ids::UserId;

/// Who is looking: nobody (public access) or a logged-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    User(Caller),
}

impl Viewer {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User(c) => Some(c.user_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::User(c) if c.is_admin())
    }
}

impl From<Option<Caller>> for Viewer {
    fn from(caller: Option<Caller>) -> Self {
        caller.map(Viewer::User).unwrap_or(Viewer::Anonymous)
    }
}

/// Changes are for the owner and admins; anybody else who can see the photo gets 403.
pub fn ensure_can_modify(viewer: Viewer, photo: &Photo) -> Result<(), PhotoError> {
    match viewer {
        Viewer::User(c) if c.user_id == photo.owner_id || c.is_admin() => Ok(()),
        _ => Err(PhotoError::NotOwner),
    }
}
