//! `POST /api/events/{id}/explain`: what one event means, why it may matter, what to check next.
//!
//! Worded by the model from the event's normalized fields and changes when one is configured;
//! otherwise, or when the model fails, from AOC's own notes on the operation. Cached per event,
//! role and model.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use aoc_ai::explain::{
    Explanation, explain_request, explain_without_model, explanation_from_reply,
};

use crate::AppState;
use crate::audit::AuditDetails;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::ratelimit::Expensive;
use crate::routes::annotations::{event_id, stored_event};
use crate::routes::ask::{Asker, assistant, cache_key, call_model};

/// An event's explanation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExplainAnswer {
    event_id: String,
    explanation: Explanation,
    /// `model`, or `aoc` (AOC's own notes).
    #[schema(example = "aoc")]
    written_by: String,
    /// Whether it was served from the cache.
    cached: bool,
    /// A model that failed and was fallen back from.
    notes: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/events/{id}/explain",
    operation_id = "explainEvent",
    tag = "Ask",
    summary = "Explain an event",
    description = "What the event means, why it may matter and what to check next: worded by the \
        model from the event's normalized fields when one is configured, from AOC's own notes \
        otherwise. Only when the AI features are on (`AI_FEATURES_ENABLED`); otherwise 404. \
        Cached (`EXPLAIN_CACHE_SECONDS`). Rate-limited per caller.",
    params(("id" = String, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The explanation.", body = ExplainAnswer),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "No such event, or the AI features are off \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::openapi::responses::TooManyRequests),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn explain(
    State(state): State<AppState>,
    principal: Principal,
    _budget: Expensive,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ai = assistant(&state)?;
    let id = event_id(&id)?;
    let event = stored_event(&state, id).await?;
    let asker = Asker::of(&principal);
    let key = cache_key("explain", id.to_string(), &asker, &ai);
    if let Some(hit) = ai.cache.get(&key).await
        && let Ok(mut answer) = serde_json::from_str::<ExplainAnswer>(&hit)
    {
        answer.cached = true;
        return Ok(with_audit(answer));
    }
    let mut notes = Vec::new();
    let from_model = match &ai.llm {
        Some(_) => match call_model(&ai, &asker.caller, &explain_request(&event)).await {
            Ok(reply) => {
                let explanation = explanation_from_reply(&reply.text);
                if explanation.is_none() {
                    notes.push(
                        "The model's reply was not an explanation; these are AOC's notes."
                            .to_owned(),
                    );
                }
                explanation
            }
            Err(e) => {
                notes.push(format!(
                    "The model could not explain the event ({e}); these are AOC's notes."
                ));
                None
            }
        },
        None => None,
    };
    let (explanation, written_by) = match from_model {
        Some(explanation) => (explanation, "model"),
        None => (explain_without_model(&event), "aoc"),
    };
    let answer = ExplainAnswer {
        event_id: id.to_string(),
        explanation,
        written_by: written_by.to_owned(),
        cached: false,
        notes,
    };
    if let Ok(json) = serde_json::to_string(&answer) {
        ai.cache.put(&key, &json, ai.explain_ttl).await;
    }
    Ok(with_audit(answer))
}

fn with_audit(answer: ExplainAnswer) -> Response {
    let details = AuditDetails::default()
        .with("written_by", answer.written_by.clone())
        .with("cached", answer.cached);
    let mut response = Json(answer).into_response();
    response.extensions_mut().insert(details);
    response
}
