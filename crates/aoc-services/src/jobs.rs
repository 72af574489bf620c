//! Background jobs: reading one (its owner or an Admin), and running one as a worker.

use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_store::{ClaimedJob, JobId, JobRecord, JobStatus};

use crate::Services;
use crate::ask::{ASK_JOB, AskJob};
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};

/// A job as its owner sees it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    pub job_id: String,
    /// What the job does: `ask`.
    #[cfg_attr(feature = "openapi", schema(example = "ask"))]
    pub kind: String,
    /// `queued` (also while a job whose worker stopped waits for another), `running`,
    /// `succeeded` or `failed`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "succeeded"))]
    pub status: JobStatus,
    /// Runs started so far: more than 1 when a worker stopped mid-job and another took it.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the job and its result are deleted.
    pub expires_at: DateTime<Utc>,
    /// Once succeeded: for `ask`, the answer, as `POST /api/ask` returns it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    /// Once failed: why, in plain words.
    pub error: Option<String>,
}

impl From<JobRecord> for JobView {
    fn from(job: JobRecord) -> Self {
        Self {
            job_id: job.id.to_string(),
            kind: job.kind,
            status: job.status,
            attempts: job.attempts,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            expires_at: job.expires_at,
            result: job.result,
            error: job.error,
        }
    }
}

/// A job read by someone allowed to.
#[derive(Debug)]
pub struct JobRead {
    pub job: JobView,
    /// Who started it (`tenant/object id`).
    pub owner: String,
    /// Whether the caller started it: their own polling is routine, not audited.
    pub own: bool,
}

/// A job id from its text.
///
/// # Errors
/// Not a job id, named `job_id`.
pub fn job_id(value: &str) -> ServiceResult<JobId> {
    value.parse().map_err(|_| {
        ServiceError::invalid("job_id", "expected a job id as returned by POST /api/ask")
    })
}

impl Services {
    /// The job's status and, once done, its result: to the caller who started it, or an Admin.
    ///
    /// # Errors
    /// A caller without the Reader role; someone else's job for a non-Admin; no such job.
    pub async fn get_job(&self, caller: &Caller, id: JobId) -> ServiceResult<JobRead> {
        caller.require(Role::Reader)?;
        let job = self
            .jobs
            .get_job(id)
            .await
            .map_err(|e| ServiceError::from_queue(self.jobs.as_ref(), e))?
            .ok_or_else(|| ServiceError::NotFound(format!("job {id}")))?;
        let own = job.owner == caller.key();
        caller.require_owner_or_admin(
            own,
            "this job was started by another user; only they or an Admin may read it",
        )?;
        Ok(JobRead {
            owner: job.owner.clone(),
            own,
            job: JobView::from(job),
        })
    }

    /// Runs a claimed job: its result, or the error its owner reads.
    ///
    /// # Errors
    /// Why the job failed, in words its owner can act on.
    pub async fn run_job(&self, job: &ClaimedJob) -> Result<serde_json::Value, String> {
        match job.kind.as_str() {
            ASK_JOB => {
                let ask: AskJob = serde_json::from_value(job.payload.clone())
                    .map_err(|e| format!("the job's question could not be read: {e}"))?;
                let answer = self.answer_job(ask).await.map_err(|e| e.for_job())?;
                serde_json::to_value(answer).map_err(|e| e.to_string())
            }
            other => Err(format!(
                "this AOC does not know jobs of kind {other:?}; is the worker older than the server?"
            )),
        }
    }
}
