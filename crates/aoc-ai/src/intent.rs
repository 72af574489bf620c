//! What a question asks for: the events it is about, and what to tell about them.

mod model;
mod parser;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use model::{IntentError, SERVICES, intent_from_reply, intent_request, schema};
pub use parser::{parse_question, parse_question_in};

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
    /// Words of the question that nothing read (the parser's reading only): an answer lists
    /// them, so it never pretends to have understood more than it did.
    pub ignored: Vec<String>,
    /// The question names nothing to search for and is not about audit events at all ("what is
    /// the weather"): it is declined rather than answered with every event.
    pub off_topic: bool,
}

impl Intent {
    /// The filter `name`, if the question set it.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// What the question was read as, one phrase per filter and for what is computed, in plain
    /// words: listed with every answer.
    pub fn understood(&self) -> Vec<String> {
        let mut out = Vec::new();
        let quoted = |v: &str| format!("\u{201c}{v}\u{201d}");
        for (name, value) in &self.filters {
            out.push(match name.as_str() {
                "hours" => format!("time: the last {value} hours"),
                "from" => format!("time: from {value}"),
                "to" => format!("time: until {value}"),
                "actor" => format!("who: accounts matching {}", quoted(value)),
                "target" => format!("done to: targets matching {}", quoted(value)),
                "operation" => format!("operation: {}", quoted(value)),
                "service" => format!("service: {value}"),
                "ip" => format!("address: {value}"),
                "country" => format!("country: {value}"),
                "result" => format!("result: {value}"),
                "q" => format!("text: {}", quoted(value)),
                "source" => format!("source: {value}"),
                "tag" => format!("tag: {value}"),
                other => format!("{other}: {value}"),
            });
        }
        if self.after_hours {
            out.push("only outside working hours".into());
        }
        out.push(
            match self.aggregation {
                Aggregation::List => "show: the matching events",
                Aggregation::Count => "show: how many",
                Aggregation::TopActors => "show: who, most active first",
                Aggregation::TopOperations => "show: which operations, most frequent first",
                Aggregation::TopIps => "show: which addresses, most frequent first",
                Aggregation::Timeline => "show: how many over time",
            }
            .into(),
        );
        out
    }
}
