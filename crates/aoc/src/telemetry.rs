//! The metrics this binary writes itself, and the events that write them: store call latency
//! (timed by [`aoc_store::InstrumentedStore`]), the stored-events gauge and retention. An event's
//! `emit()` writes its log line (if it has one) and moves its metrics together, so the log and
//! `/metrics` cannot disagree. Names and labels are read by dashboards and tests: change them
//! here or nowhere.
//!
//! Each library declares its own metrics the same way, in its `telemetry` module
//! (`aoc_sources`, `aoc_jobs`, `aoc_ai`); `serve::install_metrics` registers every help text.

use chrono::{DateTime, Utc};

/// Histogram of store call latency, by [`ENGINE`], [`OPERATION`] and [`OUTCOME`].
pub const STORE_OPERATION_DURATION_SECONDS: &str = "aoc_store_operation_duration_seconds";
/// Gauge: events in the store.
pub const EVENTS_STORED: &str = "aoc_events_stored";
/// Events deleted by retention.
pub const RETENTION_DELETED_EVENTS_TOTAL: &str = "aoc_retention_deleted_events_total";

/// Label: `sqlite` or `postgres`.
pub const ENGINE: &str = "engine";
/// Label: the store call (`insert_events`, `query_events`, …).
pub const OPERATION: &str = "operation";
/// Label: `ok` or `error`.
pub const OUTCOME: &str = "outcome";

/// Registers the help texts of the metrics above with the installed recorder.
pub fn describe() {
    metrics::describe_histogram!(
        STORE_OPERATION_DURATION_SECONDS,
        "Store call latency by engine and operation"
    );
    metrics::describe_gauge!(EVENTS_STORED, "Events in the store");
    metrics::describe_counter!(
        RETENTION_DELETED_EVENTS_TOTAL,
        "Events deleted by retention"
    );
}

/// A store call `operation` on `engine` took `seconds`, and succeeded when `ok`.
pub struct StoreCallTimed {
    pub engine: &'static str,
    pub operation: &'static str,
    pub seconds: f64,
    pub ok: bool,
}

impl StoreCallTimed {
    pub fn emit(self) {
        metrics::histogram!(
            STORE_OPERATION_DURATION_SECONDS,
            ENGINE => self.engine,
            OPERATION => self.operation,
            OUTCOME => if self.ok { "ok" } else { "error" }
        )
        .record(self.seconds);
    }
}

/// The store holds `count` events.
pub struct EventsCounted {
    pub count: u64,
}

impl EventsCounted {
    pub fn emit(self) {
        metrics::gauge!(EVENTS_STORED).set(self.count as f64);
    }
}

/// Retention deleted `deleted` events that happened before `cutoff`.
pub struct RetentionApplied {
    pub deleted: u64,
    pub cutoff: DateTime<Utc>,
}

impl RetentionApplied {
    pub fn emit(self) {
        metrics::counter!(RETENTION_DELETED_EVENTS_TOTAL).increment(self.deleted);
        tracing::info!(deleted = self.deleted, cutoff = %self.cutoff, "retention applied");
    }
}
