//! What ask and explain share: one model call within the caller's daily token budget, and the
//! cache key of an answer.

use chrono::Utc;

use aoc_ai::cache::CacheKey;
use aoc_ai::{Assistant, ChatReply, ChatRequest};

use crate::caller::Caller;
use crate::telemetry;

/// The cache key of an answer about `subject` for this caller: the data scope they may see and
/// their role keep answers apart.
pub(crate) fn cache_key(
    kind: &'static str,
    subject: String,
    asker: &Asker,
    ai: &Assistant,
) -> CacheKey {
    CacheKey {
        kind,
        subject,
        scope: asker.scope.clone(),
        role: asker.role.clone(),
        model: ai.model_label(),
    }
}

/// Who asks, as far as an answer depends on it: whose model budget pays, and the role and
/// scope that shape the cache key. A job carries it, so a worker answers exactly as the door
/// that queued it would have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Asker {
    /// The caller's tenant and object id: the budget's key and a job's owner.
    pub caller: String,
    /// The caller's highest role.
    pub role: String,
    /// The tenants the caller may see.
    #[serde(default = "all_tenants")]
    pub scope: String,
}

fn all_tenants() -> String {
    crate::caller::TenantScope::All.label().to_owned()
}

impl Asker {
    pub fn of(caller: &Caller) -> Self {
        Self {
            caller: caller.key(),
            role: caller.highest_role().to_owned(),
            scope: caller.scope.label().to_owned(),
        }
    }
}

/// One model call for `caller`, within their daily token budget: the reply, or why there is
/// none (no model, the budget used up, the model failed). Its cost goes to the budget and to
/// the token counters.
pub(crate) async fn call_model(
    ai: &Assistant,
    caller: &str,
    request: &ChatRequest,
) -> Result<ChatReply, String> {
    let Some(llm) = &ai.llm else {
        return Err("no model is configured".to_owned());
    };
    let today = Utc::now().date_naive();
    if !ai.budget.allows_now(caller, today).await {
        telemetry::model_budget_refused();
        return Err(format!(
            "your daily model budget of {} tokens is used up",
            ai.budget.per_day()
        ));
    }
    let reply = llm.complete(request).await.map_err(|e| e.to_string())?;
    ai.budget
        .spend_now(caller, today, reply.input_tokens + reply.output_tokens)
        .await;
    telemetry::model_tokens_spent(reply.input_tokens, reply.output_tokens);
    Ok(reply)
}
