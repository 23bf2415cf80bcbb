//! The timeline (API.md §10): photo counts per year and month on `taken_at`, else `created_at`,
//! each month with its newest photo as cover.

use super::filter::ListParams;
use super::repo::query;
use super::service::Catalog;
use super::{Photo, Viewer};
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct MonthBucket {
    pub month: u32,
    pub count: i64,
    pub cover: Photo,
}

#[derive(Debug, Clone)]
pub struct YearBucket {
    pub year: i32,
    pub count: i64,
    /// Newest first.
    pub months: Vec<MonthBucket>,
}

impl Catalog {
    /// Years (newest first) with their months for the photos `params` selects (its sort and
    /// page are ignored).
    pub async fn timeline(
        &self,
        viewer: Viewer,
        params: ListParams,
    ) -> Result<Vec<YearBucket>, AppError> {
        self.ensure_album_visible(viewer, params.album_id).await?;
        let months = self
            .db
            .run(move |conn| Ok(query::timeline(conn, viewer, &params)?))
            .await?;
        let mut years: Vec<YearBucket> = Vec::new();
        for (year, month, count, cover) in months {
            if years.last().is_none_or(|y| y.year != year) {
                years.push(YearBucket {
                    year,
                    count: 0,
                    months: Vec::new(),
                });
            }
            if let Some(bucket) = years.last_mut() {
                bucket.count += count;
                bucket.months.push(MonthBucket {
                    month,
                    count,
                    cover,
                });
            }
        }
        Ok(years)
    }
}
