//! The embedded engine: one SQLite file in WAL mode, FTS5 for full text.
//!
//! Writes go through a pool of one connection (SQLite has one writer at a time; queueing in the
//! pool is cheaper than retrying on `SQLITE_BUSY`), reads through a pool of several, which WAL
//! lets run beside the writer.

mod annotations;
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
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use aoc_model::{Event, EventId, EventQuery};
use aoc_store::Bind;
use aoc_store::sql::rollup::remove_from_rollup;
use aoc_store::sql::{
    ChunkWriter, Dialect, Row, SqlEngine, SqlTransaction, Statement, Written, finish_store,
    join_activities, micros, record_actor_names, totals_change_sql, write_in_chunks,
};
use aoc_store::{
    DerivedColumns, EventColumns, FetchCommit, FilterDialect, IMPORT_SOURCE, InsertReport,
    StoreError, StoreResult,
};

use fts::{SqliteDialect, TextPlan, TextSearch};
use rows::Tx;

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
}

/// Writes chunks of events in one transaction, each row with its full-text entry.
struct EventWriter<'t> {
    tx: &'t mut sqlx::Transaction<'static, Sqlite>,
    /// Microseconds since the Unix epoch.
    ingested_at: i64,
}

#[async_trait]
impl ChunkWriter for EventWriter<'_> {
    async fn write_chunk(&mut self, columns: &[EventColumns<'_>]) -> StoreResult<Vec<EventId>> {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (id, tenant_id, dedupe_key, source, service, timestamp, ingested_at, \
             operation, result, actor_upn, actor_id, client_ip, client_ip_key, country, \
             target_keys, target_names, activity_key, actor_keys, application, application_key, \
             summary, payload) ",
        );
        insert.push_values(columns, |mut row, c| {
            let e = c.event;
            row.push_bind(e.id.as_bytes().to_vec())
                .push_bind(c.tenant_id.as_ref())
                .push_bind(c.dedupe_key.as_ref())
                .push_bind(c.source.as_ref())
                .push_bind(c.service.as_ref())
                .push_bind(micros(e.timestamp))
                .push_bind(self.ingested_at)
                .push_bind(c.operation.as_ref())
                .push_bind(e.result.as_str())
                .push_bind(c.actor_upn.as_deref())
                .push_bind(c.actor_id.as_deref())
                .push_bind(c.client_ip.as_deref())
                .push_bind(c.client_ip_key.map(|k| k.to_vec()))
                .push_bind(c.country.as_deref())
                .push_bind(c.target_keys.as_str())
                .push_bind(c.target_names.as_deref())
                .push_bind(c.activity_key.as_deref())
                .push_bind(c.actor_keys.as_str())
                .push_bind(c.application.as_deref())
                .push_bind(c.application_key.as_deref())
                .push_bind(c.summary.as_ref())
                .push_bind(c.payload.as_slice());
        });
        insert.push(" ON CONFLICT (id) DO NOTHING RETURNING seq, id");
        let inserted: Vec<(i64, Vec<u8>)> = insert
            .build_query_as()
            .fetch_all(&mut **self.tx)
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
        fts.build().execute(&mut **self.tx).await.map_err(map_err)?;
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
}

#[async_trait]
impl SqlEngine for SqliteStore {
    async fn apply_migrations(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn read(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        rows::fetch(&self.reader, statement).await
    }

    async fn write(&self, statement: Statement) -> StoreResult<u64> {
        rows::execute(&self.writer, statement).await
    }

    async fn write_returning(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        rows::fetch(&self.writer, statement).await
    }

    async fn begin(&self) -> StoreResult<Box<dyn SqlTransaction>> {
        let tx = self.writer.begin().await.map_err(map_err)?;
        Ok(Box::new(Tx(tx)))
    }

    async fn events_dialect(
        &self,
        query: &EventQuery,
    ) -> StoreResult<Option<Box<dyn FilterDialect + Send + Sync>>> {
        let dialect = self.dialect_for(query).await?;
        Ok(dialect.map(|d| Box::new(d) as Box<dyn FilterDialect + Send + Sync>))
    }

    async fn store_events(
        &self,
        events: &[Event],
        commit: Option<&FetchCommit<'_>>,
    ) -> StoreResult<InsertReport> {
        let now = Utc::now();
        let mut tx = Tx(self.writer.begin().await.map_err(map_err)?);
        // One writer connection: the join sees every earlier write.
        let joined = join_activities(&mut tx, Dialect::Sqlite, events, now).await?;
        record_actor_names(&mut tx, Dialect::Sqlite, events).await?;
        let mut writer = EventWriter {
            tx: &mut tx.0,
            ingested_at: micros(now),
        };
        let (new, rollup) = write_in_chunks(&mut writer, &joined.events, INSERT_CHUNK).await?;
        let merged = joined.joined;
        finish_store(
            Box::new(tx),
            Dialect::Sqlite,
            events,
            commit,
            Written {
                new: &new,
                rollup: &rollup,
                joined: merged,
            },
            now,
        )
        .await
    }

    async fn remove_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        let mut deleted = 0;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let bytes: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
        annotations::delete_annotations_of(&mut tx, &bytes).await?;
        for chunk in ids.chunks(INSERT_CHUNK) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
            let condition = Statement::raw(
                format!("id IN ({})", list.join(", ")),
                chunk.iter().map(|id| Bind::Id(*id)).collect(),
            );
            let mut wrapped = Tx(tx);
            remove_from_rollup(&mut wrapped, Dialect::Sqlite, condition).await?;
            tx = wrapped.0;
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
        change_totals(&mut tx, -(deleted as i64)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn remove_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            // Each chunk's events go with their tags and comments, in one transaction.
            let mut tx = Tx(self.writer.begin().await.map_err(map_err)?);
            let condition = Statement::new(
                Dialect::Sqlite,
                "seq IN (SELECT seq FROM events WHERE timestamp < $1 \
                 AND (source <> $3 OR ingested_at < $1) ORDER BY timestamp LIMIT $2)",
            )
            .bind(Bind::Integer(micros(cutoff)))
            .bind(Bind::Integer(DELETE_CHUNK))
            .bind(Bind::Text(IMPORT_SOURCE.to_owned()));
            // The same rows as the DELETE's: one writer, one transaction.
            remove_from_rollup(&mut tx, Dialect::Sqlite, condition).await?;
            let mut tx = tx.0;
            let ids: Vec<Vec<u8>> = sqlx::query_scalar(
                "DELETE FROM events WHERE seq IN \
                 (SELECT seq FROM events WHERE timestamp < ?1 \
                  AND (source <> ?3 OR ingested_at < ?1) ORDER BY timestamp LIMIT ?2) \
                 RETURNING id",
            )
            .bind(micros(cutoff))
            .bind(DELETE_CHUNK)
            .bind(IMPORT_SOURCE)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            annotations::delete_annotations_of(&mut tx, &ids).await?;
            let done = ids.len() as u64;
            let last = done < DELETE_CHUNK as u64;
            if last {
                // Whatever else is annotated before the cutoff and has no event left.
                annotations::delete_annotations_before(&mut tx, cutoff).await?;
            }
            if done > 0 {
                change_totals(&mut tx, -(done as i64)).await?;
            }
            tx.commit().await.map_err(map_err)?;
            deleted += done;
            if last {
                return Ok(deleted);
            }
        }
    }

    async fn write_derived(&self, rows: Vec<(i64, DerivedColumns)>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        for (seq, derived) in rows {
            sqlx::query(
                "UPDATE events SET client_ip_key = ?, country = ?, target_keys = ?, actor_keys = ?, \
                 application = ?, application_key = ?, target_names = ? WHERE seq = ?",
            )
            .bind(derived.client_ip_key.map(|k| k.to_vec()))
            .bind(derived.country)
            .bind(derived.target_keys)
            .bind(derived.actor_keys)
            .bind(derived.application)
            .bind(derived.application_key)
            .bind(derived.target_names)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            // The full-text entry again: its words grow with AOC (a sign-in's city, say).
            sqlx::query("DELETE FROM events_fts WHERE rowid = ?")
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query("INSERT INTO events_fts (rowid, body) VALUES (?, ?)")
                .bind(seq)
                .bind(derived.search)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        change_totals(&mut tx, 0).await?;
        tx.commit().await.map_err(map_err)
    }
}

/// Moves `event_totals` in `tx` ([`aoc_store::sql::totals_change`]).
async fn change_totals(tx: &mut sqlx::Transaction<'static, Sqlite>, delta: i64) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(totals_change_sql(Dialect::Sqlite)))
        .bind(delta)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
