//! What a question asks for: the events it is about, and what to tell about them.

mod model;
mod parser;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use model::{IntentError, SERVICES, intent_from_reply, intent_request, schema};
pub use parser::parse_question;

/// What to compute over the matching events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Show the events themselves (a sample of them).
    #[default]
    List,
    /// How many there are.
    Count,
    /// Who did them, most active first.
    TopActors,
    /// Which operations, most frequent first.
    TopOperations,
    /// From which addresses, most frequent first.
    TopIps,
    /// How many over time.
    Timeline,
}

/// A question as a query: the investigation API's filter parameters (`GET /api/events`' names
/// and formats: `hours`, `from`, `to`, `service`, `operation` (`Set-*` for a prefix), `actor`,
/// `ip`, `result`, `q`, …), what to compute, and what the filters cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Intent {
    pub filters: BTreeMap<String, String>,
    pub aggregation: Aggregation,
    /// Only events outside working hours (before 08:00, from 18:00, and weekends, UTC): applied
    /// after the store's filters, since the API has no time-of-day filter.
    pub after_hours: bool,
}

impl Intent {
    /// The filter `name`, if the question set it.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }
}
