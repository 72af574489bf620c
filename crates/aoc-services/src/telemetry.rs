//! The metrics the use cases emit, declared in one place with their label sets.

use aoc_store::StoreError;

use crate::sources::{SourceEntry, SourceStatus};
use aoc_store::SourceState;

pub const AUDIT_WRITE_FAILURES: &str = "aoc_audit_trail_write_failures_total";
pub const JOBS_ENQUEUED: &str = "aoc_jobs_enqueued_total";
pub const LLM_TOKENS: &str = "aoc_llm_tokens_total";
pub const LLM_BUDGET_REFUSALS: &str = "aoc_llm_budget_refusals_total";
pub const SOURCE_LAG: &str = "aoc_source_lag_seconds";
pub const SOURCE_LAST_SUCCESS: &str = "aoc_source_last_success_timestamp_seconds";
pub const SOURCE_LAST_RUN_EVENTS: &str = "aoc_source_last_run_events";
pub const SOURCE_UP: &str = "aoc_source_up";

/// Describes the metrics above, once per process.
pub fn describe() {
    metrics::describe_counter!(
        AUDIT_WRITE_FAILURES,
        "Audit trail entries that could not be written"
    );
    metrics::describe_counter!(JOBS_ENQUEUED, "Jobs queued, by kind");
    metrics::describe_counter!(
        LLM_TOKENS,
        "Tokens sent to (input) and received from (output) the language model"
    );
    metrics::describe_counter!(
        LLM_BUDGET_REFUSALS,
        "Model calls not made because the caller's daily token budget was used up"
    );
    metrics::describe_gauge!(SOURCE_LAG, "How far a source's watermark is behind now");
    metrics::describe_gauge!(
        SOURCE_LAST_SUCCESS,
        "When a source last ran successfully (Unix time)"
    );
    metrics::describe_gauge!(
        SOURCE_LAST_RUN_EVENTS,
        "Records a source's last finished run fetched"
    );
    metrics::describe_gauge!(
        SOURCE_UP,
        "1 when a source's last finished run succeeded, else 0"
    );
}

/// An audit trail entry could not be written: logged and counted; the answer stands.
pub fn audit_write_failed(action: &str, error: &StoreError) {
    metrics::counter!(AUDIT_WRITE_FAILURES).increment(1);
    tracing::error!(error = %error, action = %action, "could not write the audit trail");
}

pub fn job_enqueued(kind: &'static str) {
    metrics::counter!(JOBS_ENQUEUED, "kind" => kind).increment(1);
}

pub fn model_tokens_spent(input: u64, output: u64) {
    metrics::counter!(LLM_TOKENS, "kind" => "input").increment(input);
    metrics::counter!(LLM_TOKENS, "kind" => "output").increment(output);
}

pub fn model_budget_refused() {
    metrics::counter!(LLM_BUDGET_REFUSALS).increment(1);
}

/// The gauges of one source, from its entry in the source list.
pub fn source_gauges(entry: &SourceEntry, state: Option<&SourceState>) {
    let labels = [
        ("tenant", entry.tenant_id.clone()),
        ("source", entry.source.clone()),
    ];
    if let Some(lag) = entry.lag_seconds {
        metrics::gauge!(SOURCE_LAG, &labels).set(lag as f64);
    }
    if let Some(success) = state.and_then(|s| s.last_success) {
        metrics::gauge!(SOURCE_LAST_SUCCESS, &labels)
            .set(success.timestamp_millis() as f64 / 1000.0);
    }
    if let Some(run) = &entry.last_run {
        metrics::gauge!(SOURCE_LAST_RUN_EVENTS, &labels).set(run.fetched as f64);
    }
    match entry.status {
        SourceStatus::Ok => metrics::gauge!(SOURCE_UP, &labels).set(1.0),
        SourceStatus::Error => metrics::gauge!(SOURCE_UP, &labels).set(0.0),
        SourceStatus::NeverRun | SourceStatus::Running => {}
    }
}

/// A lookup in the query cache ([`crate::query_cache`]) of answers of `kind` (`events`,
/// `aggregations`, `facets`), counted with the answer cache's lookups in
/// `aoc_cache_requests_total`. A lookup that reaches Valkey is counted there instead.
pub(crate) struct QueryCacheLookup {
    pub kind: &'static str,
    pub hit: bool,
}

impl QueryCacheLookup {
    pub fn emit(self) {
        use aoc_ai::telemetry::{CACHE, CACHE_REQUESTS_TOTAL, OUTCOME};
        let outcome = if self.hit { "hit" } else { "miss" };
        metrics::counter!(CACHE_REQUESTS_TOTAL, CACHE => self.kind, OUTCOME => outcome)
            .increment(1);
    }
}
