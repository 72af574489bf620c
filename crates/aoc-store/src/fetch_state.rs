//! What collectors keep between runs: per (tenant, source) a watermark and health record, a
//! ledger of the Management API's content blobs, per-hour coverage figures, and leases so that
//! one process at a time fetches a source.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_model::{Event, TenantId};

use crate::{InsertReport, StoreResult};

/// One atomic step of a collection run: the events of a page or a content blob, the ledger entry
/// of that blob, and (at the end of a window) the new watermark. The engine stores all of it in
/// one transaction, so a watermark never runs ahead of the events it covers.
///
/// Coverage figures are kept under `tenant` and `source` of the commit, not under the events' own
/// fields. Text (tenant, source, content id) is stored as event columns are: NUL becomes U+FFFD.
#[derive(Debug, Clone, Copy)]
pub struct FetchCommit<'a> {
    pub tenant: &'a TenantId,
    /// `graph.directory_audits`, `graph.sign_ins`, `graph.intune_audit`, `o365.Audit.Exchange`, …
    pub source: &'a str,
    /// Every record the source returned in this step, normalized, repeats included: the engine
    /// counts them as fetched and stores the ones it has not seen.
    pub events: &'a [Event],
    /// When these records became available at the source (a content blob's `contentCreated`);
    /// `None` where the source does not say (Graph).
    pub available_at: Option<DateTime<Utc>>,
    /// The content blob these events came from, marked fetched with `events.len()` records,
    /// whatever its status was (an unlisted blob is recorded, created at `available_at`, or now).
    /// Also with no events: a blob marked expired and then committed with its id shows as
    /// fetched, so commit a gone blob's step with `None` here.
    pub content_id: Option<&'a str>,
    /// Moves the watermark forward to this instant (never backwards). Works with no events: an
    /// empty window still moves it.
    pub watermark: Option<DateTime<Utc>>,
}

/// A content blob as the Management API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRef {
    pub id: String,
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
}

/// Where a listed content blob stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentStatus {
    Listed,
    Fetched,
    /// The blob was gone (expired or deleted at the source) when AOC asked for it: a gap.
    Expired,
}

impl ContentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listed => "listed",
            Self::Fetched => "fetched",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "listed" => Some(Self::Listed),
            "fetched" => Some(Self::Fetched),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// A source error as people need to see it: Microsoft's code where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceProblem {
    pub at: DateTime<Utc>,
    /// Microsoft's error code (`AF20023`, `Authorization_RequestDenied`, `AADSTS7000215`, …) or
    /// AOC's own (`http_timeout`, `content_expired`, …).
    pub code: Option<String>,
    pub message: String,
}

/// The outcome of one run of one source, for its health record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRecord {
    Started {
        at: DateTime<Utc>,
    },
    /// The run covered its window. `problem` carries what it had to skip (an expired blob): the
    /// run is a success, the gap is still reported.
    /// Without a `problem` the previous error stays on record (older than `last_success`).
    Succeeded {
        at: DateTime<Utc>,
        fetched: u64,
        new: u64,
        problem: Option<SourceProblem>,
    },
    Failed {
        fetched: u64,
        new: u64,
        problem: SourceProblem,
    },
}

/// Health and position of one (tenant, source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceState {
    pub tenant_id: TenantId,
    pub source: String,
    pub watermark: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<SourceProblem>,
    /// Records fetched and newly stored by the last finished run.
    pub last_run_fetched: u64,
    pub last_run_new: u64,
}

#[derive(Debug, Clone, Default)]
pub struct CoverageQuery {
    pub tenant: Option<TenantId>,
    pub source: Option<String>,
    /// Hours starting at or after `from` and before `to`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Seconds between two moments of a record's life, over the records of one coverage hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelayStats {
    pub count: u64,
    pub mean_seconds: f64,
    pub max_seconds: f64,
}

/// Completeness of one (tenant, source, hour). Record figures are by the hour of the event's
/// time; content figures by the hour the blob became available. An hour may have only one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageRow {
    pub tenant_id: TenantId,
    pub source: String,
    /// The start of the hour, UTC.
    pub hour: DateTime<Utc>,
    /// Records the source returned, repeats (overlapping windows, duplicate publishing) included.
    pub records_fetched: u64,
    /// Records stored for the first time.
    pub records_stored: u64,
    /// Blobs by their status now, each counted once: listed and not (yet) fetched or expired.
    pub content_listed: u64,
    pub content_fetched: u64,
    pub content_expired: u64,
    /// Event time → available at the source, for stored records whose source says (0 for a
    /// record that was available before its own time).
    pub available_delay: DelayStats,
    /// Event time → stored by AOC.
    pub stored_delay: DelayStats,
}

/// Collector state. Part of every [`crate::Store`].
#[async_trait]
pub trait FetchStateStore: Send + Sync {
    /// Stores `commit.events` as [`crate::EventStore::insert_events`] does and, in the same
    /// transaction, adds the coverage figures, marks the content blob fetched and moves the
    /// watermark forward.
    async fn commit_fetch(&self, commit: &FetchCommit<'_>) -> StoreResult<InsertReport>;

    async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> StoreResult<Option<DateTime<Utc>>>;

    /// Records the blobs of a listing (those already known keep their status) and returns the
    /// status of each, in the order given.
    async fn list_content(
        &self,
        tenant: &TenantId,
        source: &str,
        listed: &[ContentRef],
    ) -> StoreResult<Vec<ContentStatus>>;

    /// Marks a listed blob as gone at the source.
    async fn mark_content_expired(
        &self,
        tenant: &TenantId,
        source: &str,
        content_id: &str,
    ) -> StoreResult<()>;

    /// Updates the health record of a source.
    async fn record_run(&self, tenant: &TenantId, source: &str, run: &RunRecord)
    -> StoreResult<()>;

    /// Every (tenant, source) that has run or holds a watermark, ordered by tenant and source.
    async fn source_states(&self) -> StoreResult<Vec<SourceState>>;

    /// Coverage rows matching `query`, ordered by tenant, source and hour.
    async fn coverage(&self, query: &CoverageQuery) -> StoreResult<Vec<CoverageRow>>;

    /// Retention: forgets coverage hours starting before `cutoff` and content blobs created
    /// before it; returns how many rows went. Events, watermarks and health records stay.
    async fn prune_fetch_state(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// Takes or renews the lease `name` for `holder` for `ttl`. False while another holder's
    /// lease has not expired. Expiry is judged by the engine's clock, so processes on machines
    /// with skewed clocks still agree.
    async fn try_acquire_lease(&self, name: &str, holder: &str, ttl: Duration)
    -> StoreResult<bool>;

    /// Gives the lease up early, if `holder` still holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
}
