//! Deleting a user: one transaction over every table the user appears in (the checks, the family
//! handed on, the user's photos, albums, sessions and tus uploads), then the files. A crash
//! before the commit changes nothing; a crash after it leaves only files without rows, never a
//! row without its file.

use crate::auth::users::deletable;
use crate::auth::{repo as auth_repo, Accounts, Caller, UserError};
use crate::catalog::repo as catalog_repo;
use crate::catalog::service::file_key;
use crate::crash_points;
use crate::db::ids::UserId;
use crate::db::{now, write_tx, Db};
use crate::error::AppError;
use crate::sharing::family::leave_family;
use crate::storage::Storage;
use crate::uploads::{repo as uploads_repo, Uploads};

/// The one service that deletes accounts (`DELETE /users/{id}`).
#[derive(Clone)]
pub struct AccountRemoval {
    db: Db,
    storage: Storage,
    accounts: Accounts,
    uploads: Uploads,
}

impl AccountRemoval {
    pub fn new(db: Db, storage: Storage, accounts: Accounts, uploads: Uploads) -> Self {
        Self {
            db,
            storage,
            accounts,
            uploads,
        }
    }

    /// Deletes `user_id` (admins only, never themselves). Without `purge` a user who owns photos
    /// is a conflict; with it their photos, albums and files go too. A family they own passes to
    /// its longest-standing member (or ends with its last member), as when they leave it.
    pub async fn delete(
        &self,
        caller: &Caller,
        user_id: UserId,
        purge: bool,
    ) -> Result<(), AppError> {
        caller.require_admin()?;
        if user_id == caller.user_id {
            return Err(UserError::DeleteSelf.into());
        }
        let (photos, uploads) = self
            .db
            .run(move |conn| {
                let tx = write_tx(conn)?;
                deletable(&tx, user_id, purge)?;
                leave_family(&tx, user_id, now())?;
                let photos = catalog_repo::photos_of_owner(&tx, user_id)?;
                let uploads = uploads_repo::ids_of_owner(&tx, user_id)?;
                // Photos, albums, sessions, likes, memberships and uploads go with the user
                // (foreign keys).
                auth_repo::delete_user(&tx, user_id)?;
                crash_points::reached("delete_user.before_commit");
                tx.commit()?;
                Ok((photos, uploads))
            })
            .await?;
        self.accounts.forget_user(user_id);
        self.uploads.remove_files_of_deleted(uploads).await;
        let avatar = self.accounts.avatar_path(user_id);
        let storage = self.storage.clone();
        let removed = tokio::task::spawn_blocking(move || {
            for photo in &photos {
                // Photox's own copies go; a household's file in an import root never does.
                storage.remove_original(&photo.file, file_key(photo));
                storage.remove_renditions(file_key(photo));
            }
            match std::fs::remove_file(&avatar) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await;
        match removed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::warn!("could not remove the avatar of deleted user {user_id}: {e}"),
            Err(e) => log::warn!("removing the files of deleted user {user_id} failed: {e}"),
        }
        Ok(())
    }
}
