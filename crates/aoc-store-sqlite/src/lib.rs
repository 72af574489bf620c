//! The embedded engine: one SQLite file in WAL mode, FTS5 for full text.
//!
//! Writes go through a pool of one connection (SQLite has one writer at a time; queueing in the
//! pool is cheaper than retrying on `SQLITE_BUSY`), reads through a pool of several, which WAL
//! lets run beside the writer.

mod annotations;
mod audit_trail;
mod fetch_state;
mod fts;
mod jobs;
mod rows;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, SqlitePool};

use aoc_model::{Event, EventId, EventPage, EventQuery, Seq};
use aoc_store::{
    Bind, EventColumns, EventStore, InsertReport, Store, StoreError, StoreResult, encode_chunk,
    event_filter, into_page,
};

use aoc_model::{AggregateSpec, EventAggregates, TimeBucket, ValueCount};
use aoc_store::{AggregateSql, SELECT_COLUMNS, TopColumn, aggregate_interval};
use fts::{SqliteDialect, TextPlan, TextSearch};
use rows::{decode_row, decode_row_with, from_micros, micros};

/// The binds of a filter as SQLite arguments.
pub(crate) fn arguments(binds: Vec<Bind>) -> StoreResult<sqlx::sqlite::SqliteArguments> {
    use sqlx::Arguments as _;
    let mut args = sqlx::sqlite::SqliteArguments::default();
    for bind in binds {
        match bind {
            Bind::Text(text) => args.add(text),
            Bind::Timestamp(ts) => args.add(micros(ts)),
            Bind::Id(id) => args.add(id.as_bytes().to_vec()),
            Bind::Bytes(bytes) => args.add(bytes),
            Bind::Integer(value) => args.add(value),
        }
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}

/// Rows per INSERT statement: 17 parameters each stays far below SQLite's 32,766 limit, and
/// larger statements stop paying off.
const INSERT_CHUNK: usize = 500;
/// Rows deleted per statement during retention, so readers and writers interleave.
const DELETE_CHUNK: i64 = 5_000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn map_err(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.to_string())
        }
        sqlx::Error::Database(db)
            if db.message().contains("locked") || db.message().contains("busy") =>
        {
            StoreError::Unavailable(db.message().to_owned())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

impl SqliteStore {
    /// Opens (and creates, on first start) the database of a `sqlite://PATH` URL.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] for a URL SQLite cannot read, [`StoreError::Unavailable`]
    /// when the file cannot be opened or created.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("DATABASE_URL", e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL keeps the database consistent after a crash; a power loss may
            // drop the last commits, which collectors fetch again thanks to their overlap.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory");
        // Page caches are memory AOC keeps: a larger one for the writer, whose random-key
        // indexes it saves re-reading, small ones for the readers, which the OS cache backs.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", "-65536"))
            .await
            .map_err(map_err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("cache_size", "-8192"))
            .await
            .map_err(map_err)?;
        Ok(Self { writer, reader })
    }

    async fn query_with(
        &self,
        query: &EventQuery,
        dialect: &SqliteDialect,
    ) -> StoreResult<EventPage> {
        let filter = event_filter(query, dialect);
        let sql = filter.select_sql();
        let rows = sqlx::query_with(AssertSqlSafe(sql), arguments(filter.binds)?)
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(|row| decode_row_with(row, !query.without_raw))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(into_page(items, query))
    }

    /// The dialect for `query`, with its full-text plan; `None` when the text cannot match.
    async fn dialect_for(&self, query: &EventQuery) -> StoreResult<Option<SqliteDialect>> {
        Ok(match &query.text {
            None => Some(SqliteDialect {
                plan: TextPlan::FromIndex,
                fts: String::new(),
            }),
            Some(text) => match fts::plan(&self.reader, text).await? {
                TextSearch::Nothing => None,
                TextSearch::Query { fts, plan } => Some(SqliteDialect { plan, fts }),
            },
        })
    }

    /// Writes one chunk; returns the ids of the events that were not stored before.
    async fn insert_chunk(
        &self,
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        columns: &[EventColumns<'_>],
        ingested_at: i64,
    ) -> StoreResult<Vec<EventId>> {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (id, tenant_id, dedupe_key, source, service, timestamp, ingested_at, \
             operation, result, actor_upn, actor_id, client_ip, client_ip_key, country, \
             target_keys, summary, payload) ",
        );
        insert.push_values(columns, |mut row, c| {
            let e = c.event;
            row.push_bind(e.id.as_bytes().to_vec())
                .push_bind(c.tenant_id.as_ref())
                .push_bind(c.dedupe_key.as_ref())
                .push_bind(c.source.as_ref())
                .push_bind(c.service.as_ref())
                .push_bind(micros(e.timestamp))
                .push_bind(ingested_at)
                .push_bind(c.operation.as_ref())
                .push_bind(e.result.as_str())
                .push_bind(c.actor_upn.as_deref())
                .push_bind(c.actor_id.as_deref())
                .push_bind(c.client_ip.as_deref())
                .push_bind(c.client_ip_key.map(|k| k.to_vec()))
                .push_bind(c.country.as_deref())
                .push_bind(c.target_keys.as_str())
                .push_bind(c.summary.as_ref())
                .push_bind(c.payload.as_slice());
        });
        insert.push(" ON CONFLICT (id) DO NOTHING RETURNING seq, id");
        let inserted: Vec<(i64, Vec<u8>)> = insert
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err)?;
        if inserted.is_empty() {
            return Ok(Vec::new());
        }
        // Index the new rows only; a repeat of a stored event must not be indexed twice.
        let by_id: std::collections::HashMap<&[u8], &str> = columns
            .iter()
            .map(|c| (c.event.id.as_bytes().as_slice(), c.search.as_str()))
            .collect();
        let mut fts = QueryBuilder::<Sqlite>::new("INSERT INTO events_fts (rowid, body) ");
        fts.push_values(&inserted, |mut row, (seq, id)| {
            row.push_bind(*seq)
                .push_bind(by_id.get(id.as_slice()).copied().unwrap_or_default());
        });
        fts.build().execute(&mut **tx).await.map_err(map_err)?;
        inserted
            .into_iter()
            .map(|(_, id)| {
                let id: [u8; 16] = id
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("event id is not 16 bytes".into()))?;
                Ok(EventId::from_bytes(id))
            })
            .collect()
    }

    /// Stores the events not stored yet, inside `tx`, and returns the ids of those it stored (a
    /// repeat within `events` is stored, and listed, once). Writes in chunks, encoding the next
    /// chunk while the current one is written.
    pub(crate) async fn write_events(
        &self,
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        events: &[Event],
        ingested_at: DateTime<Utc>,
    ) -> StoreResult<Vec<EventId>> {
        let ingested_at = micros(ingested_at);
        let mut chunks = events.chunks(INSERT_CHUNK);
        let mut current = chunks.next().map(encode_chunk).transpose()?;
        let mut new = Vec::new();
        while let Some(columns) = current {
            // The write goes to the engine on its first poll; the next chunk is encoded meanwhile.
            let next = chunks.next();
            let (written, encoded) =
                tokio::join!(self.insert_chunk(tx, &columns, ingested_at), async {
                    next.map(encode_chunk).transpose()
                });
            new.extend(written?);
            current = encoded?;
        }
        Ok(new)
    }
}

impl SqliteStore {
    /// Computes the filter columns of rows stored before they existed (migration 0005), a
    /// chunk per transaction; a no-op once done.
    async fn fill_derived_columns(&self) -> StoreResult<()> {
        let mut filled = 0u64;
        loop {
            let rows: Vec<(i64, Option<String>, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, client_ip, payload FROM events WHERE target_keys IS NULL \
                 ORDER BY seq LIMIT ?",
            )
            .bind(DELETE_CHUNK)
            .fetch_all(&self.writer)
            .await
            .map_err(map_err)?;
            if rows.is_empty() {
                break;
            }
            let mut tx = self.writer.begin().await.map_err(map_err)?;
            for (seq, client_ip, payload) in &rows {
                let derived =
                    aoc_store::DerivedColumns::from_stored(payload, client_ip.as_deref())?;
                sqlx::query(
                    "UPDATE events SET client_ip_key = ?, country = ?, target_keys = ? WHERE seq = ?",
                )
                .bind(derived.client_ip_key.map(|k| k.to_vec()))
                .bind(derived.country)
                .bind(derived.target_keys)
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
            filled += rows.len() as u64;
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

#[async_trait]
impl EventStore for SqliteStore {
    async fn insert_events(&self, events: &[Event]) -> StoreResult<InsertReport> {
        if events.is_empty() {
            return Ok(InsertReport::default());
        }
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let new = self.write_events(&mut tx, events, Utc::now()).await?.len() as u64;
        tx.commit().await.map_err(map_err)?;
        Ok(InsertReport {
            new,
            duplicate: events.len() as u64 - new,
        })
    }

    async fn query_events(&self, query: &EventQuery) -> StoreResult<EventPage> {
        match self.dialect_for(query).await? {
            Some(dialect) => self.query_with(query, &dialect).await,
            None => Ok(EventPage {
                items: Vec::new(),
                next_cursor: None,
            }),
        }
    }

    async fn aggregate_events(
        &self,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> StoreResult<EventAggregates> {
        let Some(dialect) = self.dialect_for(query).await? else {
            let interval = aggregate_interval(query, spec, None, None)?;
            return Ok(EventAggregates::assemble(
                0,
                0,
                None,
                None,
                interval,
                (query.from, query.to),
                Vec::new(),
                Default::default(),
            ));
        };
        let sql = AggregateSql::new(query, &dialect);
        let binds = || arguments(sql.filter.binds.clone());
        let (total, failures, first, last): (i64, i64, Option<i64>, Option<i64>) =
            sqlx::query_as_with(AssertSqlSafe(sql.totals()), binds()?)
                .fetch_one(&self.reader)
                .await
                .map_err(map_err)?;
        let first = first.map(|t| from_micros(t, "timestamp")).transpose()?;
        let last = last.map(|t| from_micros(t, "timestamp")).transpose()?;
        let interval = aggregate_interval(query, spec, first, last)?;
        let buckets: Vec<(i64, i64, i64)> =
            sqlx::query_as_with(AssertSqlSafe(sql.timeline(&dialect, interval)), binds()?)
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
        let buckets = buckets
            .into_iter()
            .map(|(start, count, failures)| {
                Ok(TimeBucket {
                    start: from_micros(start, "bucket")?,
                    count: count as u64,
                    failures: failures as u64,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut top: [Vec<ValueCount>; 3] = Default::default();
        for (list, column) in top.iter_mut().zip(TopColumn::ALL) {
            let rows: Vec<(String, i64)> =
                sqlx::query_as_with(AssertSqlSafe(sql.top(&dialect, column, spec.top)), binds()?)
                    .fetch_all(&self.reader)
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
        let sql = format!("SELECT {SELECT_COLUMNS} FROM events WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_bytes().to_vec())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err)?;
        row.as_ref().map(decode_row).transpose()
    }

    async fn events_after(&self, after: Option<Seq>, limit: u32) -> StoreResult<Vec<Event>> {
        let sql = format!("SELECT {SELECT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.map_or(0, |s| s.0))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?;
        rows.iter().map(decode_row).collect()
    }

    async fn delete_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        let mut deleted = 0;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let bytes: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
        annotations::delete_annotations_of(&mut tx, &bytes).await?;
        for chunk in ids.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM events WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_bytes().to_vec());
            }
            q.push(")");
            deleted += q
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn delete_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            // Each chunk's events go with their tags and comments, in one transaction.
            let mut tx = self.writer.begin().await.map_err(map_err)?;
            let ids: Vec<Vec<u8>> = sqlx::query_scalar(
                "DELETE FROM events WHERE seq IN \
                 (SELECT seq FROM events WHERE timestamp < ? ORDER BY timestamp LIMIT ?) \
                 RETURNING id",
            )
            .bind(micros(cutoff))
            .bind(DELETE_CHUNK)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            annotations::delete_annotations_of(&mut tx, &ids).await?;
            let done = ids.len() as u64;
            let last = done < DELETE_CHUNK as u64;
            if last {
                // Whatever else is annotated before the cutoff has no event left.
                annotations::delete_annotations_before(&mut tx, cutoff).await?;
            }
            tx.commit().await.map_err(map_err)?;
            deleted += done;
            if last {
                return Ok(deleted);
            }
        }
    }

    async fn count_events(&self) -> StoreResult<u64> {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
            .fetch_one(&self.reader)
            .await
            .map_err(map_err)?;
        Ok(count as u64)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        self.fill_derived_columns().await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
