//! The server engine: PostgreSQL, events range-partitioned by month, `tsvector` + GIN for full
//! text, idempotent batch inserts through `UNNEST` arrays.

mod annotations;
mod audit_trail;
mod fetch_state;
mod jobs;
mod partitions;
mod rows;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use aoc_model::search::SearchText;
use aoc_model::{Event, EventId, EventPage, EventQuery, Seq};
use aoc_store::{
    Bind, Dialect, EventColumns, EventStore, FetchCommit, InsertReport, Store, StoreError,
    StoreResult, encode_chunk, event_filter, into_page,
};

use aoc_model::{AggregateSpec, EventAggregates, TimeBucket, ValueCount};
use aoc_store::{AggregateSql, SELECT_COLUMNS, TopColumn, aggregate_interval};

/// The binds of a filter as PostgreSQL arguments.
pub(crate) fn arguments(binds: Vec<Bind>) -> StoreResult<sqlx::postgres::PgArguments> {
    use sqlx::Arguments as _;
    let mut args = sqlx::postgres::PgArguments::default();
    for bind in binds {
        match bind {
            Bind::Text(text) => args.add(text),
            Bind::Timestamp(ts) => args.add(ts),
            Bind::Id(id) => args.add(id.as_uuid()),
            Bind::Bytes(bytes) => args.add(bytes),
            Bind::Integer(value) => args.add(value),
        }
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}
use partitions::Partitions;
use rows::{decode_row, decode_row_with};

/// Rows per INSERT statement.
const INSERT_CHUNK: usize = 5_000;
/// Serializes event inserts so `seq` follows commit order (any constant unique to AOC).
const INSERT_LOCK: i64 = 0x0A0C_0001;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct PostgresStore {
    pool: PgPool,
    partitions: Partitions,
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
pub(crate) fn map_err(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(error.to_string()),
        // 57P01 admin shutdown, 53300 too many connections, 08xxx connection exceptions.
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("08") || c == "57P01" || c == "53300") =>
        {
            StoreError::Unavailable(db.message().to_owned())
        }
        _ => StoreError::Internal(error.to_string()),
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL. The pool connects lazily, so AOC starts (and reports the
    /// database as down in `/health`) while PostgreSQL is still coming up.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] for a URL that is not a PostgreSQL URL.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("DATABASE_URL", e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            partitions: Partitions::default(),
        })
    }

    /// Stores `events` as [`EventStore::insert_events`] describes and, when `commit` is given,
    /// its fetch state, in one transaction.
    async fn store_batch(
        &self,
        events: &[Event],
        commit: Option<&FetchCommit<'_>>,
    ) -> StoreResult<InsertReport> {
        if let Some(bad) = events
            .iter()
            .find(|e| !(1..=9999).contains(&e.timestamp.year()))
        {
            return Err(StoreError::invalid(
                "timestamp",
                format!("{} is outside the years 1 to 9999", bad.timestamp),
            ));
        }
        match self.try_store(events, commit).await {
            // 23514: no partition for a row, because another process dropped it under our cache.
            Err(StoreError::Internal(message))
                if message.contains("23514") || message.contains("no partition") =>
            {
                self.partitions.forget();
                self.try_store(events, commit).await
            }
            other => other,
        }
    }

    async fn try_store(
        &self,
        events: &[Event],
        commit: Option<&FetchCommit<'_>>,
    ) -> StoreResult<InsertReport> {
        self.partitions
            .ensure(&self.pool, events.iter().map(|e| e.timestamp))
            .await?;
        let ingested_at = Utc::now();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let new = write_events(&mut tx, events, ingested_at).await?;
        if let Some(commit) = commit {
            fetch_state::record_commit(&mut tx, commit, &new, ingested_at).await?;
        }
        tx.commit().await.map_err(map_err)?;
        let new = new.len() as u64;
        Ok(InsertReport {
            new,
            duplicate: events.len() as u64 - new,
        })
    }
}

impl PostgresStore {
    /// Computes the filter columns of rows stored before they existed (migration 0004), a
    /// chunk per transaction; a no-op once done.
    async fn fill_derived_columns(&self) -> StoreResult<()> {
        const CHUNK: i64 = 5_000;
        let mut filled = 0u64;
        loop {
            let rows: Vec<(i64, Option<String>, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, client_ip, payload FROM events WHERE target_keys IS NULL \
                 ORDER BY seq LIMIT $1",
            )
            .bind(CHUNK)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len();
            let mut seqs = Vec::with_capacity(n);
            let mut ip_keys = Vec::with_capacity(n);
            let mut countries = Vec::with_capacity(n);
            let mut target_keys = Vec::with_capacity(n);
            for (seq, client_ip, payload) in &rows {
                let derived =
                    aoc_store::DerivedColumns::from_stored(payload, client_ip.as_deref())?;
                seqs.push(*seq);
                ip_keys.push(derived.client_ip_key.map(|k| k.to_vec()));
                countries.push(derived.country);
                target_keys.push(derived.target_keys);
            }
            sqlx::query(
                "UPDATE events SET client_ip_key = t.client_ip_key, country = t.country, \
                 target_keys = t.target_keys \
                 FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::text[]) \
                      AS t(seq, client_ip_key, country, target_keys) \
                 WHERE events.seq = t.seq",
            )
            .bind(seqs)
            .bind(ip_keys)
            .bind(countries)
            .bind(target_keys)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            filled += n as u64;
        }
        if filled > 0 {
            tracing::info!(
                events = filled,
                "filled in the filter columns of stored events"
            );
        }
        Ok(())
    }
}

/// Stores the events not stored yet, inside `tx`, and returns the ids of those it stored (a
/// repeat within `events` is stored, and listed, once). Takes the insert lock, so `seq` follows
/// commit order, and writes in chunks, encoding the next chunk while the current one is written.
async fn write_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    events: &[Event],
    ingested_at: DateTime<Utc>,
) -> StoreResult<Vec<EventId>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INSERT_LOCK)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    let mut chunks = events.chunks(INSERT_CHUNK);
    let mut current = chunks.next().map(encode_chunk).transpose()?;
    let mut new = Vec::new();
    while let Some(columns) = current {
        // The write goes to the engine on its first poll; the next chunk is encoded meanwhile.
        let next = chunks.next();
        let (written, encoded) = tokio::join!(insert_chunk(tx, &columns, ingested_at), async {
            next.map(encode_chunk).transpose()
        });
        new.extend(written?);
        current = encoded?;
    }
    Ok(new)
}

struct PgDialect;

impl Dialect for PgDialect {
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }
    fn text_match(&self, placeholder: &str) -> String {
        format!("search @@ {placeholder}::tsquery")
    }
    fn contains(&self, column: &str, placeholder: &str) -> String {
        format!("strpos({column}, {placeholder}) > 0")
    }
    fn byte_order(&self, expression: &str) -> String {
        format!("{expression} COLLATE \"C\"")
    }
    fn time_bucket(&self, interval_seconds: i64) -> String {
        format!("date_bin('{interval_seconds} seconds'::interval, timestamp, TIMESTAMPTZ 'epoch')")
    }
    fn text_query(&self, text: &SearchText) -> String {
        // `'tok1' <-> 'tok2':* & 'tok3':*`: quoted lexemes are taken as they are (no parsing,
        // no stemming), matching the tokens indexed by `to_tsvector('simple', …)`.
        text.phrases()
            .iter()
            .map(|phrase| {
                let quoted: Vec<String> = phrase.iter().map(|t| format!("'{t}'")).collect();
                format!("{}:*", quoted.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn insert_events(&self, events: &[Event]) -> StoreResult<InsertReport> {
        if events.is_empty() {
            return Ok(InsertReport::default());
        }
        self.store_batch(events, None).await
    }

    async fn query_events(&self, query: &EventQuery) -> StoreResult<EventPage> {
        let filter = event_filter(query, &PgDialect);
        let sql = filter.select_sql();
        let rows = sqlx::query_with(AssertSqlSafe(sql), arguments(filter.binds)?)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(|row| decode_row_with(row, !query.without_raw))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(into_page(items, query))
    }

    async fn aggregate_events(
        &self,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> StoreResult<EventAggregates> {
        let sql = AggregateSql::new(query, &PgDialect);
        let binds = || arguments(sql.filter.binds.clone());
        type Totals = (i64, i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let (total, failures, first, last): Totals =
            sqlx::query_as_with(AssertSqlSafe(sql.totals()), binds()?)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        let interval = aggregate_interval(query, spec, first, last)?;
        let buckets: Vec<(DateTime<Utc>, i64, i64)> =
            sqlx::query_as_with(AssertSqlSafe(sql.timeline(&PgDialect, interval)), binds()?)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        let buckets = buckets
            .into_iter()
            .map(|(start, count, failures)| TimeBucket {
                start,
                count: count as u64,
                failures: failures as u64,
            })
            .collect();
        let mut top: [Vec<ValueCount>; 3] = Default::default();
        for (list, column) in top.iter_mut().zip(TopColumn::ALL) {
            let rows: Vec<(String, i64)> = sqlx::query_as_with(
                AssertSqlSafe(sql.top(&PgDialect, column, spec.top)),
                binds()?,
            )
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
            *list = rows
                .into_iter()
                .map(|(value, count)| ValueCount {
                    value,
                    count: count as u64,
                })
                .collect();
        }
        Ok(EventAggregates::assemble(
            total as u64,
            failures as u64,
            first,
            last,
            interval,
            (query.from, query.to),
            buckets,
            top,
        ))
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>> {
        let sql = format!("SELECT {SELECT_COLUMNS} FROM events WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(decode_row).transpose()
    }

    async fn events_after(&self, after: Option<Seq>, limit: u32) -> StoreResult<Vec<Event>> {
        let sql =
            format!("SELECT {SELECT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.map_or(0, |s| s.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(decode_row).collect()
    }

    async fn delete_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Events first: their row locks make a concurrent annotation wait, and then it is seen.
        let deleted = sqlx::query("DELETE FROM events WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        annotations::delete_annotations_of(&mut tx, &ids).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn delete_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let dropped = self.partitions.drop_before(&self.pool, cutoff).await?;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let deleted = sqlx::query("DELETE FROM events WHERE timestamp < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        annotations::delete_annotations_between(&mut tx, None, cutoff).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(dropped + deleted)
    }

    async fn count_events(&self) -> StoreResult<u64> {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(count as u64)
    }
}

/// Writes one chunk; returns the ids of the events that were not stored before.
async fn insert_chunk(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    columns: &[EventColumns<'_>],
    ingested_at: DateTime<Utc>,
) -> StoreResult<Vec<EventId>> {
    let n = columns.len();
    let mut ids = Vec::with_capacity(n);
    let mut tenants = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut sources = Vec::with_capacity(n);
    let mut services = Vec::with_capacity(n);
    let mut timestamps = Vec::with_capacity(n);
    let mut operations = Vec::with_capacity(n);
    let mut results = Vec::with_capacity(n);
    let mut actor_upns = Vec::with_capacity(n);
    let mut actor_ids = Vec::with_capacity(n);
    let mut ips = Vec::with_capacity(n);
    let mut ip_keys = Vec::with_capacity(n);
    let mut countries = Vec::with_capacity(n);
    let mut target_keys = Vec::with_capacity(n);
    let mut summaries = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut searches = Vec::with_capacity(n);
    for c in columns {
        ids.push(c.event.id.as_uuid());
        tenants.push(c.tenant_id.as_ref());
        keys.push(c.dedupe_key.as_ref());
        sources.push(c.source.as_ref());
        services.push(c.service.as_ref());
        timestamps.push(c.event.timestamp);
        operations.push(c.operation.as_ref());
        results.push(c.event.result.as_str());
        actor_upns.push(c.actor_upn.as_deref());
        actor_ids.push(c.actor_id.as_deref());
        ips.push(c.client_ip.as_deref());
        ip_keys.push(c.client_ip_key.map(|k| k.to_vec()));
        countries.push(c.country.as_deref());
        target_keys.push(c.target_keys.as_str());
        summaries.push(c.summary.as_ref());
        payloads.push(c.payload.as_slice());
        searches.push(c.search.as_str());
    }
    let inserted: Vec<(Uuid,)> = sqlx::query_as(
        "INSERT INTO events (id, tenant_id, dedupe_key, source, service, timestamp, ingested_at, \
         operation, result, actor_upn, actor_id, client_ip, summary, payload, search, \
         client_ip_key, country, target_keys) \
         SELECT id, tenant_id, dedupe_key, source, service, timestamp, $15, operation, result, \
                actor_upn, actor_id, client_ip, summary, payload, to_tsvector('simple', search), \
                client_ip_key, country, target_keys \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                     $13::bytea[], $14::text[], $16::bytea[], $17::text[], $18::text[]) \
              AS t(id, tenant_id, dedupe_key, source, service, timestamp, operation, result, \
                   actor_upn, actor_id, client_ip, summary, payload, search, client_ip_key, \
                   country, target_keys) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(ids)
    .bind(tenants)
    .bind(keys)
    .bind(sources)
    .bind(services)
    .bind(timestamps)
    .bind(operations)
    .bind(results)
    .bind(actor_upns)
    .bind(actor_ids)
    .bind(ips)
    .bind(summaries)
    .bind(payloads)
    .bind(searches)
    .bind(ingested_at)
    .bind(ip_keys)
    .bind(countries)
    .bind(target_keys)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(inserted
        .into_iter()
        .map(|(id,)| EventId::from_uuid(id))
        .collect())
}

#[async_trait]
impl Store for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        self.fill_derived_columns().await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
