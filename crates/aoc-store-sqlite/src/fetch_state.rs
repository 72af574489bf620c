//! Collector state: watermarks, the content ledger, coverage figures, source health and leases.
//! Times are microseconds since the Unix epoch, like the events table's.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use aoc_model::TenantId;
use aoc_store::{
    ContentRef, ContentStatus, CoverageQuery, CoverageRow, DelayStats, FetchCommit,
    FetchStateStore, HourFigures, InsertReport, RunRecord, SourceProblem, SourceState, StoreError,
    StoreResult, ceil_hour, clean_text, hour_figures,
};

use crate::rows::micros;

/// An hour in microseconds, for bucketing blob creation times in SQL.
const HOUR: i64 = 3_600_000_000;
use crate::{SqliteStore, map_err};

/// Rows per statement for coverage hours and ledger entries (at most 10 parameters each).
const STATE_CHUNK: usize = 500;

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_micros(value: i64, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

fn opt_time(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column).map_err(corrupt)?;
    value.map(|v| from_micros(v, column)).transpose()
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// `WHERE` of one side of the coverage query: `time` is its hour or creation column.
fn push_coverage_filter(q: &mut QueryBuilder<Sqlite>, query: &CoverageQuery, time: &str) {
    q.push(" WHERE 1 = 1");
    if let Some(tenant) = &query.tenant {
        q.push(" AND tenant_id = ")
            .push_bind(clean_text(tenant.as_str()).into_owned());
    }
    if let Some(source) = &query.source {
        q.push(" AND source = ")
            .push_bind(clean_text(source).into_owned());
    }
    if let Some(from) = query.from {
        q.push(format_args!(" AND {time} >= "))
            .push_bind(micros(ceil_hour(from)));
    }
    if let Some(to) = query.to {
        q.push(format_args!(" AND {time} < "))
            .push_bind(micros(ceil_hour(to)));
    }
}

#[async_trait]
impl FetchStateStore for SqliteStore {
    async fn commit_fetch(&self, commit: &FetchCommit<'_>) -> StoreResult<InsertReport> {
        let now = Utc::now();
        let tenant = clean_text(commit.tenant.as_str());
        let source = clean_text(commit.source);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let new = self.write_events(&mut tx, commit.events, now).await?;

        let hours: Vec<(i64, HourFigures)> =
            hour_figures(commit.events, &new, now, commit.available_at)
                .into_iter()
                .map(|(hour, figures)| (micros(hour), figures))
                .collect();
        for chunk in hours.chunks(STATE_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO coverage (tenant_id, source, hour, records_fetched, records_stored, \
                 avail_count, avail_sum_seconds, avail_max_seconds, stored_sum_seconds, \
                 stored_max_seconds) ",
            );
            q.push_values(chunk, |mut row, (hour, f)| {
                row.push_bind(tenant.as_ref())
                    .push_bind(source.as_ref())
                    .push_bind(*hour)
                    .push_bind(f.fetched)
                    .push_bind(f.stored)
                    .push_bind(f.avail_count)
                    .push_bind(f.avail_sum)
                    .push_bind(f.avail_max)
                    .push_bind(f.stored_sum)
                    .push_bind(f.stored_max);
            });
            q.push(
                " ON CONFLICT (tenant_id, source, hour) DO UPDATE SET \
                 records_fetched = coverage.records_fetched + excluded.records_fetched, \
                 records_stored = coverage.records_stored + excluded.records_stored, \
                 avail_count = coverage.avail_count + excluded.avail_count, \
                 avail_sum_seconds = coverage.avail_sum_seconds + excluded.avail_sum_seconds, \
                 avail_max_seconds = max(coverage.avail_max_seconds, excluded.avail_max_seconds), \
                 stored_sum_seconds = coverage.stored_sum_seconds + excluded.stored_sum_seconds, \
                 stored_max_seconds = max(coverage.stored_max_seconds, excluded.stored_max_seconds)",
            );
            q.build().execute(&mut *tx).await.map_err(map_err)?;
        }

        if let Some(content_id) = commit.content_id {
            sqlx::query(
                "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, \
                 status, records, first_listed_at, fetched_at) \
                 VALUES (?, ?, ?, ?, 'fetched', ?, ?, ?) \
                 ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET \
                 status = 'fetched', records = excluded.records, fetched_at = excluded.fetched_at",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(clean_text(content_id).as_ref())
            .bind(micros(commit.available_at.unwrap_or(now)))
            .bind(count(commit.events.len() as u64))
            .bind(micros(now))
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }

        if let Some(watermark) = commit.watermark {
            sqlx::query(
                "INSERT INTO source_state (tenant_id, source, watermark) VALUES (?, ?, ?) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET watermark = \
                 max(coalesce(source_state.watermark, excluded.watermark), excluded.watermark)",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(micros(watermark))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }

        tx.commit().await.map_err(map_err)?;
        let new = new.len() as u64;
        Ok(InsertReport {
            new,
            duplicate: commit.events.len() as u64 - new,
        })
    }

    async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT watermark FROM source_state WHERE tenant_id = ? AND source = ?")
                .bind(clean_text(tenant.as_str()).as_ref())
                .bind(clean_text(source).as_ref())
                .fetch_optional(&self.reader)
                .await
                .map_err(map_err)?;
        row.and_then(|(w,)| w)
            .map(|w| from_micros(w, "watermark"))
            .transpose()
    }

    async fn list_content(
        &self,
        tenant: &TenantId,
        source: &str,
        listed: &[ContentRef],
    ) -> StoreResult<Vec<ContentStatus>> {
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = clean_text(tenant.as_str());
        let source = clean_text(source);
        let now = micros(Utc::now());
        let mut statuses: HashMap<String, ContentStatus> = HashMap::with_capacity(listed.len());
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        for chunk in listed.chunks(STATE_CHUNK) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, \
                 content_expires, status, first_listed_at) ",
            );
            insert.push_values(chunk, |mut row, c| {
                row.push_bind(tenant.as_ref())
                    .push_bind(source.as_ref())
                    .push_bind(clean_text(&c.id).into_owned())
                    .push_bind(micros(c.created))
                    .push_bind(c.expires.map(micros))
                    .push_bind("listed")
                    .push_bind(now);
            });
            insert.push(" ON CONFLICT (tenant_id, source, content_id) DO NOTHING");
            insert.build().execute(&mut *tx).await.map_err(map_err)?;

            let mut select = QueryBuilder::<Sqlite>::new(
                "SELECT content_id, status FROM content_ledger WHERE tenant_id = ",
            );
            select
                .push_bind(tenant.as_ref())
                .push(" AND source = ")
                .push_bind(source.as_ref())
                .push(" AND content_id IN (");
            let mut ids = select.separated(", ");
            for c in chunk {
                ids.push_bind(clean_text(&c.id).into_owned());
            }
            select.push(")");
            let rows: Vec<(String, String)> = select
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
            for (id, status) in rows {
                statuses.insert(id, ContentStatus::decode(&status)?);
            }
        }
        tx.commit().await.map_err(map_err)?;
        listed
            .iter()
            .map(|c| {
                statuses
                    .get(clean_text(&c.id).as_ref())
                    .copied()
                    .ok_or_else(|| StoreError::Internal(format!("content {} not recorded", c.id)))
            })
            .collect()
    }

    async fn mark_content_expired(
        &self,
        tenant: &TenantId,
        source: &str,
        content_id: &str,
    ) -> StoreResult<()> {
        let now = micros(Utc::now());
        sqlx::query(
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, status, \
             first_listed_at) VALUES (?, ?, ?, ?, 'expired', ?) \
             ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET status = 'expired'",
        )
        .bind(clean_text(tenant.as_str()).as_ref())
        .bind(clean_text(source).as_ref())
        .bind(clean_text(content_id).as_ref())
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn record_run(
        &self,
        tenant: &TenantId,
        source: &str,
        run: &RunRecord,
    ) -> StoreResult<()> {
        let tenant = clean_text(tenant.as_str());
        let source = clean_text(source);
        let query = match run {
            RunRecord::Started { at } => sqlx::query(
                "INSERT INTO source_state (tenant_id, source, last_attempt) VALUES (?, ?, ?) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_attempt = excluded.last_attempt",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(micros(*at)),
            // Without a problem, the previous error stays, with its time, for people to see.
            RunRecord::Succeeded {
                at,
                fetched,
                new,
                problem,
            } => sqlx::query(
                "INSERT INTO source_state (tenant_id, source, last_success, last_run_fetched, \
                 last_run_new, last_error_at, last_error_code, last_error_message) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_success = excluded.last_success, \
                 last_run_fetched = excluded.last_run_fetched, \
                 last_run_new = excluded.last_run_new, \
                 last_error_at = coalesce(excluded.last_error_at, source_state.last_error_at), \
                 last_error_code = CASE WHEN excluded.last_error_at IS NULL \
                     THEN source_state.last_error_code ELSE excluded.last_error_code END, \
                 last_error_message = CASE WHEN excluded.last_error_at IS NULL \
                     THEN source_state.last_error_message ELSE excluded.last_error_message END",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(micros(*at))
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(problem.as_ref().map(|p| micros(p.at)))
            .bind(
                problem
                    .as_ref()
                    .and_then(|p| p.code.as_deref())
                    .map(|c| clean_text(c).into_owned()),
            )
            .bind(
                problem
                    .as_ref()
                    .map(|p| clean_text(&p.message).into_owned()),
            ),
            RunRecord::Failed {
                fetched,
                new,
                problem,
            } => sqlx::query(
                "INSERT INTO source_state (tenant_id, source, last_run_fetched, last_run_new, \
                 last_error_at, last_error_code, last_error_message) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_run_fetched = excluded.last_run_fetched, \
                 last_run_new = excluded.last_run_new, \
                 last_error_at = excluded.last_error_at, \
                 last_error_code = excluded.last_error_code, \
                 last_error_message = excluded.last_error_message",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(micros(problem.at))
            .bind(problem.code.as_deref().map(|c| clean_text(c).into_owned()))
            .bind(clean_text(&problem.message).into_owned()),
        };
        query.execute(&self.writer).await.map_err(map_err)?;
        Ok(())
    }

    async fn source_states(&self) -> StoreResult<Vec<SourceState>> {
        let rows = sqlx::query(
            "SELECT tenant_id, source, watermark, last_attempt, last_success, last_error_at, \
             last_error_code, last_error_message, last_run_fetched, last_run_new \
             FROM source_state ORDER BY tenant_id, source",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let last_error = match opt_time(row, "last_error_at")? {
                    Some(at) => Some(SourceProblem {
                        at,
                        code: row.try_get("last_error_code").map_err(corrupt)?,
                        message: row
                            .try_get::<Option<String>, _>("last_error_message")
                            .map_err(corrupt)?
                            .unwrap_or_default(),
                    }),
                    None => None,
                };
                let fetched: i64 = row.try_get("last_run_fetched").map_err(corrupt)?;
                let new: i64 = row.try_get("last_run_new").map_err(corrupt)?;
                Ok(SourceState {
                    tenant_id: TenantId::new(
                        row.try_get::<String, _>("tenant_id").map_err(corrupt)?,
                    ),
                    source: row.try_get("source").map_err(corrupt)?,
                    watermark: opt_time(row, "watermark")?,
                    last_attempt: opt_time(row, "last_attempt")?,
                    last_success: opt_time(row, "last_success")?,
                    last_error,
                    last_run_fetched: fetched.max(0) as u64,
                    last_run_new: new.max(0) as u64,
                })
            })
            .collect()
    }

    async fn coverage(&self, query: &CoverageQuery) -> StoreResult<Vec<CoverageRow>> {
        // Record hours and content hours, merged: an hour may have only one kind.
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT tenant_id, source, hour, \
             CAST(sum(records_fetched) AS INTEGER) AS records_fetched, \
             CAST(sum(records_stored) AS INTEGER) AS records_stored, \
             CAST(sum(avail_count) AS INTEGER) AS avail_count, \
             CAST(sum(avail_sum) AS REAL) AS avail_sum, \
             CAST(max(avail_max) AS REAL) AS avail_max, \
             CAST(sum(stored_sum) AS REAL) AS stored_sum, \
             CAST(max(stored_max) AS REAL) AS stored_max, \
             CAST(sum(listed) AS INTEGER) AS listed, \
             CAST(sum(fetched) AS INTEGER) AS fetched, \
             CAST(sum(expired) AS INTEGER) AS expired \
             FROM (SELECT tenant_id, source, hour, records_fetched, records_stored, avail_count, \
             avail_sum_seconds AS avail_sum, avail_max_seconds AS avail_max, \
             stored_sum_seconds AS stored_sum, stored_max_seconds AS stored_max, \
             0 AS listed, 0 AS fetched, 0 AS expired FROM coverage",
        );
        push_coverage_filter(&mut q, query, "hour");
        q.push(format_args!(
            " UNION ALL SELECT tenant_id, source, \
             content_created - (content_created % {HOUR} + {HOUR}) % {HOUR} AS hour, \
             0, 0, 0, 0.0, 0.0, 0.0, 0.0, \
             status = 'listed', status = 'fetched', status = 'expired' FROM content_ledger"
        ));
        push_coverage_filter(&mut q, query, "content_created");
        q.push(") GROUP BY tenant_id, source, hour ORDER BY tenant_id, source, hour");
        let rows = q.build().fetch_all(&self.reader).await.map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let get_i64 = |column: &str| -> StoreResult<i64> {
                    row.try_get::<i64, _>(column).map_err(corrupt)
                };
                let get_f64 = |column: &str| -> StoreResult<f64> {
                    row.try_get::<f64, _>(column).map_err(corrupt)
                };
                let stored = get_i64("records_stored")?;
                Ok(CoverageRow {
                    tenant_id: TenantId::new(
                        row.try_get::<String, _>("tenant_id").map_err(corrupt)?,
                    ),
                    source: row.try_get("source").map_err(corrupt)?,
                    hour: from_micros(get_i64("hour")?, "hour")?,
                    records_fetched: get_i64("records_fetched")?.max(0) as u64,
                    records_stored: stored.max(0) as u64,
                    content_listed: get_i64("listed")?.max(0) as u64,
                    content_fetched: get_i64("fetched")?.max(0) as u64,
                    content_expired: get_i64("expired")?.max(0) as u64,
                    available_delay: DelayStats::from_sums(
                        get_i64("avail_count")?,
                        get_f64("avail_sum")?,
                        get_f64("avail_max")?,
                    ),
                    stored_delay: DelayStats::from_sums(
                        stored,
                        get_f64("stored_sum")?,
                        get_f64("stored_max")?,
                    ),
                })
            })
            .collect()
    }

    async fn prune_fetch_state(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let cutoff = micros(cutoff);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let hours = sqlx::query("DELETE FROM coverage WHERE hour < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        let blobs = sqlx::query("DELETE FROM content_ledger WHERE content_created < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(hours + blobs)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        // One statement on the one writer connection; other processes wait on the file lock.
        let now = micros(Utc::now());
        let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.expires_at < ? OR leases.holder = excluded.holder \
             RETURNING holder",
        )
        .bind(clean_text(name).as_ref())
        .bind(clean_text(holder).as_ref())
        .bind(now.saturating_add(ttl))
        .bind(now)
        .fetch_optional(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = ? AND holder = ?")
            .bind(clean_text(name).as_ref())
            .bind(clean_text(holder).as_ref())
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
