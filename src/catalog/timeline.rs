//! The timeline (API.md §10): photo counts per year and month on `taken_at`, else `created_at`,
//! each month with its newest photo as cover.

use rusqlite::params_from_iter;

use super::filter::ListParams;
use super::repo::{self, PhotoQuery};
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
        let (conditions, values) = self.photo_filter(viewer, &params).await?;
        self.db
            .run(move |conn| {
                // SQLite takes the bare column `p.id` from the row that holds max(t).
                let sql = format!(
                    "SELECT CAST(strftime('%Y', t, 'unixepoch') AS INTEGER) AS y,
                            CAST(strftime('%m', t, 'unixepoch') AS INTEGER) AS m,
                            count(*), id, max(t)
                     FROM (SELECT p.id, coalesce(p.taken_at, p.created_at) AS t
                           FROM photos p WHERE {})
                     GROUP BY y, m ORDER BY y DESC, m DESC",
                    conditions.join(" AND ")
                );
                let mut stmt = conn.prepare(&sql)?;
                let rows: Vec<(i32, u32, i64, i64)> = stmt
                    .query_map(params_from_iter(values.iter()), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let ids: Vec<String> = rows.iter().map(|r| r.3.to_string()).collect();
                let query = PhotoQuery {
                    conditions: vec![format!("p.id IN ({})", ids.join(","))],
                    params: Vec::new(),
                    order_by: "p.id".into(),
                    limit: ids.len().max(1) as i64,
                    offset: 0,
                };
                let (covers, _) = if ids.is_empty() {
                    (Vec::new(), 0)
                } else {
                    repo::list_photos(conn, viewer, &query)?
                };
                let mut covers: std::collections::HashMap<i64, Photo> =
                    covers.into_iter().map(|p| (p.id, p)).collect();
                let mut years: Vec<YearBucket> = Vec::new();
                for (year, month, count, cover) in rows {
                    let Some(cover) = covers.remove(&cover) else {
                        continue;
                    };
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
            })
            .await
    }
}
