//! Every metric the collectors write, and the events that write them. An event's `emit()`
//! writes its log line (if it has one) and moves its metrics together, so the log and
//! `/metrics` cannot disagree. Names, labels and help texts are read by dashboards and tests:
//! change them here or nowhere. [`describe`] registers the help texts; the binary calls it once
//! it has installed a metrics recorder.

use aoc_model::TenantId;
use aoc_store::SourceProblem;

use crate::m365::CallError;

/// Requests to Microsoft, by [`SOURCE`] and [`STATUS`].
pub const SOURCE_REQUESTS_TOTAL: &str = "aoc_source_requests_total";
/// Retried requests to Microsoft, by [`SOURCE`] and [`REASON`].
pub const SOURCE_RETRIES_TOTAL: &str = "aoc_source_retries_total";
/// Throttled answers, by [`SOURCE`].
pub const SOURCE_THROTTLES_TOTAL: &str = "aoc_source_throttles_total";
/// Failed collection runs, by [`SOURCE`] and [`CODE`].
pub const SOURCE_ERRORS_TOTAL: &str = "aoc_source_errors_total";
/// Records Microsoft returned, by [`SOURCE`].
pub const SOURCE_RECORDS_FETCHED_TOTAL: &str = "aoc_source_records_fetched_total";
/// Records stored for the first time, by [`SOURCE`].
pub const EVENTS_INGESTED_TOTAL: &str = "aoc_events_ingested_total";
/// Content blobs gone before AOC could fetch them, by [`SOURCE`].
pub const SOURCE_CONTENT_EXPIRED_TOTAL: &str = "aoc_source_content_expired_total";
/// Histogram of how late records are, by [`SOURCE`] and [`STAGE`]; see [`LATENESS_BUCKETS`].
pub const SOURCE_LATENESS_SECONDS: &str = "aoc_source_lateness_seconds";

/// Label: the source (`graph.sign_ins`, `o365.Audit.Exchange`), or `token` for the token
/// endpoint.
pub const SOURCE: &str = "source";
/// Label: the HTTP status of the answer, or [`STATUS_TRANSPORT`] when none came.
pub const STATUS: &str = "status";
/// Label: why a request was retried; see [`RetryReason`].
pub const REASON: &str = "reason";
/// Label: Microsoft's (or AOC's) error code of a failed run; empty when there is none.
pub const CODE: &str = "code";
/// Label: how far a record got; see [`Stage`].
pub const STAGE: &str = "stage";

/// [`STATUS`] of a request that got no answer.
pub const STATUS_TRANSPORT: &str = "transport";

/// Buckets of [`SOURCE_LATENESS_SECONDS`], minutes to days: Graph records are minutes late,
/// unified audit records hours, a few days.
pub const LATENESS_BUCKETS: [f64; 12] = [
    60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0, 86_400.0, 172_800.0, 345_600.0,
    604_800.0,
];

/// Registers the help texts of the metrics above with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        EVENTS_INGESTED_TOTAL,
        "Events stored for the first time, by source"
    );
    metrics::describe_counter!(
        SOURCE_REQUESTS_TOTAL,
        "Requests to Microsoft by source and HTTP status"
    );
    metrics::describe_counter!(
        SOURCE_RETRIES_TOTAL,
        "Retried requests to Microsoft by source and reason"
    );
    metrics::describe_counter!(
        SOURCE_THROTTLES_TOTAL,
        "Throttled answers (429, AF429) by source"
    );
    metrics::describe_counter!(
        SOURCE_ERRORS_TOTAL,
        "Failed collection runs by source and error code"
    );
    metrics::describe_counter!(
        SOURCE_RECORDS_FETCHED_TOTAL,
        "Records returned by Microsoft, by source"
    );
    metrics::describe_counter!(
        SOURCE_CONTENT_EXPIRED_TOTAL,
        "Content blobs gone before AOC could fetch them, by source"
    );
    metrics::describe_histogram!(
        SOURCE_LATENESS_SECONDS,
        "Seconds from event time to available at the source (stage=available) and to stored (stage=stored)"
    );
}

/// A request to Microsoft was answered with `status`, or with none ([`STATUS_TRANSPORT`]).
pub(crate) struct RequestAnswered<'a> {
    pub source: &'a str,
    pub status: &'a str,
}

impl RequestAnswered<'_> {
    pub fn emit(self) {
        metrics::counter!(SOURCE_REQUESTS_TOTAL, SOURCE => self.source.to_owned(), STATUS => self.status.to_owned())
            .increment(1);
    }
}

/// Microsoft said "too many requests" (429, `AF429`, `activityLimitReached`).
pub(crate) struct Throttled<'a> {
    pub source: &'a str,
}

impl Throttled<'_> {
    pub fn emit(self) {
        metrics::counter!(SOURCE_THROTTLES_TOTAL, SOURCE => self.source.to_owned()).increment(1);
    }
}

/// Why a request to Microsoft is sent again: the [`REASON`] label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryReason {
    /// 429 or a throttling code.
    Throttled,
    /// 500, 502, 503, 504, 509 or a Management API code that says "later".
    ServerError,
    /// No answer came.
    Transport,
    /// The body could not be read (cut off mid-way, say).
    Unreadable,
    /// 401: once, after a token refresh.
    Unauthorized,
}

impl RetryReason {
    pub fn label(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
            Self::Unreadable => "unreadable",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// A failed request is sent again after `delay`.
pub(crate) struct Retrying<'a> {
    pub source: &'a str,
    pub attempt: u32,
    pub reason: RetryReason,
    pub delay: std::time::Duration,
    pub error: &'a CallError,
}

impl Retrying<'_> {
    pub fn emit(self) {
        let reason = self.reason.label();
        metrics::counter!(SOURCE_RETRIES_TOTAL, SOURCE => self.source.to_owned(), REASON => reason)
            .increment(1);
        tracing::debug!(source = self.source, attempt = self.attempt, reason, delay_ms = self.delay.as_millis() as u64, error = %self.error, "retrying");
    }
}

/// A collection run of one (tenant, source) failed with `problem`.
pub(crate) struct RunFailed<'a> {
    pub tenant: &'a TenantId,
    pub source: &'static str,
    pub problem: &'a SourceProblem,
}

impl RunFailed<'_> {
    pub fn emit(self) {
        let problem = self.problem;
        tracing::warn!(tenant = %self.tenant, source = self.source, code = ?problem.code, "{}", problem.message);
        metrics::counter!(SOURCE_ERRORS_TOTAL, SOURCE => self.source, CODE => problem.code.clone().unwrap_or_default())
            .increment(1);
    }
}

/// One step of a run was stored: `fetched` records from Microsoft, `new` of them not seen before.
pub(crate) struct Committed {
    pub source: &'static str,
    pub fetched: u64,
    pub new: u64,
}

impl Committed {
    pub fn emit(self) {
        metrics::counter!(EVENTS_INGESTED_TOTAL, SOURCE => self.source).increment(self.new);
        metrics::counter!(SOURCE_RECORDS_FETCHED_TOTAL, SOURCE => self.source)
            .increment(self.fetched);
    }
}

/// A content blob was gone before AOC could fetch it (the run notes the problem itself).
pub(crate) struct ContentExpired {
    pub source: &'static str,
}

impl ContentExpired {
    pub fn emit(self) {
        metrics::counter!(SOURCE_CONTENT_EXPIRED_TOTAL, SOURCE => self.source).increment(1);
    }
}

/// How far a new record got: the [`STAGE`] label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Available at the source (the Management API says when).
    Available,
    /// Stored by AOC.
    Stored,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Stored => "stored",
        }
    }
}

/// A new record reached `stage` `seconds` after its event time.
pub(crate) struct Lateness {
    pub source: &'static str,
    pub stage: Stage,
    pub seconds: f64,
}

impl Lateness {
    pub fn emit(self) {
        metrics::histogram!(SOURCE_LATENESS_SECONDS, SOURCE => self.source, STAGE => self.stage.label())
            .record(self.seconds);
    }
}
