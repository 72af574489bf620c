//! Collector state: watermarks, the content ledger, coverage figures, source health and leases.
//! Text is ordered by code point on both engines.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{Event, EventId, TenantId};

use super::{Dialect, Row, SqlEngine, SqlTransaction, Statement, count, micros};
use crate::filter::Bind;
use crate::{
    ContentRef, ContentStatus, CoverageQuery, CoverageRow, DelayStats, FetchCommit,
    FetchStateStore, HourFigures, InsertReport, RunRecord, SourceProblem, SourceState, StoreError,
    StoreResult, ceil_hour, clean_text, hour_figures,
};

/// Rows per statement for coverage hours and ledger entries (at most 10 parameters each).
const STATE_CHUNK: usize = 500;

/// An hour in microseconds, for bucketing blob creation times on SQLite.
const HOUR: i64 = 3_600_000_000;

/// `(p1, p2, …), (…)`: `rows` tuples of `width` numbered placeholders each, after `first` taken
/// ones.
fn value_rows(dialect: Dialect, first: usize, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| {
            let start = first + row * width;
            let places: Vec<String> = (1..=width)
                .map(|i| dialect.placeholder(start + i))
                .collect();
            format!("({})", places.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds a chunk of hours to the coverage figures. In hour order, so concurrent commits lock
/// coverage rows in the same order.
fn coverage_upsert(
    dialect: Dialect,
    tenant: &str,
    source: &str,
    hours: &[(DateTime<Utc>, HourFigures)],
) -> Statement {
    let greatest = dialect.greatest();
    let sql = format!(
        "INSERT INTO coverage (tenant_id, source, hour, records_fetched, records_stored, \
         avail_count, avail_sum_seconds, avail_max_seconds, stored_sum_seconds, \
         stored_max_seconds) VALUES {} \
         ON CONFLICT (tenant_id, source, hour) DO UPDATE SET \
         records_fetched = coverage.records_fetched + excluded.records_fetched, \
         records_stored = coverage.records_stored + excluded.records_stored, \
         avail_count = coverage.avail_count + excluded.avail_count, \
         avail_sum_seconds = coverage.avail_sum_seconds + excluded.avail_sum_seconds, \
         avail_max_seconds = {greatest}(coverage.avail_max_seconds, excluded.avail_max_seconds), \
         stored_sum_seconds = coverage.stored_sum_seconds + excluded.stored_sum_seconds, \
         stored_max_seconds = {greatest}(coverage.stored_max_seconds, excluded.stored_max_seconds)",
        value_rows(dialect, 0, hours.len(), 10)
    );
    let mut binds = Vec::with_capacity(hours.len() * 10);
    for (hour, f) in hours {
        binds.extend([
            Bind::from(tenant),
            Bind::from(source),
            Bind::from(*hour),
            Bind::from(f.fetched),
            Bind::from(f.stored),
            Bind::from(f.avail_count),
            Bind::from(f.avail_sum),
            Bind::from(f.avail_max),
            Bind::from(f.stored_sum),
            Bind::from(f.stored_max),
        ]);
    }
    Statement::raw(sql, binds)
}

/// The end of [`SqlEngine::store_events`], once the engine has written `events` in `tx` (`new`:
/// the ids of those stored for the first time, at `now`; `joined`: how many joined a stored
/// event as another path's sighting, see [`super::join_activities`]): records the fetch state of `commit`, if
/// any, in the same transaction, commits, and reports.
pub async fn finish_store(
    mut tx: Box<dyn SqlTransaction>,
    dialect: Dialect,
    events: &[Event],
    commit: Option<&FetchCommit<'_>>,
    written: Written<'_>,
    now: DateTime<Utc>,
) -> StoreResult<InsertReport> {
    let Written {
        new,
        rollup,
        joined,
    } = written;
    if let Some(commit) = commit {
        record_commit(&mut *tx, dialect, commit, new, now).await?;
    }
    rollup.apply(&mut *tx, dialect).await?;
    super::actor_lookup::record_actors(&mut *tx, dialect, events, new).await?;
    if !new.is_empty() || joined > 0 {
        tx.execute(super::totals_change(dialect, count(new.len() as u64)))
            .await?;
    }
    tx.commit().await?;
    let new = new.len() as u64;
    Ok(InsertReport {
        new,
        joined,
        duplicate: (events.len() as u64).saturating_sub(new + joined),
    })
}

/// What a batch's writes did: the events stored for the first time, their rollup counts, and
/// how many joined an event another path had stored.
pub struct Written<'a> {
    pub new: &'a [EventId],
    pub rollup: &'a super::rollup::RollupDelta,
    pub joined: u64,
}

/// The fetch state of a commit, written in the transaction that stored its events.
async fn record_commit(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    commit: &FetchCommit<'_>,
    new: &[EventId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let tenant = clean_text(commit.tenant.as_str()).into_owned();
    let source = clean_text(commit.source).into_owned();
    let hours: Vec<(DateTime<Utc>, HourFigures)> =
        hour_figures(commit.events, new, now, commit.available_at)
            .into_iter()
            .collect();
    for chunk in hours.chunks(STATE_CHUNK) {
        tx.execute(coverage_upsert(dialect, &tenant, &source, chunk))
            .await?;
    }
    if let Some(content_id) = commit.content_id {
        let upsert = Statement::new(
            dialect,
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, \
             status, records, first_listed_at, fetched_at) \
             VALUES ($1, $2, $3, $4, 'fetched', $5, $6, $6) \
             ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET \
             status = 'fetched', records = excluded.records, fetched_at = excluded.fetched_at",
        )
        .bind(tenant.as_str())
        .bind(source.as_str())
        .bind(clean_text(content_id).into_owned())
        .bind(commit.available_at.unwrap_or(now))
        .bind(count(commit.events.len() as u64))
        .bind(now);
        tx.execute(upsert).await?;
    }
    if let Some(watermark) = commit.watermark {
        let upsert = Statement::new(
            dialect,
            &format!(
                "INSERT INTO source_state (tenant_id, source, watermark) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, source) DO UPDATE SET watermark = \
                 {}(coalesce(source_state.watermark, excluded.watermark), excluded.watermark)",
                dialect.greatest()
            ),
        )
        .bind(tenant)
        .bind(source)
        .bind(watermark);
        tx.execute(upsert).await?;
    }
    Ok(())
}

/// One side of the coverage query: its condition, binding after what `binds` holds; `time` is
/// its hour or creation column.
fn coverage_filter(
    dialect: Dialect,
    query: &CoverageQuery,
    time: &str,
    binds: &mut Vec<Bind>,
) -> String {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut push = |condition: &str, value: Bind| {
        binds.push(value);
        clauses.push(format!("{condition} {}", dialect.placeholder(binds.len())));
    };
    if let Some(tenant) = &query.tenant {
        push(
            "tenant_id =",
            clean_text(tenant.as_str()).into_owned().into(),
        );
    }
    if let Some(source) = &query.source {
        push("source =", clean_text(source).into_owned().into());
    }
    if let Some(from) = query.from {
        push(&format!("{time} >="), ceil_hour(from).into());
    }
    if let Some(to) = query.to {
        push(&format!("{time} <"), ceil_hour(to).into());
    }
    clauses.join(" AND ")
}

fn coverage_query(dialect: Dialect, query: &CoverageQuery) -> Statement {
    let mut binds = Vec::new();
    let records_filter = coverage_filter(dialect, query, "hour", &mut binds);
    let content_filter = coverage_filter(dialect, query, "content_created", &mut binds);
    let (int, float, content_hour) = match dialect {
        // Microseconds; the double modulo floors times before the epoch too.
        Dialect::Sqlite => (
            "INTEGER",
            "REAL",
            format!("content_created - (content_created % {HOUR} + {HOUR}) % {HOUR}"),
        ),
        Dialect::Postgres => (
            "bigint",
            "float8",
            "date_trunc('hour', content_created, 'UTC')".to_owned(),
        ),
    };
    let order = format!(
        "{}, {}, hour",
        dialect.by_code_point("tenant_id"),
        dialect.by_code_point("source")
    );
    let sql = include_str!("queries/coverage_merge.sql")
        .replace("{int}", int)
        .replace("{float}", float)
        .replace("{content_hour}", &content_hour)
        .replace("{records_filter}", &records_filter)
        .replace("{content_filter}", &content_filter)
        .replace("{order}", &order);
    Statement::raw(sql, binds)
}

fn decode_coverage(mut row: Row) -> StoreResult<CoverageRow> {
    let stored = row.integer("records_stored")?;
    Ok(CoverageRow {
        tenant_id: TenantId::new(row.text("tenant_id")?),
        source: row.text("source")?,
        hour: row.time("hour")?,
        records_fetched: row.integer("records_fetched")?.max(0) as u64,
        records_stored: stored.max(0) as u64,
        content_listed: row.integer("listed")?.max(0) as u64,
        content_fetched: row.integer("fetched")?.max(0) as u64,
        content_expired: row.integer("expired")?.max(0) as u64,
        available_delay: DelayStats::from_sums(
            row.integer("avail_count")?,
            row.float("avail_sum")?,
            row.float("avail_max")?,
        ),
        stored_delay: DelayStats::from_sums(
            stored,
            row.float("stored_sum")?,
            row.float("stored_max")?,
        ),
    })
}

fn decode_state(mut row: Row) -> StoreResult<SourceState> {
    let last_error = match row.opt_time("last_error_at")? {
        Some(at) => Some(SourceProblem {
            at,
            code: row.opt_text("last_error_code")?,
            message: row.opt_text("last_error_message")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(SourceState {
        tenant_id: TenantId::new(row.text("tenant_id")?),
        source: row.text("source")?,
        watermark: row.opt_time("watermark")?,
        last_attempt: row.opt_time("last_attempt")?,
        last_success: row.opt_time("last_success")?,
        last_error,
        last_run_fetched: row.integer("last_run_fetched")?.max(0) as u64,
        last_run_new: row.integer("last_run_new")?.max(0) as u64,
    })
}

fn run_statement(dialect: Dialect, tenant: &str, source: &str, run: &RunRecord) -> Statement {
    let clean = |text: &str| clean_text(text).into_owned();
    match run {
        RunRecord::Started { at } => {
            Statement::new(dialect, include_str!("queries/run_started.sql"))
                .bind(tenant)
                .bind(source)
                .bind(*at)
        }
        RunRecord::Succeeded {
            at,
            fetched,
            new,
            problem,
        } => Statement::new(dialect, include_str!("queries/run_succeeded.sql"))
            .bind(tenant)
            .bind(source)
            .bind(*at)
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(problem.as_ref().map(|p| p.at))
            .bind(problem.as_ref().and_then(|p| p.code.as_deref()).map(clean))
            .bind(problem.as_ref().map(|p| clean(&p.message))),
        RunRecord::Failed {
            fetched,
            new,
            problem,
        } => Statement::new(dialect, include_str!("queries/run_failed.sql"))
            .bind(tenant)
            .bind(source)
            .bind(count(*fetched))
            .bind(count(*new))
            .bind(problem.at)
            .bind(problem.code.as_deref().map(clean))
            .bind(clean(&problem.message)),
    }
}

#[async_trait]
impl<E: SqlEngine> FetchStateStore for E {
    async fn commit_fetch(&self, commit: &FetchCommit<'_>) -> StoreResult<InsertReport> {
        self.store_events(commit.events, Some(commit)).await
    }

    async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let select = Statement::new(
            self.dialect(),
            "SELECT watermark FROM source_state WHERE tenant_id = $1 AND source = $2",
        )
        .bind(clean_text(tenant.as_str()).into_owned())
        .bind(clean_text(source).into_owned());
        match self.read(select).await?.first_mut() {
            Some(row) => row.opt_time("watermark"),
            None => Ok(None),
        }
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
        let dialect = self.dialect();
        let tenant = clean_text(tenant.as_str()).into_owned();
        let source = clean_text(source).into_owned();
        let now = Utc::now();
        let mut statuses: HashMap<String, ContentStatus> = HashMap::with_capacity(listed.len());
        let mut tx = self.begin().await?;
        for chunk in listed.chunks(STATE_CHUNK) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|c| clean_text(&c.id).into_owned())
                .collect();
            // $1 tenant, $2 source, $3 now, then (id, created, expires) per blob.
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let at = |k: usize| dialect.placeholder(4 + 3 * i + k);
                    format!("($1, $2, {}, {}, {}, 'listed', $3)", at(0), at(1), at(2))
                })
                .collect();
            let mut insert = Statement::new(
                dialect,
                &format!(
                    "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, \
                     content_expires, status, first_listed_at) VALUES {} \
                     ON CONFLICT (tenant_id, source, content_id) DO NOTHING",
                    rows.join(", ")
                ),
            )
            .bind(tenant.as_str())
            .bind(source.as_str())
            .bind(now);
            for (c, id) in chunk.iter().zip(&ids) {
                insert = insert.bind(id.as_str()).bind(c.created).bind(c.expires);
            }
            tx.execute(insert).await?;

            let places: Vec<String> = (0..ids.len()).map(|i| dialect.placeholder(3 + i)).collect();
            let mut select = Statement::new(
                dialect,
                &format!(
                    "SELECT content_id, status FROM content_ledger \
                     WHERE tenant_id = $1 AND source = $2 AND content_id IN ({})",
                    places.join(", ")
                ),
            )
            .bind(tenant.as_str())
            .bind(source.as_str());
            for id in ids {
                select = select.bind(id);
            }
            for mut row in tx.fetch(select).await? {
                let status = ContentStatus::decode(&row.text("status")?)?;
                statuses.insert(row.text("content_id")?, status);
            }
        }
        tx.commit().await?;
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
        let upsert = Statement::new(
            self.dialect(),
            "INSERT INTO content_ledger (tenant_id, source, content_id, content_created, status, \
             first_listed_at) VALUES ($1, $2, $3, $4, 'expired', $4) \
             ON CONFLICT (tenant_id, source, content_id) DO UPDATE SET status = 'expired'",
        )
        .bind(clean_text(tenant.as_str()).into_owned())
        .bind(clean_text(source).into_owned())
        .bind(clean_text(content_id).into_owned())
        .bind(Utc::now());
        self.write(upsert).await?;
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
        self.write(run_statement(self.dialect(), &tenant, &source, run))
            .await?;
        Ok(())
    }

    async fn source_states(&self) -> StoreResult<Vec<SourceState>> {
        let dialect = self.dialect();
        let select = Statement::new(
            dialect,
            &format!(
                "SELECT tenant_id, source, watermark, last_attempt, last_success, last_error_at, \
                 last_error_code, last_error_message, last_run_fetched, last_run_new \
                 FROM source_state ORDER BY {}, {}",
                dialect.by_code_point("tenant_id"),
                dialect.by_code_point("source")
            ),
        );
        self.read(select)
            .await?
            .into_iter()
            .map(decode_state)
            .collect()
    }

    async fn coverage(&self, query: &CoverageQuery) -> StoreResult<Vec<CoverageRow>> {
        self.read(coverage_query(self.dialect(), query))
            .await?
            .into_iter()
            .map(decode_coverage)
            .collect()
    }

    async fn prune_fetch_state(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let dialect = self.dialect();
        let mut tx = self.begin().await?;
        let hours = tx
            .execute(Statement::new(dialect, "DELETE FROM coverage WHERE hour < $1").bind(cutoff))
            .await?;
        let blobs = tx
            .execute(
                Statement::new(
                    dialect,
                    "DELETE FROM content_ledger WHERE content_created < $1",
                )
                .bind(cutoff),
            )
            .await?;
        tx.commit().await?;
        Ok(hours + blobs)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        const UPSERT: &str = "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.expires_at < {now} OR leases.holder = excluded.holder \
             RETURNING holder";
        let name = clean_text(name).into_owned();
        let holder = clean_text(holder).into_owned();
        let dialect = self.dialect();
        // One statement. SQLite: on the one writer connection, other processes waiting on the
        // file lock; expiry is this process's clock. PostgreSQL: of two racing processes, the
        // second waits for the first's row and then finds it held; expiry is the server's clock.
        let upsert = match dialect {
            Dialect::Sqlite => {
                let now = micros(Utc::now());
                let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
                Statement::new(
                    dialect,
                    &format!(
                        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) {}",
                        UPSERT.replace("{now}", "$4")
                    ),
                )
                .bind(name)
                .bind(holder)
                .bind(now.saturating_add(ttl))
                .bind(now)
            }
            Dialect::Postgres => Statement::new(
                dialect,
                &format!(
                    "INSERT INTO leases (name, holder, expires_at) \
                     VALUES ($1, $2, now() + make_interval(secs => $3)) {}",
                    UPSERT.replace("{now}", "now()")
                ),
            )
            .bind(name)
            .bind(holder)
            .bind(ttl.as_secs_f64()),
        };
        Ok(!self.write_returning(upsert).await?.is_empty())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let delete = Statement::new(
            self.dialect(),
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
        )
        .bind(clean_text(name).into_owned())
        .bind(clean_text(holder).into_owned());
        self.write(delete).await?;
        Ok(())
    }
}
