//! Intent extraction by a language model: the instructions, the JSON schema its reply must
//! follow, and the check of that reply, as strict as for a person's input. A reply that fails
//! the check is an [`IntentError`], and the caller falls back to the deterministic parser.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Aggregation, Intent};
use crate::llm::ChatRequest;

/// Services AOC names events with.
pub const SERVICES: [&str; 6] = [
    "Entra ID",
    "Exchange",
    "SharePoint",
    "OneDrive",
    "Teams",
    "Intune",
];
const RESULTS: [&str; 4] = ["success", "failure", "partial", "unknown"];
const AGGREGATIONS: [&str; 6] = [
    "list",
    "count",
    "top_actors",
    "top_operations",
    "top_ips",
    "timeline",
];
/// The longest text value accepted from a model.
const MAX_VALUE_CHARS: usize = 200;
const SCHEMA_NAME: &str = "aoc_events_query";

/// A model reply that is not a usable query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("the reply is not one JSON object")]
    NotJson,
    #[error("the reply's {field} is not acceptable: {reason}")]
    Field { field: String, reason: String },
}

fn nullable(kind: &str, description: &str) -> Value {
    json!({ "type": [kind, "null"], "description": description })
}

/// The JSON schema of the reply (strict: every field present, no other).
pub fn schema() -> Value {
    let mut services: Vec<Value> = SERVICES.iter().map(|s| json!(s)).collect();
    services.push(Value::Null);
    let mut results: Vec<Value> = RESULTS.iter().map(|s| json!(s)).collect();
    results.push(Value::Null);
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["hours", "from", "to", "service", "operation", "actor", "ip", "result",
                     "text", "aggregation", "after_hours"],
        "properties": {
            "hours": { "type": ["integer", "null"], "minimum": 1, "maximum": 8760,
                       "description": "the last N hours up to now; null when from/to are given" },
            "from": nullable("string", "start, RFC 3339 UTC such as 2026-11-26T00:00:00Z"),
            "to": nullable("string", "end (exclusive), RFC 3339 UTC"),
            "service": { "type": ["string", "null"], "enum": services },
            "operation": nullable("string", "an exact operation name such as UserLoginFailed, \
                or a prefix ending in * such as FileDeleted*"),
            "actor": nullable("string", "a user principal name, display name or object id"),
            "ip": nullable("string", "an IP address or CIDR block"),
            "result": { "type": ["string", "null"], "enum": results },
            "text": nullable("string", "words every matching event must contain"),
            "aggregation": { "type": "string", "enum": AGGREGATIONS },
            "after_hours": { "type": "boolean",
                             "description": "only events before 08:00, from 18:00 or at weekends" },
        },
    })
}

/// The request that asks a model for the query `question` means, at `now`. It holds the
/// question, fixed instructions and the date: no secret, token or stored data.
pub fn intent_request(question: &str, now: DateTime<Utc>) -> ChatRequest {
    let system = format!(
        "You turn a Microsoft 365 administrator's question about audit logs into a query for \
         AOC's events search. Now is {now} (UTC). Use hours for \"last N hours/days\" windows \
         and from/to for calendar days. Services: {services}. Common operations: \
         UserLoggedIn, UserLoginFailed (sign-ins), FileDeleted*, FileDownloaded, \
         AnonymousLinkCreated, New-InboxRule, Set-InboxRule, Add member to role., \
         Remove member from role., Consent to application. Leave a field null unless the \
         question says it. Never invent names, addresses or times.",
        now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        services = SERVICES.join(", "),
    );
    ChatRequest {
        system,
        user: question.to_owned(),
        json_schema: Some((SCHEMA_NAME.to_owned(), schema())),
        max_tokens: 300,
    }
}

fn field_error(field: &str, reason: impl Into<String>) -> IntentError {
    IntentError::Field {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A text value: trimmed, bounded, without control characters; `None` for null or empty.
fn text(object: &Map<String, Value>, field: &str) -> Result<Option<String>, IntentError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_VALUE_CHARS {
                return Err(field_error(field, "too long"));
            }
            if s.chars().any(char::is_control) {
                return Err(field_error(field, "control characters"));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(field_error(field, "not a string")),
    }
}

fn one_of(
    value: Option<String>,
    field: &str,
    allowed: &[&str],
) -> Result<Option<String>, IntentError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(field_error(
            field,
            format!("{v:?} is not one of {allowed:?}"),
        )),
        other => Ok(other),
    }
}

/// Reads a model's reply into an [`Intent`]. Accepts the JSON object alone or inside a
/// Markdown code fence; refuses unknown fields, wrong types, unknown services, results and
/// aggregations, over-long values, and `hours` together with `from`.
///
/// # Errors
/// The first thing wrong with the reply.
pub fn intent_from_reply(reply: &str) -> Result<Intent, IntentError> {
    let body = crate::llm::json_text(reply);
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(body) else {
        return Err(IntentError::NotJson);
    };
    const KNOWN: [&str; 11] = [
        "hours",
        "from",
        "to",
        "service",
        "operation",
        "actor",
        "ip",
        "result",
        "text",
        "aggregation",
        "after_hours",
    ];
    if let Some(unknown) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(field_error(unknown, "unknown field"));
    }
    let mut filters = BTreeMap::new();
    match object.get("hours") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_i64().filter(|h| (1..=8760).contains(h)) {
            Some(h) => {
                filters.insert("hours".to_owned(), h.to_string());
            }
            None => return Err(field_error("hours", "not a whole number from 1 to 8760")),
        },
    }
    for (field, param) in [
        ("from", "from"),
        ("to", "to"),
        ("operation", "operation"),
        ("actor", "actor"),
        ("ip", "ip"),
        ("text", "q"),
    ] {
        if let Some(value) = text(&object, field)? {
            // The model's text is words to search for, never query syntax.
            let value = if param == "q" {
                aoc_model::query_language::as_words(&value)
            } else {
                value
            };
            if !value.is_empty() {
                filters.insert(param.to_owned(), value);
            }
        }
    }
    for field in ["from", "to"] {
        if let Some(value) = filters.get(field)
            && DateTime::parse_from_rfc3339(value).is_err()
        {
            return Err(field_error(field, "not an RFC 3339 time"));
        }
    }
    if filters.contains_key("hours") && filters.contains_key("from") {
        return Err(field_error("hours", "given together with from"));
    }
    if let Some(service) = one_of(text(&object, "service")?, "service", &SERVICES)? {
        filters.insert("service".to_owned(), service);
    }
    if let Some(result) = one_of(text(&object, "result")?, "result", &RESULTS)? {
        filters.insert("result".to_owned(), result);
    }
    let aggregation = match object.get("aggregation").and_then(Value::as_str) {
        None => Aggregation::List,
        Some("list") => Aggregation::List,
        Some("count") => Aggregation::Count,
        Some("top_actors") => Aggregation::TopActors,
        Some("top_operations") => Aggregation::TopOperations,
        Some("top_ips") => Aggregation::TopIps,
        Some("timeline") => Aggregation::Timeline,
        Some(other) => return Err(field_error("aggregation", format!("{other:?} is unknown"))),
    };
    let after_hours = match object.get("after_hours") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(field_error("after_hours", "not true or false")),
    };
    Ok(Intent {
        filters,
        aggregation,
        after_hours,
        ..Intent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(value: Value) -> String {
        value.to_string()
    }

    #[test]
    fn a_good_reply_becomes_the_api_s_filters() {
        let intent = intent_from_reply(&reply(json!({
            "hours": 24, "from": null, "to": null, "service": "Entra ID",
            "operation": "UserLoginFailed", "actor": null, "ip": "10.0.0.0/8",
            "result": null, "text": " payroll ", "aggregation": "top_ips", "after_hours": false,
        })))
        .expect("valid");
        let expected: BTreeMap<String, String> = [
            ("hours", "24"),
            ("service", "Entra ID"),
            ("operation", "UserLoginFailed"),
            ("ip", "10.0.0.0/8"),
            ("q", "payroll"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(intent.filters, expected);
        assert_eq!(intent.aggregation, Aggregation::TopIps);
        // In a code fence, as chat models like to write it.
        let fenced = format!("```json\n{}\n```", reply(json!({ "aggregation": "count" })));
        assert_eq!(
            intent_from_reply(&fenced).expect("fenced").aggregation,
            Aggregation::Count
        );
    }

    #[test]
    fn nonsense_is_refused_naming_what_is_wrong() {
        let field = |e: IntentError| match e {
            IntentError::Field { field, .. } => field,
            IntentError::NotJson => "json".into(),
        };
        let cases = [
            ("Sure! Here are the failed sign-ins.".to_owned(), "json"),
            ("[1, 2]".to_owned(), "json"),
            (reply(json!({ "hours": 0 })), "hours"),
            (reply(json!({ "hours": "24" })), "hours"),
            (
                reply(json!({ "hours": 24, "from": "2026-11-26T00:00:00Z" })),
                "hours",
            ),
            (reply(json!({ "from": "yesterday" })), "from"),
            (reply(json!({ "service": "Azure" })), "service"),
            (reply(json!({ "result": "bad" })), "result"),
            (reply(json!({ "aggregation": "sum" })), "aggregation"),
            (reply(json!({ "actor": "x".repeat(201) })), "actor"),
            (reply(json!({ "actor": "alice\u{0}" })), "actor"),
            (reply(json!({ "sql": "DROP TABLE events" })), "sql"),
            (reply(json!({ "after_hours": "yes" })), "after_hours"),
        ];
        for (text, wanted) in cases {
            let e = intent_from_reply(&text).expect_err(&text);
            assert_eq!(field(e), wanted, "{text}");
        }
    }

    #[test]
    fn the_request_holds_the_question_the_schema_and_nothing_secret() {
        let now: DateTime<Utc> = "2026-11-27T15:30:00Z".parse().expect("time");
        let request = intent_request("How many failed sign-ins yesterday?", now);
        assert_eq!(request.user, "How many failed sign-ins yesterday?");
        assert!(request.system.contains("2026-11-27T15:30:00Z"));
        let (name, schema) = request.json_schema.expect("schema");
        assert_eq!(name, SCHEMA_NAME);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["required"].as_array().expect("required").len(),
            schema["properties"].as_object().expect("properties").len()
        );
        for secret in ["secret", "token", "key", "password"] {
            assert!(!request.system.to_lowercase().contains(secret), "{secret}");
        }
    }
}
