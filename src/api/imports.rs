//! `/api/v1/admin/imports`: the watched import folders and their state (API.md §14).

use crate::db::ids::ImportRootId;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{Enum, Object, OpenApi};

use super::envelope::{Accepted, Envelope, Null, Ok};
use super::responses::{Forbidden, NotFound, Reply};
use super::security::BearerAuth;
use super::{timestamp, ApiTags};
use crate::app::AppState;
use crate::config::ImportMode;
use crate::error::AppError;
use crate::import::watched::ImportStatus;
use crate::import::watcher::Watching;

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "kebab-case")]
pub enum ImportModeName {
    Copy,
    Move,
    InPlace,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum WatchName {
    /// File-system events (and the scans they trigger).
    Events,
    /// Scans only: a network or FUSE file system, `watch = "poll"`, or watching failed.
    Poll,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ImportState {
    Idle,
    Scanning,
    /// The last scan found the folder missing, empty or with more than half of its known files
    /// gone at once; nothing was changed (`reason` says why).
    Paused,
}

/// One `[[import]]` folder.
#[derive(Debug, Object)]
pub struct ImportResponse {
    /// Kept as long as the folder's path is unchanged.
    pub id: i64,
    pub path: String,
    /// Username of the photos' owner.
    pub owner: String,
    pub mode: ImportModeName,
    pub watch: WatchName,
    pub state: ImportState,
    /// Why the folder is paused, or why it is polled; null when neither.
    #[oai(nullable)]
    pub reason: Option<String>,
    /// When the last scan ended; null before the first.
    #[oai(nullable)]
    pub last_scan_at: Option<String>,
    /// Files below the folder known to the last scans.
    pub files_seen: i64,
    pub imported: i64,
    /// Files whose bytes the owner already had.
    pub duplicates: i64,
    /// Files that are not photo formats Photox stores.
    pub skipped: i64,
    /// Supported files that could not be stored; tried again when they change.
    pub failed: i64,
    /// Files still settling (being written) or not yet taken.
    pub pending: i64,
    /// In-place photos whose files are missing from the folder.
    pub offline: i64,
}

#[derive(Debug, Object)]
pub struct ImportsResponse {
    pub items: Vec<ImportResponse>,
}

fn import_response(s: ImportStatus) -> ImportResponse {
    let c = s.counts;
    let (state, reason) = match (&c.paused_reason, s.scanning, &s.watching) {
        (_, true, _) => (ImportState::Scanning, None),
        (Some(why), false, _) => (ImportState::Paused, Some(why.clone())),
        (None, false, _) => (ImportState::Idle, None),
    };
    let (watch, poll_reason) = match s.watching {
        Watching::Events => (WatchName::Events, None),
        Watching::Poll(why) => (WatchName::Poll, Some(why)),
    };
    ImportResponse {
        id: s.id.get(),
        path: s.path.to_string_lossy().into_owned(),
        owner: s.owner,
        mode: match s.mode {
            ImportMode::Copy => ImportModeName::Copy,
            ImportMode::Move => ImportModeName::Move,
            ImportMode::InPlace => ImportModeName::InPlace,
        },
        watch,
        state,
        reason: reason.or(c.paused_reason).or(poll_reason),
        last_scan_at: c.last_scan_at.map(timestamp),
        files_seen: c.files_seen,
        imported: c.imported,
        duplicates: c.duplicates,
        skipped: c.skipped,
        failed: c.failed,
        pending: c.pending,
        offline: c.offline,
    }
}

pub struct ImportsApi;

#[OpenApi(prefix_path = "/admin/imports", tag = "ApiTags::Admin")]
impl ImportsApi {
    /// The watched import folders (admin only) with their state and counts.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Reply<Ok<ImportsResponse>, Forbidden> {
        auth.0.require_admin().map_err(AppError::from)?;
        let items = state.watched().status().await?;
        Result::Ok(Envelope(ImportsResponse {
            items: items.into_iter().map(import_response).collect(),
        }))
    }

    /// Scans a folder now (admin only). A folder paused because more than half of its known
    /// files are gone is reconciled by this scan (the loss is taken as meant); a missing or
    /// empty folder stays paused.
    #[oai(path = "/:id/rescan", method = "post")]
    async fn rescan(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Reply<Accepted<Null>, (Forbidden, NotFound)> {
        auth.0.require_admin().map_err(AppError::from)?;
        if !state.watched().rescan(ImportRootId(id.0)).await? {
            return Err(super::error::ApiError::not_found("no such import folder").into());
        }
        Result::Ok(Envelope(Null))
    }
}
