//! The storage contract of AOC: one [`Store`] trait that every engine implements, its typed
//! errors, the SQL shared by the engines ([`sql`]: statements, row codec, filter builder), and
//! (behind the `testsuite` feature) the behaviour suite that every engine must pass.
//!
//! The trait grows by capability (events, fetch state and leases, annotations, the audit trail,
//! the job queue; alerts and sink cursors as those features arrive), so each part can be read alone.

mod aggregate_sql;
mod annotations;
mod audit_trail;
mod codec;
mod coverage;
mod error;
mod fetch_state;
pub mod filter;
mod instrumented;
mod jobs;
mod payload;
mod saved_searches;
pub mod sql;
#[cfg(feature = "testsuite")]
pub mod testsuite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{
    AggregateSpec, Event, EventAggregates, EventId, EventPage, EventQuery, Facet, Seq, ValueCount,
};

pub use aggregate_sql::{AggregateSql, TopColumn, aggregate_interval};
pub use annotations::{AnnotationStore, Comment, EventRef, TagCount, TagRecord};
pub use audit_trail::{
    AUDIT_COLUMNS, AuditColumns, AuditCursor, AuditCursorError, AuditEntry, AuditOutcome,
    AuditPage, AuditQuery, AuditRow, AuditTrailStore, NewAuditEntry, audit_filter, decode_audit,
    into_audit_page,
};
pub use codec::{
    DerivedColumns, EventColumns, SELECT_COLUMNS, StoredRow, clean_text, decode_event,
    decode_event_with, encode_chunk,
};
pub use coverage::{HourFigures, ceil_hour, hour_figures, hour_of};
pub use error::{StoreError, StoreResult};
pub use fetch_state::{
    ContentRef, ContentStatus, CoverageQuery, CoverageRow, DelayStats, FetchCommit,
    FetchStateStore, RunRecord, SourceProblem, SourceState,
};
pub use filter::{Bind, BindType, FilterDialect, SqlFilter, event_filter, into_page};
pub use instrumented::InstrumentedStore;
pub use jobs::{
    ClaimedJob, JobId, JobOutcome, JobQueue, JobRecord, JobStatus, NewJob, abandoned_error,
    storable_json,
};
pub use saved_searches::{NewSavedSearch, SavedSearch, SavedSearchStore};

/// The source of events imported from files (`aoc import`). Retention keeps them for its
/// period counted from their import, not from when they happened: evidence imported for an
/// investigation of last year would otherwise be deleted at the next retention pass.
pub const IMPORT_SOURCE: &str = "import";

/// What an idempotent insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertReport {
    /// Events that were not stored before.
    pub new: u64,
    /// Records of an activity another collection path had delivered, stored as sightings of
    /// that event rather than as events (see `aoc_model::activity`).
    pub joined: u64,
    /// Events already stored (same tenant and dedupe key), including repeats within the batch.
    pub duplicate: u64,
}

impl InsertReport {
    pub fn add(&mut self, other: InsertReport) {
        self.new += other.new;
        self.joined += other.joined;
        self.duplicate += other.duplicate;
    }
}

/// Events: the normalized audit records.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores the events not already present (by tenant and dedupe key) in one transaction and
    /// assigns each new one its `seq` and `ingested_at`. Safe to repeat: a batch stored twice,
    /// or cut short by a crash and stored again, leaves exactly one copy of every event.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the engine cannot be reached; nothing of the batch is
    /// stored then.
    async fn insert_events(&self, events: &[Event]) -> StoreResult<InsertReport>;

    /// One page of the events matching `query`, ordered by (timestamp, id), with the cursor of
    /// the next page. Paging with that cursor returns every matching event exactly once.
    async fn query_events(&self, query: &EventQuery) -> StoreResult<EventPage>;

    /// Dashboard figures over the events matching `query` (its cursor and order are ignored):
    /// totals, a timeline, and the top operations, actors and addresses.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] naming `interval` when the timeline would have more than
    /// [`aoc_model::aggregate::MAX_BUCKETS`] buckets.
    async fn aggregate_events(
        &self,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> StoreResult<EventAggregates>;

    /// The `top` most frequent values of each of `facets` among the events matching `query`
    /// (its cursor and order ignored), most frequent first, ties by value; in `facets`' order.
    async fn facets(
        &self,
        query: &EventQuery,
        facets: &[Facet],
        top: u32,
    ) -> StoreResult<Vec<(Facet, Vec<ValueCount>)>>;

    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>>;

    /// Up to `limit` events with `seq` greater than `after`, in `seq` (commit) order: the feed of
    /// maintenance, detection and sinks.
    async fn events_after(&self, after: Option<Seq>, limit: u32) -> StoreResult<Vec<Event>>;

    /// Deletes the given events, and their tags and comments in the same transaction; returns how
    /// many events existed.
    async fn delete_events(&self, ids: &[EventId]) -> StoreResult<u64>;

    /// Retention: deletes every event that happened before `cutoff` — an imported one (source
    /// [`IMPORT_SOURCE`]) only once it was also stored before `cutoff` — with its tags, comments
    /// and sightings, in the same transactions; returns how many events.
    async fn delete_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// How many events are stored: a figure kept with every insert and delete, never a count
    /// of rows, so it costs the same at ten million events as at ten.
    async fn count_events(&self) -> StoreResult<u64>;

    /// A number that grows with every committed change to what a search can find (events
    /// stored, joined, deleted or re-derived; tags added or removed): answers computed at one
    /// version hold until the next, which is what keys the query cache. Read where searches
    /// read (a read replica, when there is one), so a key never names data newer than its answer.
    async fn data_version(&self) -> StoreResult<u64>;
}

/// A complete storage engine.
#[async_trait]
pub trait Store:
    EventStore + FetchStateStore + AnnotationStore + AuditTrailStore + SavedSearchStore + JobQueue
{
    /// `sqlite` or `postgres`, for health output and logs.
    fn engine(&self) -> &'static str;

    /// Applies the embedded schema migrations that are not applied yet.
    async fn migrate(&self) -> StoreResult<()>;

    /// A cheap round trip that proves the engine answers.
    async fn ping(&self) -> StoreResult<()>;
}
