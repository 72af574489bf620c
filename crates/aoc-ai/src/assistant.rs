//! What answering needs besides the data: the model (if any), the cache and the limits.

use std::sync::Arc;
use std::time::Duration;

use crate::budget::TokenBudget;
use crate::cache::AnswerCache;
use crate::llm::LlmProvider;

/// Bump when the prompts change: cached answers of older prompts are not served.
pub const PROMPT_VERSION: &str = "ask-1";

/// The AI features of one server.
pub struct Assistant {
    /// The model. `None`: questions are read by the deterministic parser and answered with a
    /// plain summary.
    pub llm: Option<Arc<dyn LlmProvider>>,
    pub cache: Arc<dyn AnswerCache>,
    /// How long an answer to a question is served from the cache.
    pub ask_ttl: Duration,
    /// How long an event's explanation is served from the cache.
    pub explain_ttl: Duration,
    /// The most tokens the sampled events may take in a prompt.
    pub sample_tokens: usize,
    /// The most events sampled.
    pub sample_max: usize,
    /// The most events read to count those outside working hours.
    pub after_hours_scan: usize,
    /// Each caller's daily model tokens.
    pub budget: TokenBudget,
}

impl Assistant {
    /// The model and prompt an answer comes from, as the cache tells answers apart.
    pub fn model_label(&self) -> String {
        match &self.llm {
            Some(llm) => format!("{}/{PROMPT_VERSION}", llm.model()),
            None => format!("parser/{PROMPT_VERSION}"),
        }
    }
}
