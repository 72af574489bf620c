//! `GET /api/jobs/{job_id}`: a background job's status and, once done, its result — to the
//! caller who started it, or an Admin.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_store::{JobId, JobRecord, JobStatus};

use crate::AppState;
use crate::audit::{AuditDetails, NotAudited};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::ask::caller;

/// A job as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    job_id: String,
    /// What the job does: `ask`.
    #[schema(example = "ask")]
    kind: String,
    /// `queued` (also while a job whose worker stopped waits for another), `running`,
    /// `succeeded` or `failed`.
    #[schema(value_type = String, example = "succeeded")]
    status: JobStatus,
    /// Runs started so far: more than 1 when a worker stopped mid-job and another took it.
    attempts: u32,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// When the job and its result are deleted.
    expires_at: DateTime<Utc>,
    /// Once succeeded: for `ask`, the answer, as `POST /api/ask` returns it.
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    /// Once failed: why, in plain words.
    error: Option<String>,
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

#[utoipa::path(
    get,
    path = "/jobs/{job_id}",
    operation_id = "getJob",
    tag = "Ask",
    summary = "A background job's status and result",
    description = "The status of a job started with `\"async\": true` (`queued`, `running`, \
        `succeeded` with its result, `failed` with its error), to the caller who started it or \
        an Admin. Jobs are kept for `JOB_RESULT_SECONDS` after they end. An Admin's read of \
        another user's job, and every refusal, is recorded in the audit trail (`job.view`); the \
        owner's own polling is not.",
    params(("job_id" = String, Path, description = "The `job_id` the job was started with.")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 403, response = crate::openapi::responses::Forbidden),
        (status = 404, description = "No such job, or it expired (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn get_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: JobId = job_id.parse().map_err(|_| {
        ApiError::invalid("job_id", "expected a job id as returned by POST /api/ask")
    })?;
    let job = state
        .jobs
        .get_job(id)
        .await
        .map_err(|e| ApiError::from_queue(state.jobs.as_ref(), e))?
        .ok_or_else(|| ApiError::NotFound(format!("job {id}")))?;
    let own = job.owner == caller(&principal);
    if !own && !principal.has(Role::Admin) {
        return Err(ApiError::Forbidden(
            "this job was started by another user; only they or an Admin may read it".into(),
        ));
    }
    // The owner polling their own job is routine; an Admin reading someone else's answer (and
    // every refusal) goes into the audit trail.
    let owner = job.owner.clone();
    let mut response = Json(JobView::from(job)).into_response();
    if own {
        response.extensions_mut().insert(NotAudited);
    } else {
        response
            .extensions_mut()
            .insert(AuditDetails::default().with("owner", owner));
    }
    Ok(response)
}
