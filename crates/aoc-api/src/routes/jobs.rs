//! `GET /api/jobs/{job_id}`: a background job's status and, once done, its result — to the
//! caller who started it, or an Admin.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use aoc_services::AuditDetails;
use aoc_services::jobs::job_id;

use crate::audit::{NotAudited, with_details};
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::Failures;

#[utoipa::path(get, path = "/jobs/{job_id}", operation_id = "getJob", tag = "Ask",
    summary = "A background job's status and result",
    description = "The status of a job started with `\"async\": true` (`queued`, `running`, \
        `succeeded` with its result, `failed` with its error), to the caller who started it or \
        an Admin. Jobs are kept for `JOB_RESULT_SECONDS` after they end. An Admin's read of \
        another user's job, and every refusal, is recorded in the audit trail (`job.view`); the \
        owner's own polling is not.",
    params(("job_id" = String, Path, description = "The `job_id` the job was started with.")),
    responses(
        (status = 200, description = "The job.", body = aoc_services::jobs::JobView),
        (status = 403, response = crate::openapi::responses::Forbidden),
        (status = 404, description = "No such job, or it expired (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        Failures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn get_job(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let read = services.get_job(&caller, job_id(&id)?).await?;
    // The owner polling their own job is routine; an Admin reading someone else's answer (and
    // every refusal) goes into the audit trail.
    if read.own {
        let mut response = Json(read.job).into_response();
        response.extensions_mut().insert(NotAudited);
        return Ok(response);
    }
    let details = AuditDetails::default().with("owner", read.owner);
    Ok(with_details(Json(read.job), details))
}
