//! Smart sampling: which matching events a model is shown, within a token budget.
//!
//! A question can match thousands of events; a model sees a few dozen. The sample is spread
//! across operations (each operation in turn, the most frequent first), and within one
//! operation across time (the newest, the oldest, then the middle, and so on), so a rare
//! operation is not drowned by a common one and an hour is not drowned by a busy minute. Each
//! event is shown as one line of normalized fields — never its raw record, which may hold more
//! than an answer needs.

use std::collections::BTreeMap;

use aoc_model::Event;

/// Characters per token, roughly, for English and identifiers.
const CHARS_PER_TOKEN: usize = 4;
/// The longest summary shown for one event.
const MAX_SUMMARY_CHARS: usize = 240;

/// One event as a model sees it.
pub fn event_line(event: &Event) -> String {
    let actor = event
        .actor
        .upn
        .as_deref()
        .or(event.actor.display_name.as_deref())
        .or(event.actor.id.as_deref())
        .unwrap_or("-");
    let targets: Vec<&str> = event
        .targets
        .iter()
        .filter_map(|t| t.name.as_deref().or(t.id.as_deref()))
        .take(3)
        .collect();
    let summary: String = event.summary.chars().take(MAX_SUMMARY_CHARS).collect();
    format!(
        "id={} time={} service={} operation={} result={} actor={} targets={} ip={} summary={}",
        event.id,
        event
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        event.service,
        event.operation,
        event.result.as_str(),
        actor,
        if targets.is_empty() {
            "-".to_owned()
        } else {
            targets.join(",")
        },
        event
            .client_ip
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        summary,
    )
}

/// Tokens a text costs, estimated.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN) + 1
}

/// Indices `0..n` in an order that spreads over the range: first, last, middle, quarters…
fn spread(n: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut push = |i: usize, order: &mut Vec<usize>| {
        if i < n && !seen[i] {
            seen[i] = true;
            order.push(i);
        }
    };
    if n == 0 {
        return order;
    }
    push(0, &mut order);
    push(n - 1, &mut order);
    let mut parts = 2;
    while order.len() < n {
        for k in 1..parts {
            push(k * (n - 1) / parts, &mut order);
        }
        parts *= 2;
        if parts > 2 * n {
            (0..n).for_each(|i| push(i, &mut order));
        }
    }
    order
}

/// The sample of `events` (in any order) whose lines fit in `budget_tokens`, at most `max`
/// of them, newest first.
pub fn sample(events: &[Event], budget_tokens: usize, max: usize) -> Vec<&Event> {
    // Group by operation, each group newest first; the largest groups lead each round.
    let mut groups: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in events {
        groups
            .entry(event.operation.as_str())
            .or_default()
            .push(event);
    }
    let mut groups: Vec<Vec<&Event>> = groups
        .into_values()
        .map(|mut g| {
            g.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.id.cmp(&b.id)));
            let order = spread(g.len());
            order.into_iter().map(|i| g[i]).collect()
        })
        .collect();
    groups.sort_by(|a, b| {
        b.len()
            .cmp(&a.len())
            .then(a[0].operation.cmp(&b[0].operation))
    });

    let mut picked: Vec<&Event> = Vec::new();
    let mut spent = 0;
    let mut round = 0;
    'rounds: loop {
        let mut any = false;
        for group in &groups {
            let Some(event) = group.get(round) else {
                continue;
            };
            any = true;
            let cost = estimate_tokens(&event_line(event));
            if picked.len() >= max || spent + cost > budget_tokens {
                break 'rounds;
            }
            spent += cost;
            picked.push(event);
        }
        if !any {
            break;
        }
        round += 1;
    }
    picked.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.id.cmp(&b.id)));
    picked
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{Duration, TimeZone, Utc};
    use serde_json::json;

    use super::*;

    /// `count` events of `operation` by `actor`, one a minute from `start_minute`.
    fn events(operation: &str, actor: &str, count: usize, start_minute: i64) -> Vec<Event> {
        let base = Utc
            .with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
            .single()
            .expect("time");
        let ctx = aoc_normalize::Context::new("import");
        (0..count)
            .map(|i| {
                let at = base + Duration::minutes(start_minute + i as i64);
                let raw = json!({
                    "Id": format!("{operation}-{actor}-{i}"), "CreationTime": at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "Operation": operation, "Workload": "Exchange", "RecordType": 1,
                    "UserId": actor, "ResultStatus": "Succeeded", "ClientIP": "203.0.113.7",
                    "OrganizationId": "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
                });
                aoc_normalize::normalize(raw, &ctx).expect("normalize")
            })
            .collect()
    }

    #[test]
    fn every_operation_is_shown_and_each_spread_over_time() {
        let mut all = events("MailItemsAccessed", "a@contoso.com", 400, 0);
        all.extend(events("New-InboxRule", "b@contoso.com", 2, 30));
        all.extend(events("Set-Mailbox", "c@contoso.com", 1, 500));
        let picked = sample(&all, 2_000, 50);
        let operations: BTreeSet<&str> = picked.iter().map(|e| e.operation.as_str()).collect();
        assert_eq!(operations.len(), 3, "{operations:?}");
        // The common operation: its newest and oldest both shown.
        let common: Vec<&&Event> = picked
            .iter()
            .filter(|e| e.operation == "MailItemsAccessed")
            .collect();
        let times: BTreeSet<_> = common.iter().map(|e| e.timestamp).collect();
        let all_common: Vec<_> = all
            .iter()
            .filter(|e| e.operation == "MailItemsAccessed")
            .map(|e| e.timestamp)
            .collect();
        assert!(times.contains(all_common.iter().max().expect("max")));
        assert!(times.contains(all_common.iter().min().expect("min")));
        // Newest first.
        assert!(picked.windows(2).all(|w| w[0].timestamp >= w[1].timestamp));
    }

    #[test]
    fn the_budget_and_the_cap_hold() {
        let all = events("FileDownloaded", "d@contoso.com", 300, 0);
        for budget in [0, 10, 100, 1_000, 5_000] {
            let picked = sample(&all, budget, 1_000);
            let spent: usize = picked.iter().map(|e| estimate_tokens(&event_line(e))).sum();
            assert!(spent <= budget, "{spent} > {budget}");
            // Nearly full: one more line would not have fitted.
            if picked.len() < all.len() {
                assert!(spent + estimate_tokens(&event_line(&all[0])) + 8 > budget);
            }
        }
        assert_eq!(sample(&all, 1_000_000, 25).len(), 25);
        assert!(sample(&[], 1_000, 10).is_empty());
    }

    #[test]
    fn a_line_holds_normalized_fields_and_not_the_raw_record() {
        let mut event = events("Set-Mailbox", "e@contoso.com", 1, 0).remove(0);
        event.raw = json!({ "secretish": "hunter2" });
        let line = event_line(&event);
        assert!(line.contains(&event.id.to_string()));
        assert!(line.contains("operation=Set-Mailbox"));
        assert!(!line.contains("hunter2"));
    }

    #[test]
    fn spread_visits_every_index_once_ends_first() {
        for n in 0..50 {
            let order = spread(n);
            assert_eq!(order.len(), n);
            assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), n);
            if n >= 2 {
                assert_eq!(&order[..2], &[0, n - 1]);
            }
        }
    }
}
