//! The server engine: PostgreSQL, events range-partitioned by month, `tsvector` + GIN for full
//! text, idempotent batch inserts through `UNNEST` arrays.

mod annotations;
#[cfg(test)]
mod citus_ready;
mod jobs;
mod partitions;
mod replica;
mod rows;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use aoc_model::search::SearchText;
use aoc_model::{Event, EventId, EventQuery};
use aoc_store::sql::{
    ChunkWriter, Dialect, Row, SqlEngine, SqlTransaction, Statement, Written, finish_store,
    join_activities, record_actor_names, totals_change_sql, write_in_chunks,
};
use aoc_store::{
    DerivedColumns, EventColumns, FetchCommit, FilterDialect, IMPORT_SOURCE, InsertReport,
    StoreError, StoreResult,
};

use aoc_store::Bind;
use aoc_store::sql::rollup::{RollupDelta, remove_from_rollup};
use partitions::Partitions;
use replica::{ReadReplica, ReplicaRead};
use rows::{Tx, plain_rows, query};

/// Rows per INSERT statement.
const INSERT_CHUNK: usize = 5_000;
/// Serializes event inserts so `seq` follows commit order (any constant unique to AOC).
const INSERT_LOCK: i64 = 0x0A0C_0001;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct PostgresStore {
    pool: PgPool,
    partitions: Partitions,
    /// Where searches read, when `DATABASE_READ_URL` names a replica.
    replica: Option<ReadReplica>,
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
            replica: None,
        })
    }

    /// Sends searches, figures, facets and exports to the streaming replica at `url`
    /// (`DATABASE_READ_URL`); writes and the reads that must see them stay on the primary.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] naming `DATABASE_READ_URL` for a URL that is not a
    /// PostgreSQL URL.
    pub fn with_read_replica(mut self, url: &str) -> StoreResult<Self> {
        self.replica = Some(ReadReplica::connect(url)?);
        Ok(self)
    }

    /// Stores `events` as [`aoc_store::EventStore::insert_events`] describes and, when `commit` is
    /// given, its fetch state, in one transaction.
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
        let now = Utc::now();
        let mut tx = Tx(self.pool.begin().await.map_err(map_err)?);
        let ((new, rollup), joined) = if events.is_empty() {
            ((Vec::new(), RollupDelta::default()), 0)
        } else {
            lock_inserts(&mut tx.0).await?;
            let joined = join_activities(&mut tx, Dialect::Postgres, events, now).await?;
            record_actor_names(&mut tx, Dialect::Postgres, events).await?;
            (
                write_events(&mut tx.0, &joined.events, now).await?,
                joined.joined,
            )
        };
        finish_store(
            Box::new(tx),
            Dialect::Postgres,
            events,
            commit,
            Written {
                new: &new,
                rollup: &rollup,
                joined,
            },
            now,
        )
        .await
    }
}

/// Stores the events not stored yet, inside `tx` (which holds the insert lock, see
/// [`lock_inserts`]), and returns the ids of those it stored (a repeat within `events` is
/// stored, and listed, once). Writes in chunks, encoding the next chunk while the current one is
/// written.
async fn write_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    events: &[Event],
    ingested_at: DateTime<Utc>,
) -> StoreResult<(Vec<EventId>, RollupDelta)> {
    if events.is_empty() {
        return Ok((Vec::new(), RollupDelta::default()));
    }
    let mut writer = EventWriter { tx, ingested_at };
    write_in_chunks(&mut writer, events, INSERT_CHUNK).await
}

/// Takes the insert lock: `seq` then follows commit order, and a record joining another path's
/// event (see [`join_activities`]) sees every event committed before.
async fn lock_inserts(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INSERT_LOCK)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// PostgreSQL's side of the events filter: `tsvector` full text, code-point ordering.
struct PgDialect;

impl FilterDialect for PgDialect {
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
impl SqlEngine for PostgresStore {
    async fn apply_migrations(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn begin(&self) -> StoreResult<Box<dyn SqlTransaction>> {
        Ok(Box::new(Tx(self.pool.begin().await.map_err(map_err)?)))
    }

    async fn read(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        let rows = query(statement)?
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        plain_rows(&rows)
    }

    async fn read_search(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        if let Some(replica) = &self.replica
            && let ReplicaRead::Rows(rows) = replica.read(&statement).await?
        {
            return Ok(rows);
        }
        self.read(statement).await
    }

    /// Reads and writes share the pool: a write that returns rows is a read here.
    async fn write_returning(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        self.read(statement).await
    }

    async fn write(&self, statement: Statement) -> StoreResult<u64> {
        let done = query(statement)?
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn events_dialect(
        &self,
        _query: &EventQuery,
    ) -> StoreResult<Option<Box<dyn FilterDialect + Send + Sync>>> {
        // A text query that matches nothing costs one index probe: no plan to make.
        Ok(Some(Box::new(PgDialect)))
    }

    async fn store_events(
        &self,
        events: &[Event],
        commit: Option<&FetchCommit<'_>>,
    ) -> StoreResult<InsertReport> {
        self.store_batch(events, commit).await
    }

    async fn remove_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        let mut tx = Tx(self.pool.begin().await.map_err(map_err)?);
        for chunk in ids.chunks(INSERT_CHUNK) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let condition = Statement::raw(
                format!("id IN ({})", list.join(", ")),
                chunk.iter().map(|id| Bind::Id(*id)).collect(),
            );
            remove_from_rollup(&mut tx, Dialect::Postgres, condition).await?;
        }
        let mut tx = tx.0;
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        // Events first: their row locks make a concurrent annotation wait, and then it is seen.
        let deleted = sqlx::query("DELETE FROM events WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        annotations::delete_annotations_of(&mut tx, &ids).await?;
        sqlx::query("DELETE FROM event_sightings WHERE event_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        change_totals(&mut tx, -(deleted as i64)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn remove_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let dropped = self.partitions.drop_before(&self.pool, cutoff).await?;
        let mut tx = Tx(self.pool.begin().await.map_err(map_err)?);
        let condition = Statement::new(
            Dialect::Postgres,
            "timestamp < $1 AND (source <> $2 OR ingested_at < $1)",
        )
        .bind(Bind::Timestamp(cutoff))
        .bind(Bind::Text(IMPORT_SOURCE.to_owned()));
        remove_from_rollup(&mut tx, Dialect::Postgres, condition).await?;
        let mut tx = tx.0;
        let deleted = sqlx::query(
            "DELETE FROM events WHERE timestamp < $1 AND (source <> $2 OR ingested_at < $1)",
        )
        .bind(cutoff)
        .bind(IMPORT_SOURCE)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        annotations::delete_annotations_between(&mut tx, None, cutoff).await?;
        // Partitions drop without triggers: the sightings of their events go by time.
        sqlx::query(
            "DELETE FROM event_sightings s WHERE s.timestamp < $1 \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.event_id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if deleted > 0 {
            change_totals(&mut tx, -(deleted as i64)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(dropped + deleted)
    }

    /// One statement per chunk, the columns as arrays.
    async fn write_derived(&self, rows: Vec<(i64, DerivedColumns)>) -> StoreResult<()> {
        let n = rows.len();
        let mut seqs = Vec::with_capacity(n);
        let mut ip_keys = Vec::with_capacity(n);
        let mut countries = Vec::with_capacity(n);
        let mut target_keys = Vec::with_capacity(n);
        let mut actor_keys = Vec::with_capacity(n);
        let mut applications = Vec::with_capacity(n);
        let mut application_keys = Vec::with_capacity(n);
        let mut target_names = Vec::with_capacity(n);
        let mut searches = Vec::with_capacity(n);
        for (seq, derived) in rows {
            seqs.push(seq);
            ip_keys.push(derived.client_ip_key.map(|k| k.to_vec()));
            countries.push(derived.country);
            target_keys.push(derived.target_keys);
            actor_keys.push(derived.actor_keys);
            applications.push(derived.application);
            application_keys.push(derived.application_key);
            target_names.push(derived.target_names);
            searches.push(derived.search);
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "UPDATE events SET client_ip_key = t.client_ip_key, country = t.country, \
             target_keys = t.target_keys, actor_keys = t.actor_keys, application = t.application, \
             application_key = t.application_key, target_names = t.target_names, \
             search = to_tsvector('simple', t.search) \
             FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], \
                         $7::text[], $8::text[], $9::text[]) \
                  AS t(seq, client_ip_key, country, target_keys, actor_keys, application, \
                       application_key, search, target_names) \
             WHERE events.seq = t.seq",
        )
        .bind(seqs)
        .bind(ip_keys)
        .bind(countries)
        .bind(target_keys)
        .bind(actor_keys)
        .bind(applications)
        .bind(application_keys)
        .bind(searches)
        .bind(target_names)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        change_totals(&mut tx, 0).await?;
        tx.commit().await.map_err(map_err)
    }
}

/// Moves `event_totals` in `tx` ([`aoc_store::sql::totals_change`]).
pub(crate) async fn change_totals(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    delta: i64,
) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(totals_change_sql(Dialect::Postgres)))
        .bind(delta)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Writes chunks of events in one transaction, the columns as arrays.
struct EventWriter<'t> {
    tx: &'t mut sqlx::Transaction<'static, sqlx::Postgres>,
    ingested_at: DateTime<Utc>,
}

#[async_trait]
impl ChunkWriter for EventWriter<'_> {
    async fn write_chunk(&mut self, columns: &[EventColumns<'_>]) -> StoreResult<Vec<EventId>> {
        insert_chunk(self.tx, columns, self.ingested_at).await
    }
}

/// Writes one chunk; returns the ids of the events that were not stored before.
async fn insert_chunk(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
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
    let mut activity_keys = Vec::with_capacity(n);
    let mut actor_keys = Vec::with_capacity(n);
    let mut applications = Vec::with_capacity(n);
    let mut application_keys = Vec::with_capacity(n);
    let mut target_names = Vec::with_capacity(n);
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
        activity_keys.push(c.activity_key.as_deref());
        actor_keys.push(c.actor_keys.as_str());
        applications.push(c.application.as_deref());
        application_keys.push(c.application_key.as_deref());
        target_names.push(c.target_names.as_deref());
        summaries.push(c.summary.as_ref());
        payloads.push(c.payload.as_slice());
        searches.push(c.search.as_str());
    }
    let inserted: Vec<(Uuid,)> = sqlx::query_as(
        "INSERT INTO events (id, tenant_id, dedupe_key, source, service, timestamp, ingested_at, \
         operation, result, actor_upn, actor_id, client_ip, summary, payload, search, \
         client_ip_key, country, target_keys, activity_key, actor_keys, application, \
         application_key, target_names) \
         SELECT id, tenant_id, dedupe_key, source, service, timestamp, $15, operation, result, \
                actor_upn, actor_id, client_ip, summary, payload, to_tsvector('simple', search), \
                client_ip_key, country, target_keys, activity_key, actor_keys, application, \
                application_key, target_names \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                     $13::bytea[], $14::text[], $16::bytea[], $17::text[], $18::text[], \
                     $19::text[], $20::text[], $21::text[], $22::text[], $23::text[]) \
              AS t(id, tenant_id, dedupe_key, source, service, timestamp, operation, result, \
                   actor_upn, actor_id, client_ip, summary, payload, search, client_ip_key, \
                   country, target_keys, activity_key, actor_keys, application, application_key, \
                   target_names) \
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
    .bind(activity_keys)
    .bind(actor_keys)
    .bind(applications)
    .bind(application_keys)
    .bind(target_names)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(inserted
        .into_iter()
        .map(|(id,)| EventId::from_uuid(id))
        .collect())
}
