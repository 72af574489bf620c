//! The answer to a question: the figures the store computed, a sample of the matching events,
//! and either a model's words about them or, without a model, a plain summary. Whatever the
//! words, the figures are the store's and the cited events are checked: an id the model names
//! that is not in the sample it was shown is dropped.

use std::collections::BTreeSet;

use aoc_model::{Event, EventAggregates, EventId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::intent::{Aggregation, Intent};
use crate::llm::ChatRequest;
use crate::sample::event_line;

/// How many events a plain summary cites.
const TEMPLATE_CITES: usize = 5;

/// The store's figures, as an answer reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Matching events.
    pub total: u64,
    /// Of which failed.
    pub failures: u64,
    /// `failures / total`, 0 when there is none.
    pub failure_rate: f64,
    /// The oldest and newest matching event's time.
    pub first: Option<String>,
    pub last: Option<String>,
    /// The most frequent values asked about (operations, actors or addresses), with counts.
    pub top: Vec<Count>,
    /// Events per interval, when the question asked how things went over time.
    pub timeline: Vec<Count>,
    /// Events outside working hours among those counted, when the question asked for them.
    pub after_hours: Option<u64>,
}

/// A value (an operation, an actor, an address, or an interval's start) and how many events
/// have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    pub value: String,
    pub count: u64,
}

impl Figures {
    pub fn from_aggregates(a: &EventAggregates, intent: &Intent, after_hours: Option<u64>) -> Self {
        let pairs = |v: &[aoc_model::ValueCount]| -> Vec<Count> {
            v.iter()
                .map(|c| Count {
                    value: c.value.clone(),
                    count: c.count,
                })
                .collect()
        };
        let top = match intent.aggregation {
            Aggregation::TopActors => pairs(&a.top_actors),
            Aggregation::TopIps => pairs(&a.top_ips),
            Aggregation::TopOperations | Aggregation::List | Aggregation::Count => {
                pairs(&a.top_operations)
            }
            Aggregation::Timeline => Vec::new(),
        };
        let timeline = if intent.aggregation == Aggregation::Timeline {
            a.timeline
                .iter()
                .map(|b| Count {
                    value: b.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    count: b.count,
                })
                .collect()
        } else {
            Vec::new()
        };
        let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        Self {
            total: a.total,
            failures: a.failures,
            failure_rate: a.failure_rate,
            first: time(&a.first),
            last: time(&a.last),
            top,
            timeline,
            after_hours,
        }
    }
}

/// Whether `event` happened outside working hours: before 08:00, from 18:00, or at a weekend
/// (UTC).
pub fn is_after_hours(event: &Event) -> bool {
    use chrono::{Datelike, Timelike, Weekday};
    let t = event.timestamp;
    matches!(t.weekday(), Weekday::Sat | Weekday::Sun) || t.hour() < 8 || t.hour() >= 18
}

/// The request for a model's answer: the question, the query it became, the store's figures
/// and the sample's lines. Nothing else — no credential, no raw record.
pub fn answer_request(
    question: &str,
    intent: &Intent,
    figures: &Figures,
    sample: &[&Event],
) -> ChatRequest {
    let lines: Vec<String> = sample.iter().map(|e| event_line(e)).collect();
    let facts = json!({
        "query": intent.filters,
        "aggregation": intent.aggregation,
        "after_hours_only": intent.after_hours,
        "figures": figures,
    });
    ChatRequest {
        system: "You are AOC, helping a Microsoft 365 administrator investigate audit logs. \
                 Answer the question in a few plain sentences from the facts given. Use only \
                 the figures given, exactly as given; never compute or guess another number. \
                 When you mention an event, cite its id in square brackets, e.g. [id], and only \
                 ids from the events listed. Say so when the events do not answer the question."
            .to_owned(),
        user: format!(
            "Question: {question}\n\nFacts (computed by AOC's database):\n{facts}\n\n\
             A sample of the matching events ({} of {}):\n{}",
            sample.len(),
            figures.total,
            lines.join("\n")
        ),
        json_schema: None,
        max_tokens: 600,
    }
}

/// A plain answer from the figures and the sample, for when there is no model or it failed.
pub fn template_answer(intent: &Intent, figures: &Figures, sample: &[&Event]) -> String {
    let mut text = match figures.total {
        0 => "No event matches.".to_owned(),
        1 => "1 event matches".to_owned(),
        n => format!("{n} events match"),
    };
    if figures.total > 0 {
        if let (Some(first), Some(last)) = (&figures.first, &figures.last) {
            text.push_str(&format!(", from {first} to {last}"));
        }
        text.push_str(&format!(
            "; {} failed ({:.1} %).",
            figures.failures,
            figures.failure_rate * 100.0
        ));
    }
    if let Some(after) = figures.after_hours {
        text.push_str(&format!(" {after} of them outside working hours."));
    }
    if !figures.top.is_empty() {
        let what = match intent.aggregation {
            Aggregation::TopActors => "Most active",
            Aggregation::TopIps => "Most frequent addresses",
            _ => "Most frequent operations",
        };
        let list: Vec<String> = figures
            .top
            .iter()
            .take(5)
            .map(|c| format!("{} ({})", c.value, c.count))
            .collect();
        text.push_str(&format!(" {what}: {}.", list.join(", ")));
    }
    if let Some(busiest) = figures
        .timeline
        .iter()
        .max_by_key(|c| c.count)
        .filter(|c| c.count > 0)
    {
        text.push_str(&format!(
            " The busiest interval began {} ({}).",
            busiest.value, busiest.count
        ));
    }
    let cited: Vec<String> = sample
        .iter()
        .take(TEMPLATE_CITES)
        .map(|e| format!("[{}]", e.id))
        .collect();
    if !cited.is_empty() {
        text.push_str(&format!(" Examples: {}.", cited.join(" ")));
    }
    text
}

/// The event ids `text` cites that are in `sample`, in order of first mention; and how many it
/// cited that are not (invented or mistyped by a model).
pub fn citations(text: &str, sample: &[&Event]) -> (Vec<EventId>, usize) {
    let known: BTreeSet<EventId> = sample.iter().map(|e| e.id).collect();
    let mut cited = Vec::new();
    let mut unknown = 0;
    for word in text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')) {
        if word.len() != 36 {
            continue;
        }
        let Ok(id) = word.parse::<EventId>() else {
            continue;
        };
        if known.contains(&id) {
            if !cited.contains(&id) {
                cited.push(id);
            }
        } else {
            unknown += 1;
        }
    }
    (cited, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Event> {
        let ctx = aoc_normalize::Context::new("import");
        [
            "2026-11-27T07:10:00",
            "2026-11-27T12:00:00",
            "2026-11-28T12:00:00",
        ]
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let raw = serde_json::json!({
                "Id": format!("rec-{i}"), "CreationTime": at, "Operation": "FileDownloaded",
                "Workload": "SharePoint", "RecordType": 6, "UserId": "a@contoso.com",
                "OrganizationId": "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
            });
            aoc_normalize::normalize(raw, &ctx).expect("normalize")
        })
        .collect()
    }

    #[test]
    fn only_ids_of_the_sample_are_cited() {
        let all = events();
        let sample: Vec<&Event> = all.iter().take(2).collect();
        let outside = all[2].id;
        let text = format!(
            "Two downloads [{}] and [{}], again [{}], and [{outside}] and [00000000-0000-8000-8000-000000000000].",
            sample[0].id, sample[1].id, sample[0].id
        );
        let (cited, unknown) = citations(&text, &sample);
        assert_eq!(cited, vec![sample[0].id, sample[1].id]);
        assert_eq!(unknown, 2);
    }

    #[test]
    fn working_hours_are_weekdays_from_eight_to_six() {
        let all = events();
        // Friday 07:10, Friday 12:00, Saturday 12:00.
        let after: Vec<bool> = all.iter().map(is_after_hours).collect();
        assert_eq!(after, vec![true, false, true]);
    }

    #[test]
    fn the_plain_answer_gives_the_figures_and_cites_the_sample() {
        let all = events();
        let sample: Vec<&Event> = all.iter().collect();
        let figures = Figures {
            total: 3,
            failures: 0,
            failure_rate: 0.0,
            first: Some("2026-11-27T07:10:00Z".into()),
            last: Some("2026-11-28T12:00:00Z".into()),
            top: vec![Count {
                value: "FileDownloaded".into(),
                count: 3,
            }],
            timeline: Vec::new(),
            after_hours: Some(2),
        };
        let text = template_answer(&Intent::default(), &figures, &sample);
        assert!(text.starts_with("3 events match"), "{text}");
        assert!(text.contains("2 of them outside working hours"), "{text}");
        assert!(text.contains("FileDownloaded (3)"), "{text}");
        assert_eq!(citations(&text, &sample).0.len(), 3);
        let none = Figures {
            total: 0,
            top: Vec::new(),
            after_hours: None,
            ..figures
        };
        assert_eq!(
            template_answer(&Intent::default(), &none, &[]),
            "No event matches."
        );
    }

    #[test]
    fn the_answer_request_holds_facts_and_lines_only() {
        let mut all = events();
        all[0].raw = serde_json::json!({ "secretish": "hunter2" });
        let sample: Vec<&Event> = all.iter().collect();
        let figures = Figures {
            total: 3,
            failures: 0,
            failure_rate: 0.0,
            first: None,
            last: None,
            top: Vec::new(),
            timeline: Vec::new(),
            after_hours: None,
        };
        let request = answer_request(
            "What was downloaded?",
            &Intent::default(),
            &figures,
            &sample,
        );
        assert!(request.user.contains("What was downloaded?"));
        assert!(request.user.contains(&all[0].id.to_string()));
        assert!(!request.user.contains("hunter2"));
    }
}
