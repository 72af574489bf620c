//! Explaining one event: what it means, why it may matter, what to check next.
//!
//! Worded by the model from the event's normalized fields and changes when one is configured;
//! otherwise, or when the model fails, from AOC's own notes on the operation. Cached per event,
//! role and model.

use serde::{Deserialize, Serialize};

use aoc_ai::explain::{
    Explanation, explain_request, explain_without_model, explanation_from_reply,
};
use aoc_model::EventId;

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::ServiceResult;
use crate::model_calls::{Asker, cache_key, call_model};

/// An event's explanation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainAnswer {
    pub event_id: String,
    pub explanation: Explanation,
    /// `model`, or `aoc` (AOC's own notes).
    #[cfg_attr(feature = "openapi", schema(example = "aoc"))]
    pub written_by: String,
    /// Whether it was served from the cache.
    pub cached: bool,
    /// A model that failed and was fallen back from.
    pub notes: Vec<String>,
}

impl Services {
    /// Explains the event.
    ///
    /// # Errors
    /// A caller without the Analyst role; the AI features off; no such event.
    pub async fn explain_event(
        &self,
        caller: &Caller,
        id: EventId,
    ) -> ServiceResult<ExplainAnswer> {
        caller.require(Role::Analyst)?;
        let ai = self.assistant()?;
        let event = self.stored_event(id).await?;
        let asker = Asker::of(caller);
        let key = cache_key("explain", id.to_string(), &asker, ai);
        if let Some(hit) = ai.cache.get(&key).await
            && let Ok(mut answer) = serde_json::from_str::<ExplainAnswer>(&hit)
        {
            answer.cached = true;
            return Ok(answer);
        }
        let mut notes = Vec::new();
        let from_model = match &ai.llm {
            Some(_) => match call_model(ai, &asker.caller, &explain_request(&event)).await {
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
        Ok(answer)
    }
}
