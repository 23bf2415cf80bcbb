//! Avatar upload and lookup. Files live in `<data_dir>/avatars/<user_id>.jpg`; each is written
//! to a temporary file, fsynced and renamed into place before the row points at it.

use crate::db::ids::UserId;
use std::io::Write;
use std::path::PathBuf;

use super::{blocking, repo, Accounts, Caller, User, UserError};
use crate::db::now;
use crate::error::AppError;
use crate::media::avatar::render_avatar;

impl Accounts {
    /// Stores a resized avatar for the caller and returns the updated user.
    pub async fn set_avatar(&self, caller: &Caller, bytes: Vec<u8>) -> Result<User, AppError> {
        let jpeg = blocking(move || render_avatar(&bytes)).await??;
        let id = caller.user_id;
        let path = self.avatar_path(id);
        blocking(move || write_atomically(&path, &jpeg)).await??;
        self.db()
            .run(move |conn| {
                let now = now();
                repo::set_avatar(conn, id, &format!("/api/v1/users/{id}/avatar?v={now}"), now)?;
                Ok(repo::find_user(conn, id)?.ok_or(UserError::NotFound)?)
            })
            .await
    }

    /// The avatar file of a user and when it changed; not found when they have none.
    pub async fn avatar_file(&self, user_id: UserId) -> Result<(PathBuf, i64), AppError> {
        let updated = self
            .db()
            .run(move |conn| Ok(repo::avatar_updated_at(conn, user_id)?))
            .await?
            .ok_or(UserError::NotFound)?;
        let path = self.avatar_path(user_id);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(UserError::NotFound.into());
        }
        Ok((path, updated))
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
    let dir = path
        .parent()
        .ok_or_else(|| AppError::Internal("avatar path has no parent".into()))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| AppError::Io(e.error))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
