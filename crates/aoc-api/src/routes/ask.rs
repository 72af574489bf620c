//! `POST /api/ask`: a question in plain words, answered from the store (see
//! [`aoc_services::ask`]) — now, or as a background job.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use aoc_services::AuditDetails;
use aoc_services::ask::AskerClock;
use aoc_store::JobStatus;

use crate::audit::with_details;
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::LimitedFailures;
use crate::params::JsonBody;
use crate::ratelimit::Expensive;

/// A question.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question, in plain words (at most 500 characters).
    #[schema(example = "How many failed sign-ins in the last 24 hours, and from which IPs?")]
    pub question: String,
    /// Answer in the background: the reply is at once a `202` with a `job_id` to poll at
    /// `GET /api/jobs/{job_id}`.
    #[serde(default, rename = "async")]
    #[schema(rename = "async", default = false)]
    pub run_async: bool,
    /// The asker's offset from UTC in minutes (`60` for UTC+01:00), so "today" and "yesterday"
    /// are their days; UTC when absent. The dashboard sends its browser's.
    #[schema(minimum = -840, maximum = 840, example = 60)]
    pub utc_offset_minutes: Option<i32>,
}

#[utoipa::path(post, path = "/ask", operation_id = "ask", tag = "Ask",
    summary = "Ask a question about the audit logs",
    description = "Reads the question into an events query (the model's reading, checked like \
        a person's search, or AOC's own parser for the common questions), computes the figures \
        from the store, and answers in plain words citing matching events. Only when the AI \
        features are on (`AI_FEATURES_ENABLED`); otherwise 404. Answers are cached \
        (`ASK_CACHE_SECONDS`). Rate-limited per caller.",
    request_body = AskRequest,
    responses(
        (status = 200, description = "The answer.", body = aoc_services::ask::AskAnswer),
        (status = 202, description = "With `\"async\": true`: the question is queued as a \
            job; poll `GET /api/jobs/{job_id}` (also in `Location`).", body = JobAccepted),
        (status = 404, description = "The AI features are off on this server \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        LimitedFailures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn ask(
    UseCases { services, caller }: UseCases,
    _budget: Expensive,
    JsonBody(request): JsonBody<AskRequest>,
) -> Result<Response, ApiError> {
    if request.run_async {
        let clock = AskerClock::new(request.utc_offset_minutes)?;
        let queued = services
            .ask_later(&caller, &request.question, clock)
            .await?;
        let status_url = format!("/api/jobs/{}", queued.job_id);
        let details = AuditDetails::default()
            .with("question_chars", queued.question_chars)
            .with("async", true)
            .with("job_id", queued.job_id.to_string());
        let accepted = JobAccepted {
            job_id: queued.job_id.to_string(),
            status: queued.status,
            status_url: status_url.clone(),
        };
        let answer = (
            StatusCode::ACCEPTED,
            [(header::LOCATION, status_url)],
            Json(accepted),
        );
        return Ok(with_details(answer, details));
    }
    let clock = AskerClock::new(request.utc_offset_minutes)?;
    let answer = services.ask(&caller, &request.question, clock).await?;
    let details = AuditDetails::default()
        .with("question_chars", answer.question.chars().count())
        .with("read_by", answer.read_by.clone())
        .with("cached", answer.cached)
        .with("cited", answer.cited.len());
    Ok(with_details(Json(answer), details))
}

/// A question taken as a job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAccepted {
    /// Poll `GET /api/jobs/{job_id}` for its status and, once done, the answer.
    #[schema(example = "019ac4d2-7d7e-7c1a-9f7e-3c2b8e0d4a11")]
    job_id: String,
    #[schema(value_type = String, example = "queued")]
    status: JobStatus,
    #[schema(example = "/api/jobs/019ac4d2-7d7e-7c1a-9f7e-3c2b8e0d4a11")]
    status_url: String,
}
