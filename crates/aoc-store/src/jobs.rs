//! The job queue: work that outlives a request (an asked question today; long fetches and
//! exports later), run by any worker process, its status readable by id.
//!
//! A worker claims a job under a lease and renews it while it works. A worker that dies stops
//! renewing, the lease runs out, and the next claim takes the job again, up to the job's
//! `max_attempts`; a finish is accepted only from the worker that holds the lease, so a job
//! never runs twice at once and its result is written exactly once. The store engines implement
//! this (the embedded queue), and so does AOC's Valkey queue.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreResult;

/// A job's id: a random UUID (v7, so ids sort by creation), unguessable enough to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (also after its worker died, until it is claimed again).
    Queued,
    /// A worker holds it.
    Running,
    /// Done; the result is kept until the job expires.
    Succeeded,
    /// Gave an error, timed out, or lost its worker too many times.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown job status {other:?}")),
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    /// What to run, e.g. `ask`; a worker runs the kinds it knows.
    pub kind: String,
    /// Who asked for it (`tenant/object id`): only they, or an Admin, may read it.
    pub owner: String,
    /// The job's input, as its kind defines it. Never a secret.
    pub payload: serde_json::Value,
    /// How many workers may take it in turn before it is failed (a worker dying mid-job counts).
    pub max_attempts: u32,
    /// How long the job and its result are kept, counted from its enqueueing and again from its
    /// end.
    pub keep: Duration,
}

/// What a worker took: everything it needs to run the job.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub owner: String,
    pub payload: serde_json::Value,
    /// 1 for the first run, 2 when a worker died and this is the retry, …
    pub attempt: u32,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Succeeded(serde_json::Value),
    Failed(String),
}

impl JobOutcome {
    /// What an engine stores: the final status, and the result as JSON text or the error, both
    /// free of NUL characters.
    pub fn stored(&self) -> (JobStatus, Option<String>, Option<String>) {
        match self {
            Self::Succeeded(value) => (
                JobStatus::Succeeded,
                Some(storable_json(value).to_string()),
                None,
            ),
            Self::Failed(why) => (JobStatus::Failed, None, Some(why.replace('\0', "\u{FFFD}"))),
        }
    }
}

/// A job as its owner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub owner: String,
    pub status: JobStatus,
    /// Runs started so far (a retry after a worker died adds one).
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When the latest run started.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the job and its result will be deleted.
    pub expires_at: DateTime<Utc>,
    /// The result, once succeeded.
    pub result: Option<serde_json::Value>,
    /// Why it failed, once failed.
    pub error: Option<String>,
}

/// The error a job gets when its workers kept dying.
pub fn abandoned_error(attempts: u32) -> String {
    format!("the job was stopped {attempts} time(s) by its worker ending before it finished")
}

/// The job queue. Implemented by both store engines and by the Valkey queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Where the queue lives, for health output: `database`, or `valkey`.
    fn queue_kind(&self) -> &'static str {
        "database"
    }

    /// Adds a queued job.
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()>;

    /// The job, while it is kept.
    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>>;

    /// Takes the oldest job that is queued or whose worker's lease ran out, for `worker`, for
    /// `lease`; counts the attempt. A job whose lease ran out with its attempts used up is
    /// failed instead ([`abandoned_error`]). `None` when there is nothing to do.
    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>>;

    /// Extends `worker`'s lease on a running job; false when the worker no longer holds it
    /// (its lease ran out and another worker took the job, or the job is gone).
    async fn renew_job(&self, id: JobId, worker: &str, lease: Duration) -> StoreResult<bool>;

    /// Records how the job ended, if `worker` still holds it; false (and nothing written)
    /// otherwise. The job is then kept for its `keep` duration.
    async fn finish_job(&self, id: JobId, worker: &str, outcome: &JobOutcome) -> StoreResult<bool>;

    /// Deletes the jobs kept past their time (never a running one); returns how many.
    async fn purge_jobs(&self) -> StoreResult<u64>;

    /// Jobs waiting for a worker, for the queue-depth gauge.
    async fn queued_jobs(&self) -> StoreResult<u64>;
}

/// `value` without NUL characters in its strings (PostgreSQL's `jsonb` refuses them), so any
/// result can be stored by either engine.
pub fn storable_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "\u{FFFD}")),
        Value::Array(items) => Value::Array(items.iter().map(storable_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.replace('\0', "\u{FFFD}"), storable_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
