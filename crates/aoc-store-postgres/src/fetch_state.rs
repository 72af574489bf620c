//! Collector state: watermarks, the content ledger, coverage figures, source health and leases.
//! Text is ordered by code point (`COLLATE "C"`), as the SQLite engine orders it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use aoc_model::{EventId, TenantId};
use aoc_store::{
    ContentRef, ContentStatus, CoverageQuery, CoverageRow, DelayStats, FetchCommit,
    FetchStateStore, InsertReport, RunRecord, SourceProblem, SourceState, StoreError, StoreResult,
    ceil_hour, clean_text, hour_figures,
};

use crate::{PostgresStore, map_err};

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// The fetch state of a commit, written in the transaction that stored its events (`new`: the
/// ids of those stored for the first time).
pub(crate) async fn record_commit(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    commit: &FetchCommit<'_>,
    new: &[EventId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let tenant = clean_text(commit.tenant.as_str());
    let source = clean_text(commit.source);

    let hours = hour_figures(commit.events, new, now, commit.available_at);
    if !hours.is_empty() {
        let mut starts = Vec::with_capacity(hours.len());
        let mut fetched = Vec::with_capacity(hours.len());
        let mut stored = Vec::with_capacity(hours.len());
        let mut avail_count = Vec::with_capacity(hours.len());
        let mut avail_sum = Vec::with_capacity(hours.len());
        let mut avail_max = Vec::with_capacity(hours.len());
        let mut stored_sum = Vec::with_capacity(hours.len());
        let mut stored_max = Vec::with_capacity(hours.len());
        // In hour order, so concurrent commits lock coverage rows in the same order.
        for (hour, f) in hours {
            starts.push(hour);
            fetched.push(f.fetched);
            stored.push(f.stored);
            avail_count.push(f.avail_count);
            avail_sum.push(f.avail_sum);
            avail_max.push(f.avail_max);
            stored_sum.push(f.stored_sum);
            stored_max.push(f.stored_max);
        }
        sqlx::query(
            "INSERT INTO coverage (tenant_id, source, hour, records_fetched, records_stored, \
             avail_count, avail_sum_seconds, avail_max_seconds, stored_sum_seconds, \
             stored_max_seconds) \
             SELECT $1, $2, t.* FROM UNNEST($3::timestamptz[], $4::bigint[], $5::bigint[], \
                 $6::bigint[], $7::float8[], $8::float8[], $9::float8[], $10::float8[]) AS t \
             ON CONFLICT (tenant_id, source, hour) DO UPDATE SET \
             records_fetched = coverage.records_fetched + EXCLUDED.records_fetched, \
             records_stored = coverage.records_stored + EXCLUDED.records_stored, \
             avail_count = coverage.avail_count + EXCLUDED.avail_count, \
             avail_sum_seconds = coverage.avail_sum_seconds + EXCLUDED.avail_sum_seconds, \
             avail_max_seconds = GREATEST(coverage.avail_max_seconds, EXCLUDED.avail_max_seconds), \
             stored_sum_seconds = coverage.stored_sum_seconds + EXCLUDED.stored_sum_seconds, \
             stored_max_seconds = GREATEST(coverage.stored_max_seconds, EXCLUDED.stored_max_seconds)",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(starts)
        .bind(fetched)
        .bind(stored)
        .bind(avail_count)
        .bind(avail_sum)
        .bind(avail_max)
        .bind(stored_sum)
        .bind(stored_max)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }

    if let Some(content_id) = commit.content_id {
        sqlx::query(
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, status, \
             records, first_listed_at, fetched_at) \
             VALUES ($1, $2, $3, $4, 'fetched', $5, $6, $6) \
             ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET \
             status = 'fetched', records = EXCLUDED.records, fetched_at = EXCLUDED.fetched_at",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(clean_text(content_id).as_ref())
        .bind(commit.available_at.unwrap_or(now))
        .bind(count(commit.events.len() as u64))
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }

    if let Some(watermark) = commit.watermark {
        // GREATEST ignores NULL: a first watermark is taken as it is.
        sqlx::query(
            "INSERT INTO source_state (tenant_id, source, watermark) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, source) DO UPDATE SET \
             watermark = GREATEST(source_state.watermark, EXCLUDED.watermark)",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(watermark)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

/// `WHERE` of one side of the coverage query: `time` is its hour or creation column.
fn push_coverage_filter(q: &mut QueryBuilder<Postgres>, query: &CoverageQuery, time: &str) {
    q.push(" WHERE true");
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
            .push_bind(ceil_hour(from));
    }
    if let Some(to) = query.to {
        q.push(format_args!(" AND {time} < "))
            .push_bind(ceil_hour(to));
    }
}

fn decode_state(row: &PgRow) -> StoreResult<SourceState> {
    let last_error_at: Option<DateTime<Utc>> = row.try_get("last_error_at").map_err(corrupt)?;
    let last_error = match last_error_at {
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
        tenant_id: TenantId::new(row.try_get::<String, _>("tenant_id").map_err(corrupt)?),
        source: row.try_get("source").map_err(corrupt)?,
        watermark: row.try_get("watermark").map_err(corrupt)?,
        last_attempt: row.try_get("last_attempt").map_err(corrupt)?,
        last_success: row.try_get("last_success").map_err(corrupt)?,
        last_error,
        last_run_fetched: fetched.max(0) as u64,
        last_run_new: new.max(0) as u64,
    })
}

fn decode_coverage(row: &PgRow) -> StoreResult<CoverageRow> {
    let get_i64 = |column: &str| -> StoreResult<i64> { row.try_get(column).map_err(corrupt) };
    let get_f64 = |column: &str| -> StoreResult<f64> { row.try_get(column).map_err(corrupt) };
    let stored = get_i64("records_stored")?;
    Ok(CoverageRow {
        tenant_id: TenantId::new(row.try_get::<String, _>("tenant_id").map_err(corrupt)?),
        source: row.try_get("source").map_err(corrupt)?,
        hour: row.try_get("hour").map_err(corrupt)?,
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
        stored_delay: DelayStats::from_sums(stored, get_f64("stored_sum")?, get_f64("stored_max")?),
    })
}

#[async_trait]
impl FetchStateStore for PostgresStore {
    async fn commit_fetch(&self, commit: &FetchCommit<'_>) -> StoreResult<InsertReport> {
        self.store_batch(commit.events, Some(commit)).await
    }

    async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
            "SELECT watermark FROM source_state WHERE tenant_id = $1 AND source = $2",
        )
        .bind(clean_text(tenant.as_str()).as_ref())
        .bind(clean_text(source).as_ref())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.and_then(|(w,)| w))
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
        let ids: Vec<String> = listed
            .iter()
            .map(|c| clean_text(&c.id).into_owned())
            .collect();
        let created: Vec<DateTime<Utc>> = listed.iter().map(|c| c.created).collect();
        let expires: Vec<Option<DateTime<Utc>>> = listed.iter().map(|c| c.expires).collect();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, \
             content_expires, status, first_listed_at) \
             SELECT $1, $2, t.id, t.created, t.expires, 'listed', $6 \
             FROM UNNEST($3::text[], $4::timestamptz[], $5::timestamptz[]) AS t(id, created, expires) \
             ON CONFLICT (tenant_id, source, content_id) DO NOTHING",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(&ids)
        .bind(created)
        .bind(expires)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT content_id, status FROM content_ledger \
             WHERE tenant_id = $1 AND source = $2 AND content_id = ANY($3)",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let statuses = rows
            .into_iter()
            .map(|(id, status)| Ok((id, ContentStatus::decode(&status)?)))
            .collect::<StoreResult<HashMap<String, ContentStatus>>>()?;
        ids.iter()
            .map(|id| {
                statuses
                    .get(id)
                    .copied()
                    .ok_or_else(|| StoreError::Internal(format!("content {id} not recorded")))
            })
            .collect()
    }

    async fn mark_content_expired(
        &self,
        tenant: &TenantId,
        source: &str,
        content_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, status, \
             first_listed_at) VALUES ($1, $2, $3, $4, 'expired', $4) \
             ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET status = 'expired'",
        )
        .bind(clean_text(tenant.as_str()).as_ref())
        .bind(clean_text(source).as_ref())
        .bind(clean_text(content_id).as_ref())
        .bind(Utc::now())
        .execute(&self.pool)
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
                "INSERT INTO source_state (tenant_id, source, last_attempt) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_attempt = EXCLUDED.last_attempt",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(*at),
            // Without a problem, the previous error stays, with its time, for people to see.
            RunRecord::Succeeded {
                at,
                fetched,
                new,
                problem,
            } => sqlx::query(
                "INSERT INTO source_state (tenant_id, source, last_success, last_run_fetched, \
                 last_run_new, last_error_at, last_error_code, last_error_message) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_success = EXCLUDED.last_success, \
                 last_run_fetched = EXCLUDED.last_run_fetched, \
                 last_run_new = EXCLUDED.last_run_new, \
                 last_error_at = coalesce(EXCLUDED.last_error_at, source_state.last_error_at), \
                 last_error_code = CASE WHEN EXCLUDED.last_error_at IS NULL \
                     THEN source_state.last_error_code ELSE EXCLUDED.last_error_code END, \
                 last_error_message = CASE WHEN EXCLUDED.last_error_at IS NULL \
                     THEN source_state.last_error_message ELSE EXCLUDED.last_error_message END",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(*at)
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(problem.as_ref().map(|p| p.at))
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET \
                 last_run_fetched = EXCLUDED.last_run_fetched, \
                 last_run_new = EXCLUDED.last_run_new, \
                 last_error_at = EXCLUDED.last_error_at, \
                 last_error_code = EXCLUDED.last_error_code, \
                 last_error_message = EXCLUDED.last_error_message",
            )
            .bind(tenant.as_ref())
            .bind(source.as_ref())
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(problem.at)
            .bind(problem.code.as_deref().map(|c| clean_text(c).into_owned()))
            .bind(clean_text(&problem.message).into_owned()),
        };
        query.execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn source_states(&self) -> StoreResult<Vec<SourceState>> {
        let rows = sqlx::query(
            "SELECT tenant_id, source, watermark, last_attempt, last_success, last_error_at, \
             last_error_code, last_error_message, last_run_fetched, last_run_new \
             FROM source_state ORDER BY tenant_id COLLATE \"C\", source COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_state).collect()
    }

    async fn coverage(&self, query: &CoverageQuery) -> StoreResult<Vec<CoverageRow>> {
        // Record hours and content hours, merged: an hour may have only one kind.
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT tenant_id, source, hour, \
             sum(records_fetched)::bigint AS records_fetched, \
             sum(records_stored)::bigint AS records_stored, \
             sum(avail_count)::bigint AS avail_count, \
             sum(avail_sum)::float8 AS avail_sum, \
             max(avail_max)::float8 AS avail_max, \
             sum(stored_sum)::float8 AS stored_sum, \
             max(stored_max)::float8 AS stored_max, \
             sum(listed)::bigint AS listed, \
             sum(fetched)::bigint AS fetched, \
             sum(expired)::bigint AS expired \
             FROM (SELECT tenant_id, source, hour, records_fetched, records_stored, avail_count, \
             avail_sum_seconds AS avail_sum, avail_max_seconds AS avail_max, \
             stored_sum_seconds AS stored_sum, stored_max_seconds AS stored_max, \
             0 AS listed, 0 AS fetched, 0 AS expired FROM coverage",
        );
        push_coverage_filter(&mut q, query, "hour");
        q.push(
            " UNION ALL SELECT tenant_id, source, date_trunc('hour', content_created, 'UTC'), \
             0, 0, 0, 0, 0, 0, 0, \
             (status = 'listed')::int, (status = 'fetched')::int, (status = 'expired')::int \
             FROM content_ledger",
        );
        push_coverage_filter(&mut q, query, "content_created");
        q.push(
            ") AS merged GROUP BY tenant_id, source, hour \
             ORDER BY tenant_id COLLATE \"C\", source COLLATE \"C\", hour",
        );
        let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(decode_coverage).collect()
    }

    async fn prune_fetch_state(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let hours = sqlx::query("DELETE FROM coverage WHERE hour < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        let blobs = sqlx::query("DELETE FROM content_ledger WHERE content_created < $1")
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
        // One statement: of two racing processes, the second waits for the first's row and then
        // finds it held, so at most one gets it. Expiry is the server's clock.
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO leases (name, holder, expires_at) \
             VALUES ($1, $2, now() + make_interval(secs => $3)) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
             expires_at = EXCLUDED.expires_at \
             WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder \
             RETURNING holder",
        )
        .bind(clean_text(name).as_ref())
        .bind(clean_text(holder).as_ref())
        .bind(ttl.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(clean_text(name).as_ref())
            .bind(clean_text(holder).as_ref())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
