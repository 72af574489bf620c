//! Small total helpers to read values out of loosely typed JSON.
//!
//! Every function here accepts any [`Value`] and answers `None` (or an empty result) when the shape
//! is not what it hoped for: numbers sent as strings and strings sent as numbers are both read, and
//! nothing indexes, unwraps or slices at byte offsets.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::IpAddr;

use aoc_model::{EventResult, parse_client_ip};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde_json::Value;

/// The member `key` of an object: exact name first, then ASCII case-insensitively (Graph documents
/// show `type` and `Type`). `null` members count as absent.
pub(crate) fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    let found = object.get(key).or_else(|| {
        object
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })?;
    (!found.is_null()).then_some(found)
}

/// Follows a path of object members.
pub(crate) fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .try_fold(value, |current, key| field(current, key))
}

/// A scalar as non-blank text: strings as written, numbers and booleans printed. Arrays, objects,
/// `null` and blank strings are `None`.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// [`text`] of the member `key`.
pub(crate) fn str_at(value: &Value, key: &str) -> Option<String> {
    field(value, key).and_then(text)
}

/// [`text`] of the member at `keys`.
pub(crate) fn str_path(value: &Value, keys: &[&str]) -> Option<String> {
    path(value, keys).and_then(text)
}

/// The first of `keys` that holds non-blank text.
pub(crate) fn first_str(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| str_at(value, key))
}

/// An integer from a number (integral floats included) or from text such as `"15"`.
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// The member `key` as an array; empty when absent or of another type.
pub(crate) fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    field(value, key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A value as detail text: strings as written, `null` as empty text, anything else as compact JSON.
pub(crate) fn detail_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The first of `keys` whose text is a client address in any of the shapes Microsoft writes.
pub(crate) fn ip_at(value: &Value, keys: &[&str]) -> Option<IpAddr> {
    keys.iter()
        .filter_map(|key| str_at(value, key))
        .find_map(|s| parse_client_ip(&s))
}

/// Inserts `value` under `name`, or under `name #2`, `name #3`… when the name is taken, so that
/// repeated names are kept instead of overwritten.
pub(crate) fn insert_unique<V>(map: &mut BTreeMap<String, V>, name: &str, value: V) {
    let mut candidate = name.to_string();
    let mut n: usize = 1;
    loop {
        if let Entry::Vacant(slot) = map.entry(candidate) {
            slot.insert(value);
            return;
        }
        n = n.saturating_add(1);
        candidate = format!("{name} #{n}");
    }
}

/// A modified-property value as stored in a [`aoc_model::Change`]: Graph wraps strings as JSON
/// text (`"\"Global Administrator\""`), which is decoded; other JSON text (arrays, objects, numbers)
/// is kept as written; blank is `None`.
pub(crate) fn change_value(value: &Value) -> Option<String> {
    let raw = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with('"')
        && let Ok(Value::String(decoded)) = serde_json::from_str::<Value>(trimmed)
    {
        return (!decoded.trim().is_empty()).then_some(decoded);
    }
    Some(raw)
}

/// Maps the many ways sources write an outcome: `success`, `Succeeded`, `True`, `failure`,
/// `Failed`, `timeout`, `PartiallySucceeded`… Anything else is unknown.
pub(crate) fn parse_result(value: &Value) -> EventResult {
    let word = match value {
        Value::Bool(true) => return EventResult::Success,
        Value::Bool(false) => return EventResult::Failure,
        Value::String(s) => s.trim().to_ascii_lowercase(),
        _ => return EventResult::Unknown,
    };
    match word.as_str() {
        "success" | "succeeded" | "true" => EventResult::Success,
        "failure" | "failed" | "false" | "timeout" | "fail" => EventResult::Failure,
        "partiallysucceeded" | "partial" | "partialsuccess" | "partially succeeded" => {
            EventResult::Partial
        }
        _ => EventResult::Unknown,
    }
}

/// True for text shaped like a GUID (`8-4-4-4-12` hex digits).
pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// At most `max` characters of `s`, with `…` when cut (cut on a character boundary).
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Parses an event time: RFC 3339 with `Z` or an offset, Microsoft's zone-less ISO (UTC), the US
/// `3/1/2025 10:58:33 AM` of Purview exports, or Unix seconds / milliseconds. Truncated to whole
/// microseconds, the precision AOC stores. Years outside 1–9999 are no event time (every store
/// and every RFC 3339 reader can hold the rest).
pub(crate) fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    let time = match value {
        Value::String(s) => parse_time_text(s.trim()),
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        _ => None,
    }?;
    (1..=9999)
        .contains(&chrono::Datelike::year(&time))
        .then(|| time.trunc_subsecs(6))
}

fn parse_time_text(s: &str) -> Option<DateTime<Utc>> {
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    const NAIVE: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S",
    ];
    NAIVE
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
        .map(|naive| naive.and_utc())
        .or_else(|| s.parse::<f64>().ok().and_then(from_epoch))
}

/// Unix time in seconds, or in milliseconds when too large to be seconds of this era.
fn from_epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() {
        return None;
    }
    let millis = if n.abs() >= 1.0e11 { n } else { n * 1000.0 };
    if millis.abs() > 9.0e15 {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

/// Feeds the canonical JSON text of `value` to `hasher`: object keys sorted (recursively), no
/// whitespace. Written with an explicit stack so deep values cannot overflow the call stack.
pub(crate) fn hash_canonical(value: &Value, hasher: &mut blake3::Hasher) {
    enum Step<'a> {
        Value(&'a Value),
        Text(&'static str),
        Key(&'a str),
    }
    let mut stack = vec![Step::Value(value)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(t) => {
                hasher.update(t.as_bytes());
            }
            Step::Key(k) => {
                hasher.update(Value::String(k.to_string()).to_string().as_bytes());
                hasher.update(b":");
            }
            Step::Value(Value::Array(items)) => {
                hasher.update(b"[");
                stack.push(Step::Text("]"));
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push(Step::Value(item));
                    if i > 0 {
                        stack.push(Step::Text(","));
                    }
                }
            }
            Step::Value(Value::Object(map)) => {
                hasher.update(b"{");
                stack.push(Step::Text("}"));
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (i, (key, item)) in entries.into_iter().enumerate().rev() {
                    stack.push(Step::Value(item));
                    stack.push(Step::Key(key));
                    if i > 0 {
                        stack.push(Step::Text(","));
                    }
                }
            }
            Step::Value(scalar) => {
                hasher.update(scalar.to_string().as_bytes());
            }
        }
    }
}

/// Hex BLAKE3 of the canonical JSON of `value`.
pub(crate) fn canonical_hash(value: &Value) -> String {
    let mut hasher = blake3::Hasher::new();
    hash_canonical(value, &mut hasher);
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_outside_years_1_to_9999_are_refused() {
        for value in [
            json!("+20000-01-01T00:00:00Z"),
            json!(-62_200_000_000_000i64),
            json!(8.9e15),
            json!("0000-12-31T23:59:59Z"),
        ] {
            assert_eq!(parse_time(&value), None, "{value}");
        }
        assert!(parse_time(&json!("9999-12-31T23:59:59Z")).is_some());
    }

    #[test]
    fn times_in_every_shape() {
        let cases = [
            (
                "2025-03-01T10:15:42.1837465Z",
                "2025-03-01T10:15:42.183746Z",
            ),
            ("2025-03-01T10:15:42", "2025-03-01T10:15:42Z"),
            ("2025-03-01T10:15:42.5", "2025-03-01T10:15:42.500Z"),
            ("2025-03-01T12:15:42+02:00", "2025-03-01T10:15:42Z"),
            ("2025-03-01 10:15:42", "2025-03-01T10:15:42Z"),
            ("3/1/2025 10:58:33 AM", "2025-03-01T10:58:33Z"),
            ("3/1/2025 10:58:33 PM", "2025-03-01T22:58:33Z"),
            ("12/31/2024 12:00:01 AM", "2024-12-31T00:00:01Z"),
            ("2025-03-01T10:58:33.0000000Z", "2025-03-01T10:58:33Z"),
        ];
        for (input, want) in cases {
            let want = DateTime::parse_from_rfc3339(want)
                .map(|t| t.with_timezone(&Utc))
                .ok();
            assert_eq!(parse_time(&json!(input)), want, "{input}");
        }
        assert_eq!(
            parse_time(&json!(1_740_823_342)).map(|t| t.to_rfc3339()),
            Some("2025-03-01T10:02:22+00:00".to_string())
        );
        for bad in [
            json!(""),
            json!("soon"),
            json!(null),
            json!([1]),
            json!(1e300),
        ] {
            assert_eq!(parse_time(&bad), None, "{bad}");
        }
    }

    #[test]
    fn change_values_unwrap_json_strings_only() {
        assert_eq!(
            change_value(&json!("\"Global Administrator\"")).as_deref(),
            Some("Global Administrator")
        );
        assert_eq!(
            change_value(&json!("[\"a\",\"b\"]")).as_deref(),
            Some("[\"a\",\"b\"]")
        );
        assert_eq!(change_value(&json!("False")).as_deref(), Some("False"));
        assert_eq!(change_value(&json!("")), None);
        assert_eq!(change_value(&json!("\"\"")), None);
        assert_eq!(
            change_value(&json!("\"unterminated")).as_deref(),
            Some("\"unterminated")
        );
        assert_eq!(change_value(&json!(3)).as_deref(), Some("3"));
    }

    #[test]
    fn repeated_names_get_suffixes() {
        let mut map = BTreeMap::new();
        for v in ["a", "b", "c"] {
            insert_unique(&mut map, "Name", v);
        }
        assert_eq!(map.get("Name"), Some(&"a"));
        assert_eq!(map.get("Name #2"), Some(&"b"));
        assert_eq!(map.get("Name #3"), Some(&"c"));
    }

    #[test]
    fn canonical_hash_ignores_key_order_only() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "é"}});
        let b = json!({"a": {"x": "é", "y": [1, 2]}, "b": 1});
        let c = json!({"a": {"x": "é", "y": [2, 1]}, "b": 1});
        assert_eq!(canonical_hash(&a), canonical_hash(&b));
        assert_ne!(canonical_hash(&a), canonical_hash(&c));
    }

    #[test]
    fn guid_and_clip() {
        assert!(is_guid("8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"));
        assert!(!is_guid("User_8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a"));
        assert!(!is_guid("8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3eé"));
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
