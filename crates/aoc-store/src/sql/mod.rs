//! The SQL both engines run, written once.
//!
//! Design: statements are built here as text plus [`Bind`] values, for a [`Dialect`]; rows come
//! back as plain [`Row`]s of [`Value`]s and are decoded here too. An engine implements
//! [`SqlEngine`]: it binds and runs a [`Statement`] on its own pools and converts its rows to
//! [`Row`]s, and it supplies the operations that truly differ (bulk event writes with full-text
//! indexing, retention by chunks or by partitions, the full-text plan). In return it gets
//! [`crate::EventStore`], [`crate::FetchStateStore`], [`crate::AnnotationStore`] and
//! [`crate::AuditTrailStore`] from the implementations in this module, and with its own
//! [`crate::JobQueue`] (leases differ too much to share) the whole [`Store`].
//!
//! Why not a shared crate generic over sqlx: only the engines may name sqlx (see STYLE.md), and
//! sqlx's generic bounds (executor, encode and decode per database) would cost more code than the
//! two small conversions each engine now writes (binds in, rows out). Statements are written
//! with PostgreSQL's `$n` placeholders; for SQLite [`Dialect::sql`] turns them into `?n`, which
//! SQLite numbers the same way, so one text serves both. Where the engines truly differ in SQL
//! (upsert of a maximum, code-point ordering, a lock taken with a row), the dialect supplies the
//! fragment or the statement is chosen by `match`, beside its twin.

mod activity;
pub mod actor_lookup;
mod annotations;
mod audit_trail;
mod events;
mod fetch_state;
mod people;
pub mod rollup;
mod rollup_read;
mod row;
mod saved_searches;

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{Event, EventId, EventQuery};

use crate::filter::{Bind, FilterDialect};
use crate::{DerivedColumns, FetchCommit, InsertReport, JobQueue, Store, StoreError, StoreResult};

pub use activity::{
    Joined, PENDING_KEY, attach_sightings, join_activities, merge_stored_activities,
};
pub use events::{ChunkWriter, fill_derived_columns, query_page, write_in_chunks};
pub use fetch_state::{Written, finish_store};
pub use people::{actor_name, record_actor_names};
pub use row::{Row, Value};

/// The engines' SQL differences that shared statements are parameterised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `text`, written with `$n` placeholders, in this dialect: SQLite numbers `?n` the same way.
    pub fn sql(self, text: &str) -> String {
        match self {
            Self::Postgres => text.to_owned(),
            Self::Sqlite => {
                let mut out = String::with_capacity(text.len());
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    let numbered = c == '$' && chars.peek().is_some_and(char::is_ascii_digit);
                    out.push(if numbered { '?' } else { c });
                }
                out
            }
        }
    }

    /// `sqlite` or `postgres`: the engine's name (see [`crate::Store::engine`]).
    pub fn engine(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The placeholder of the `index`-th bound value (1-based).
    pub fn placeholder(self, index: usize) -> String {
        match self {
            Self::Sqlite => format!("?{index}"),
            Self::Postgres => format!("${index}"),
        }
    }

    /// `(…), (…), …` for a multi-row `VALUES`: `rows` tuples of `width` placeholders, numbered
    /// from 1 in row order.
    pub fn value_rows(self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|row| {
                let places: Vec<String> = (1..=width)
                    .map(|k| self.placeholder(row * width + k))
                    .collect();
                format!("({})", places.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The larger of two values: SQLite's scalar `max`, PostgreSQL's `GREATEST`.
    pub fn greatest(self) -> &'static str {
        match self {
            Self::Sqlite => "max",
            Self::Postgres => "GREATEST",
        }
    }

    /// A condition that holds when `column` contains the text bound at `placeholder`.
    pub fn contains(self, column: &str, placeholder: &str) -> String {
        match self {
            Self::Sqlite => format!("instr({column}, {placeholder}) > 0"),
            Self::Postgres => format!("strpos({column}, {placeholder}) > 0"),
        }
    }

    /// Text ordered by code point, whatever the database's collation (SQLite's default).
    pub fn by_code_point(self, column: &str) -> Cow<'_, str> {
        match self {
            Self::Sqlite => Cow::Borrowed(column),
            Self::Postgres => Cow::Owned(format!("{column} COLLATE \"C\"")),
        }
    }
}

/// One statement and its values, ready for an engine to bind and run.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Statement {
    /// `sql` (with `$n` placeholders) in `dialect`.
    pub fn new(dialect: Dialect, sql: &str) -> Self {
        Self {
            sql: dialect.sql(sql),
            binds: Vec::new(),
        }
    }

    /// Text already in the engine's dialect, such as a built filter.
    pub fn raw(sql: String, binds: Vec<Bind>) -> Self {
        Self { sql, binds }
    }

    /// Adds the value of the next placeholder.
    #[must_use]
    pub fn bind(mut self, value: impl Into<Bind>) -> Self {
        self.binds.push(value.into());
        self
    }
}

/// A write transaction of an engine. Dropped without [`SqlTransaction::commit`], it rolls back.
#[async_trait]
pub trait SqlTransaction: Send {
    /// Runs a statement; returns how many rows it changed.
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64>;
    /// Runs a statement; returns its rows (a query, or a write with `RETURNING`).
    async fn fetch(&mut self, statement: Statement) -> StoreResult<Vec<Row>>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// An engine, as the shared SQL sees it: how to run a statement, and what only it knows how to
/// do. Implementing it gives the engine the shared [`crate::EventStore`],
/// [`crate::FetchStateStore`], [`crate::AnnotationStore`] and [`crate::AuditTrailStore`], and
/// with a [`JobQueue`] the whole [`Store`].
#[async_trait]
pub trait SqlEngine: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// Applies the engine's embedded schema migrations that are not applied yet.
    async fn apply_migrations(&self) -> StoreResult<()>;

    /// Runs a statement that only reads; returns its rows.
    async fn read(&self, statement: Statement) -> StoreResult<Vec<Row>>;

    /// Runs a read of a search, figure, facet or export, which a read replica may answer: it
    /// may trail the primary by a moment, so nothing that must see the caller's own writes (an
    /// event's tags and comments, fetch state, jobs) reads through here. Without a replica,
    /// [`SqlEngine::read`].
    async fn read_search(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        self.read(statement).await
    }

    /// Runs a statement that writes, on its own; returns how many rows it changed.
    async fn write(&self, statement: Statement) -> StoreResult<u64>;

    /// Runs a statement that writes and returns rows (`RETURNING`), on its own.
    async fn write_returning(&self, statement: Statement) -> StoreResult<Vec<Row>>;

    /// Starts a write transaction.
    async fn begin(&self) -> StoreResult<Box<dyn SqlTransaction>>;

    /// The events filter dialect for `query`, with its full-text plan; `None` when the text
    /// cannot match anything.
    async fn events_dialect(
        &self,
        query: &EventQuery,
    ) -> StoreResult<Option<Box<dyn FilterDialect + Send + Sync>>>;

    /// Stores `events` as [`crate::EventStore::insert_events`] describes (empty included) and,
    /// when `commit` is given, its fetch state, in one transaction (ending with [`finish_store`]).
    async fn store_events(
        &self,
        events: &[Event],
        commit: Option<&FetchCommit<'_>>,
    ) -> StoreResult<InsertReport>;

    /// [`crate::EventStore::delete_events`].
    async fn remove_events(&self, ids: &[EventId]) -> StoreResult<u64>;

    /// [`crate::EventStore::delete_events_before`].
    async fn remove_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// Writes the derived filter columns of the rows `(seq, columns)` (see
    /// [`fill_derived_columns`]).
    async fn write_derived(&self, rows: Vec<(i64, DerivedColumns)>) -> StoreResult<()>;
}

/// With its job queue, an engine is a complete [`Store`].
#[async_trait]
impl<E: SqlEngine + JobQueue> Store for E {
    fn engine(&self) -> &'static str {
        self.dialect().engine()
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.apply_migrations().await?;
        // Rows stored before the filter columns existed get them, and before activities were
        // joined across collection paths, their key (and the joining).
        fill_derived_columns(self).await?;
        merge_stored_activities(self).await?;
        rollup::build_once(self).await
    }

    async fn ping(&self) -> StoreResult<()> {
        let one = Statement::new(self.dialect(), "SELECT 1 AS one");
        self.read(one).await.map(drop)
    }
}

/// Microseconds since the Unix epoch: how SQLite keeps times.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// # Errors
/// [`StoreError::Corrupt`] for a value no time has.
pub fn from_micros(value: i64, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

/// The statement that moves `event_totals` (see its migration) in the transaction of a change:
/// a new version, and `stored` by `delta` events. Last in its transaction, so that on
/// PostgreSQL the row's lock is held only while committing.
pub fn totals_change(dialect: Dialect, delta: i64) -> Statement {
    Statement::new(dialect, TOTALS_CHANGE).bind(delta)
}

/// [`totals_change`]'s text, for engines that run it on their own connections (`$1`: the delta).
pub fn totals_change_sql(dialect: Dialect) -> String {
    dialect.sql(TOTALS_CHANGE)
}

const TOTALS_CHANGE: &str =
    "UPDATE event_totals SET version = version + 1, stored = stored + $1 WHERE id = 1";

/// A count as the databases store it.
fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rows_number_their_placeholders_in_row_order() {
        assert_eq!(
            Dialect::Postgres.value_rows(2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(Dialect::Sqlite.value_rows(1, 2), "(?1, ?2)");
        assert_eq!(Dialect::Sqlite.value_rows(0, 2), "");
    }

    #[test]
    fn sqlite_numbers_placeholders_like_postgres() {
        assert_eq!(
            Dialect::Sqlite.sql("SELECT '$x', $1, $12 FROM t WHERE a = $2"),
            "SELECT '$x', ?1, ?12 FROM t WHERE a = ?2"
        );
        assert_eq!(Dialect::Postgres.sql("a = $1"), "a = $1");
    }
}
