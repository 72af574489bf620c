//! One run of one (tenant, source): the lease that makes it the only one, the commits that carry
//! events, coverage and watermark together, and the health record it leaves.

use chrono::{DateTime, Utc};
use serde::Serialize;

use serde_json::Value;

use aoc_model::{Event, TenantId};
use aoc_normalize::{Context, normalize_as};
use aoc_store::{FetchCommit, InsertReport, SourceProblem, Store, StoreError};

use super::error::CallError;
use super::source::SourceKind;
use super::tenants::TenantConfig;
use crate::telemetry::{self, Stage};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("storing failed: {0}")]
    Store(#[from] StoreError),
    #[error(
        "another AOC process took over this source (its lease expired while this run was slow)"
    )]
    LeaseLost,
}

impl RunError {
    pub fn to_problem(&self, at: DateTime<Utc>) -> SourceProblem {
        match self {
            Self::Call(call) => call.to_problem(at),
            Self::Store(_) => SourceProblem {
                at,
                code: Some("store_error".into()),
                message: self.to_string(),
            },
            Self::LeaseLost => SourceProblem {
                at,
                code: Some("lease_lost".into()),
                message: self.to_string(),
            },
        }
    }
}

/// How a run of one source ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunStatus {
    Ok,
    Failed,
    /// Another process holds the source's lease: it is being fetched there.
    Skipped,
}

/// The summary of one run of one source, as `aoc fetch --json` and the fetch API show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceRun {
    pub tenant_id: TenantId,
    pub source: String,
    pub status: RunStatus,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Records the source returned (repeats of overlapping windows included).
    pub fetched: u64,
    /// Records stored for the first time.
    pub new: u64,
    pub duplicate: u64,
    /// Why the run failed, or what it had to skip (an expired content blob).
    pub problem: Option<SourceProblem>,
    pub duration_ms: u64,
}

/// Live figures of runs, for progress bars.
pub trait Progress: Send + Sync {
    fn started(&self, _tenant: &TenantId, _source: SourceKind) {}
    fn advanced(&self, _tenant: &TenantId, _source: SourceKind, _fetched: u64, _new: u64) {}
    fn finished(&self, _run: &SourceRun) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The state of a run in progress.
pub(crate) struct RunCtx<'a> {
    pub store: &'a dyn Store,
    pub tenant: &'a TenantConfig,
    pub kind: SourceKind,
    pub progress: &'a dyn Progress,
    /// The watermark when the run started: records newer than it are seen for the first time.
    pub previous_watermark: Option<DateTime<Utc>>,
    pub fetched: u64,
    pub new: u64,
    pub duplicate: u64,
    /// The first thing the run had to skip.
    pub problem: Option<SourceProblem>,
}

impl RunCtx<'_> {
    /// Stores one step of the run; see [`FetchCommit`].
    pub async fn commit(
        &mut self,
        events: &[Event],
        available_at: Option<DateTime<Utc>>,
        content_id: Option<&str>,
        watermark: Option<DateTime<Utc>>,
    ) -> Result<InsertReport, RunError> {
        let report = self
            .store
            .commit_fetch(&FetchCommit {
                tenant: &self.tenant.id,
                source: self.kind.name(),
                events,
                available_at,
                content_id,
                watermark,
            })
            .await?;
        self.fetched += events.len() as u64;
        self.new += report.new;
        self.duplicate += report.duplicate;
        self.observe_lateness(events, available_at, report);
        telemetry::Committed {
            source: self.kind.name(),
            fetched: events.len() as u64,
            new: report.new,
        }
        .emit();
        self.progress
            .advanced(&self.tenant.id, self.kind, self.fetched, self.new);
        Ok(report)
    }

    /// Normalizes the records of one page or blob (`place` says which, for messages). A record
    /// without a readable time is skipped and reported, never the whole page.
    pub fn normalize(&mut self, records: Vec<Value>, place: &str) -> Vec<Event> {
        let ctx = Context::new(self.kind.name()).with_tenant(self.tenant.id.clone());
        let mut events = Vec::with_capacity(records.len());
        for record in records {
            let id = record
                .get("id")
                .or_else(|| record.get("Id"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            match normalize_as(self.kind.record_kind(), record, &ctx) {
                Ok(event) => events.push(event),
                Err(e) => self.note_problem(SourceProblem {
                    at: Utc::now(),
                    code: Some("unreadable_record".into()),
                    message: format!("record {id}{place} was skipped: {e}"),
                }),
            }
        }
        events
    }

    pub fn note_problem(&mut self, problem: SourceProblem) {
        tracing::warn!(tenant = %self.tenant.id, source = self.kind.name(), code = ?problem.code, "{}", problem.message);
        self.problem.get_or_insert(problem);
    }

    /// Lateness histograms: event → available at the source (where it says), and event →
    /// stored. A commit's new records are those past the previous watermark when only some are
    /// new, which the overlap makes exact for all but records late beyond it.
    fn observe_lateness(
        &self,
        events: &[Event],
        available_at: Option<DateTime<Utc>>,
        report: InsertReport,
    ) {
        if report.new == 0 {
            return;
        }
        let now = Utc::now();
        let all_new = report.new == events.len() as u64;
        let seconds = |d: chrono::Duration| d.num_milliseconds().max(0) as f64 / 1000.0;
        for event in events {
            if !all_new
                && self
                    .previous_watermark
                    .is_some_and(|wm| event.timestamp <= wm)
            {
                continue;
            }
            if let Some(available) = available_at {
                telemetry::Lateness {
                    source: self.kind.name(),
                    stage: Stage::Available,
                    seconds: seconds(available - event.timestamp),
                }
                .emit();
            }
            telemetry::Lateness {
                source: self.kind.name(),
                stage: Stage::Stored,
                seconds: seconds(now - event.timestamp),
            }
            .emit();
        }
    }
}
