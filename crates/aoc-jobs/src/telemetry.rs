//! Every metric the worker pool writes, and the events that write them. An event's `emit()`
//! writes its log line and moves its metrics together, so the log and `/metrics` cannot
//! disagree. Names and labels are read by dashboards and tests: change them here or nowhere.
//! [`describe`] registers the help texts; the binary calls it once it has installed a metrics
//! recorder. (`aoc_jobs_enqueued_total` is counted where jobs are enqueued, by the ask use case in aoc-services.)

use std::time::Duration;

use aoc_store::ClaimedJob;

/// Jobs that ended in this process, by [`KIND`] and [`OUTCOME`].
pub const JOBS_TOTAL: &str = "aoc_jobs_total";
/// Jobs started again after a failed or lost attempt, by [`KIND`].
pub const JOBS_RETRIED_TOTAL: &str = "aoc_jobs_retried_total";
/// Histogram of how long the jobs that ended took, by [`KIND`].
pub const JOB_SECONDS: &str = "aoc_job_seconds";
/// Gauge: jobs waiting for a worker.
pub const JOBS_QUEUED: &str = "aoc_jobs_queued";

/// Label: the job's kind (`ask`).
pub const KIND: &str = "kind";
/// Label: how a job ended; see [`Outcome`].
pub const OUTCOME: &str = "outcome";

/// Registers the help texts of the metrics above with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        JOBS_TOTAL,
        "Jobs that ended in this process, by kind and outcome (succeeded, failed, lost)"
    );
    metrics::describe_counter!(
        JOBS_RETRIED_TOTAL,
        "Jobs started again after an earlier attempt, by kind"
    );
    metrics::describe_histogram!(JOB_SECONDS, "Seconds the jobs that ended ran, by kind");
    metrics::describe_gauge!(JOBS_QUEUED, "Jobs waiting for a worker");
}

/// How a run of a job ended: the [`OUTCOME`] label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
    /// The worker lost the job's lease; another worker has the job.
    Lost,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Lost => "lost",
        }
    }
}

/// A worker claimed `job` and starts running it; a second or later attempt counts as a retry.
pub(crate) struct JobStarted<'a> {
    pub job: &'a ClaimedJob,
}

impl JobStarted<'_> {
    pub fn emit(self) {
        let job = self.job;
        if job.attempt > 1 {
            metrics::counter!(JOBS_RETRIED_TOTAL, KIND => job.kind.clone()).increment(1);
        }
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempt, "job started");
    }
}

/// The worker running `job` lost its lease: it drops the run and records nothing.
pub(crate) struct JobLeaseLost<'a> {
    pub job: &'a ClaimedJob,
}

impl JobLeaseLost<'_> {
    pub fn emit(self) {
        let job = self.job;
        tracing::warn!(job = %job.id, "lost the job's lease; another worker has it");
        metrics::counter!(JOBS_TOTAL, KIND => job.kind.clone(), OUTCOME => Outcome::Lost.label())
            .increment(1);
    }
}

/// `job` ended with `outcome` after `elapsed`, and the queue recorded it.
pub(crate) struct JobFinished<'a> {
    pub job: &'a ClaimedJob,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

impl JobFinished<'_> {
    pub fn emit(self) {
        let job = self.job;
        let label = self.outcome.label();
        metrics::counter!(JOBS_TOTAL, KIND => job.kind.clone(), OUTCOME => label).increment(1);
        metrics::histogram!(JOB_SECONDS, KIND => job.kind.clone())
            .record(self.elapsed.as_secs_f64());
        tracing::info!(job = %job.id, kind = %job.kind, outcome = label, "job finished");
    }
}

/// `depth` jobs wait for a worker.
pub(crate) struct QueueDepth {
    pub depth: u64,
}

impl QueueDepth {
    pub fn emit(self) {
        #[expect(clippy::cast_precision_loss, reason = "a gauge")]
        metrics::gauge!(JOBS_QUEUED).set(self.depth as f64);
    }
}
