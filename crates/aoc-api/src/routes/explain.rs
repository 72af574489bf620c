//! `POST /api/events/{id}/explain`: what one event means, why it may matter, what to check
//! next (see [`aoc_services::explain`]).

use axum::Json;
use axum::extract::Path;
use axum::response::Response;

use aoc_services::AuditDetails;
use aoc_services::events::event_id;

use crate::audit::with_details;
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::LimitedFailures;
use crate::ratelimit::Expensive;

#[utoipa::path(post, path = "/events/{id}/explain", operation_id = "explainEvent", tag = "Ask",
    summary = "Explain an event",
    description = "What the event means, why it may matter and what to check next: worded by the \
        model from the event's normalized fields when one is configured, from AOC's own notes \
        otherwise. Only when the AI features are on (`AI_FEATURES_ENABLED`); otherwise 404. \
        Cached (`EXPLAIN_CACHE_SECONDS`). Rate-limited per caller.",
    params(("id" = String, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The explanation.", body = aoc_services::explain::ExplainAnswer),
        (status = 404, description = "No such event, or the AI features are off \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        LimitedFailures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn explain(
    UseCases { services, caller }: UseCases,
    _budget: Expensive,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let answer = services.explain_event(&caller, id).await?;
    let details = AuditDetails::default()
        .with("written_by", answer.written_by.clone())
        .with("cached", answer.cached);
    Ok(with_details(Json(answer), details))
}
