//! The concatenation extension: partial uploads (sent in parallel, as tus-js-client's
//! `parallelUploads` does) put together by a final upload, which becomes the photo at once.
//! The parts are consumed: whether the photo is made or refused, they are removed.

use futures_util::StreamExt;

use super::repo::{self, UploadRow};
use super::{check_id, Kind, Upload, UploadError, Uploads, TAKEOVER_WAIT};
use crate::auth::Caller;
use crate::db::now;
use crate::ingest::{receive, Source};

impl Uploads {
    /// Makes the photo of `owner`'s finished partial uploads `parts`, in that order, described
    /// by `metadata`; `concat` is the request's `Upload-Concat`, kept for `HEAD`.
    pub async fn concatenate(
        &self,
        owner: Caller,
        parts: Vec<String>,
        concat: String,
        metadata: String,
    ) -> Result<Upload, UploadError> {
        let meta = self.ingest_meta(owner, &metadata).await?;
        if parts.is_empty() {
            return Err(UploadError::BadHeader {
                header: "Upload-Concat",
                message: "names no partial upload".into(),
            });
        }
        for (i, id) in parts.iter().enumerate() {
            check_id(id).map_err(|_| UploadError::PartNotFound)?;
            if parts[..i].contains(id) {
                return Err(UploadError::BadHeader {
                    header: "Upload-Concat",
                    message: "names a partial upload twice".into(),
                });
            }
        }
        // Whose they are first: another user's request never stops a request on a part.
        for id in &parts {
            self.find(owner, id)
                .await
                .map_err(|_| UploadError::PartNotFound)?;
        }
        let mut locks = Vec::with_capacity(parts.len());
        for id in &parts {
            let lock = self.inner.locks.acquire(id, TAKEOVER_WAIT).await;
            locks.push(lock.ok_or(UploadError::Busy)?);
        }
        let mut total: u64 = 0;
        for id in &parts {
            let mut row = self.find(owner, id).await.map_err(|e| match e {
                UploadError::NotFound => UploadError::PartNotFound,
                e => e,
            })?;
            if row.kind != Kind::Partial {
                return Err(UploadError::BadHeader {
                    header: "Upload-Concat",
                    message: "names an upload that is not partial".into(),
                });
            }
            let offset = self.reconcile(&mut row).await?;
            match row.length {
                Some(length) if length == offset => total = total.saturating_add(length),
                _ => return Err(UploadError::PartUnfinished(id.clone())),
            }
        }
        self.check_size(total)?;
        // The parts are read into a copy under `tmp/` while the final is made.
        self.ensure_room(total)?;
        let paths: Vec<_> = parts.iter().map(|id| self.path_of(id)).collect();
        let body = futures_util::stream::iter(paths)
            .then(tokio::fs::File::open)
            .map(|opened| match opened {
                Ok(file) => receive::file_stream(file).boxed(),
                Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten();
        let made = self
            .inner
            .ingest
            .ingest(Source::Stream(Box::pin(body)), meta)
            .await;
        let created_at = now();
        let row = UploadRow {
            id: uuid::Uuid::new_v4().simple().to_string(),
            owner_id: owner.user_id,
            kind: Kind::Final,
            length: Some(total),
            durable_offset: total,
            metadata,
            concat: Some(concat),
            photo: made.as_ref().ok().map(|m| (m.photo_id, m.duplicate)),
            created_at,
            expires_at: created_at + self.expire_secs(),
        };
        let consumed = {
            let (parts, row) = (parts.clone(), row.clone());
            self.inner
                .db
                .run(move |conn| {
                    let tx = crate::db::write_tx(conn)?;
                    for id in &parts {
                        repo::delete(&tx, id)?;
                    }
                    if row.photo.is_some() {
                        repo::insert(&tx, &row)?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
        };
        for id in &parts {
            self.remove_file(id).await;
        }
        drop(locks);
        let made = made?;
        if let Err(e) = consumed {
            log::error!("a concatenated upload's parts could not be removed: {e}");
        }
        let mut upload = self.upload_of(&row, total);
        upload.photo = Some(made);
        Ok(upload)
    }
}
