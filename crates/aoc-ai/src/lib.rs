//! Ask and explain: turning an admin's question into the investigation API's structured query.
//!
//! The query a question becomes ([`Intent`]) speaks the API's own filter parameters, so it is
//! checked exactly like a person's search before anything runs, whoever wrote it: a language
//! model, or the deterministic parser here ([`parse_question`]) that answers the common
//! questions when AI is off or the model fails. Every figure an answer gives is then computed by
//! the store, never by a model.

pub mod answer;
pub mod assistant;
pub mod budget;
pub mod cache;
pub mod explain;
pub mod intent;
pub mod llm;
pub mod sample;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use assistant::Assistant;
pub use intent::{Aggregation, Intent, parse_question, parse_question_in};
pub use llm::{ApiKey, ChatReply, ChatRequest, LlmError, LlmProvider, LlmSettings, Provider};
