//! `/api/v1/stats` and the admin views `/api/v1/admin/*` (API.md §11).

use crate::db::ids::UserId;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::types::Any;
use poem_openapi::{Enum, Object, OpenApi};

use super::envelope::{Envelope, Ok, Paging};
use super::params::{PageNumber, PerPage, Sort};
use super::photo_models::PhotoPage;
use super::photos::{parse_sort, photo_page};
use super::responses::{Forbidden, Reply};
use super::security::BearerAuth;
use super::{timestamp, ApiTags};
use crate::app::AppState;
use crate::catalog::filter::{ListParams, Scope, SortKey};
use crate::catalog::Viewer;
use crate::jobs::{JobRow, Jobs};
use crate::stats;

#[derive(Debug, Object)]
pub struct SystemStatsResponse {
    pub users: i64,
    /// Photos not in trash, of every user.
    pub photos: i64,
    /// Bytes of every original on disk, trash included.
    pub storage_used_bytes: i64,
    /// Free bytes on the file system of the data directory.
    pub disk_free_bytes: u64,
    /// Background jobs waiting or running.
    pub jobs_pending: i64,
    pub jobs_failed: i64,
    /// Originals not yet mirrored (0 while mirroring is off).
    pub mirror_pending: i64,
}

#[derive(Debug, Object)]
pub struct StatsResponse {
    /// The caller's photos not in trash.
    pub photos: i64,
    /// Albums the caller owns.
    pub albums: i64,
    /// Distinct tags on the caller's photos.
    pub tags: i64,
    /// Bytes of the caller's originals not in trash.
    pub storage_used_bytes: i64,
    /// Bytes of the caller's originals in trash.
    pub trash_bytes: i64,
    /// Admins only.
    #[oai(skip_serializing_if_is_none)]
    pub system: Option<SystemStatsResponse>,
}

/// A background job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Pending,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Object)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

#[derive(Debug, Object)]
pub struct JobResponse {
    pub id: i64,
    /// thumbnails, exif, tags (photo steps); purge_expired_trash, prune_sessions,
    /// prune_finished_jobs (scheduled housekeeping); ...
    pub kind: String,
    /// The photo the job works on, when it works on one.
    #[oai(nullable)]
    pub photo_id: Option<i64>,
    pub state: JobState,
    pub attempts: i64,
    /// Runs in all before the job fails for good; null when its kind retries until it
    /// succeeds (or is not run by this daemon).
    pub max_attempts: Option<i64>,
    /// When a pending job may run next.
    pub run_at: String,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Object)]
pub struct JobsResponse {
    /// Jobs per state (done jobs are pruned after a week).
    pub counts: JobCounts,
    pub items: Vec<JobResponse>,
    pub pagination: super::envelope::Pagination,
}

fn job_response(jobs: &Jobs, j: JobRow) -> JobResponse {
    let max_attempts = jobs
        .policy_of(&j.kind)
        .and_then(|p| p.max_attempts())
        .map(i64::from);
    let photo_id = serde_json::from_str::<serde_json::Value>(&j.payload)
        .ok()
        .and_then(|v| v.get("photo_id").and_then(serde_json::Value::as_i64));
    JobResponse {
        id: j.id.get(),
        kind: j.kind,
        photo_id,
        state: JobState::parse(&j.state).unwrap_or(JobState::Failed),
        attempts: j.attempts,
        max_attempts,
        run_at: timestamp(j.run_at),
        last_error: j.last_error,
        created_at: timestamp(j.created_at),
        updated_at: timestamp(j.updated_at),
    }
}

pub struct StatsApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl StatsApi {
    /// The caller's figures; admins also get `system`.
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self, state: Data<&AppState>, auth: BearerAuth) -> Reply<Ok<StatsResponse>> {
        let mine = stats::for_user(state.db(), auth.0.user_id).await?;
        let system = if auth.0.is_admin() {
            let s = stats::for_system(state.db(), state.catalog().storage()).await?;
            Some(SystemStatsResponse {
                users: s.users,
                photos: s.photos,
                storage_used_bytes: s.storage_used_bytes,
                disk_free_bytes: s.disk_free_bytes,
                jobs_pending: s.jobs_pending,
                jobs_failed: s.jobs_failed,
                mirror_pending: s.mirror_pending,
            })
        } else {
            None
        };
        Result::Ok(Envelope(StatsResponse {
            photos: mine.photos,
            albums: mine.albums,
            tags: mine.tags,
            storage_used_bytes: mine.storage_used_bytes,
            trash_bytes: mine.trash_bytes,
            system,
        }))
    }

    /// Every user's photos not in trash (admin only); `user_id` narrows to one owner. Sorted
    /// as `GET /photos`.
    #[oai(path = "/admin/photos", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn admin_photos(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// Only this user's photos.
        user_id: Query<Option<i64>>,
        sort: Query<Option<Sort<SortKey>>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<PhotoPage>, Forbidden> {
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let params = ListParams {
            owner_id: user_id.0.map(UserId),
            sort: parse_sort(sort.0, req)?,
            ..ListParams::page(Scope::Visible, paging.per_page, paging.offset())
        };
        Result::Ok(Envelope(
            photo_page(&state, Viewer::User(auth.0), params, paging).await?,
        ))
    }

    /// Background work (admin only): counts per state and the jobs, newest first; `state`
    /// narrows to pending, running, done or failed.
    #[oai(path = "/admin/jobs", method = "get")]
    async fn admin_jobs(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        #[oai(name = "state")] job_state: Query<Option<JobState>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Reply<Ok<JobsResponse>, Forbidden> {
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        let paging = Paging::from_query(page.0, per_page.0, req)?;
        let filter = job_state.0.map(|s| s.as_str().to_string());
        let (limit, offset) = (paging.per_page, paging.offset());
        let jobs = state.jobs();
        let list = jobs.list(filter, limit, offset).await?;
        let count = |name: &str| {
            list.counts
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n)
        };
        let items = list.items.into_iter().map(|j| job_response(jobs, j));
        let page = paging.page_of(items.collect(), list.total);
        Result::Ok(Envelope(JobsResponse {
            counts: JobCounts {
                pending: count("pending"),
                running: count("running"),
                done: count("done"),
                failed: count("failed"),
            },
            items: page.items,
            pagination: page.pagination,
        }))
    }

    /// The effective configuration (admin only), secrets masked.
    #[oai(path = "/admin/settings", method = "get")]
    async fn admin_settings(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Reply<Ok<Any<serde_json::Value>>, Forbidden> {
        auth.0
            .require_admin()
            .map_err(crate::error::AppError::from)?;
        Result::Ok(Envelope(Any(state.config().masked())))
    }
}
