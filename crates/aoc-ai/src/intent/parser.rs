//! The deterministic parser: the common questions an M365 admin asks, answered without a model.
//!
//! It reads time phrases ("last 24 hours", "yesterday", "this week", "since 2026-11-01"),
//! addresses and accounts (a UPN, an IP or CIDR block, "by alice"), services ("Exchange",
//! "Teams"…), the topics admins ask about (failed sign-ins, role changes, deleted files,
//! forwarding rules, consent, password resets, anonymous links, downloads, after hours) and what
//! to compute ("how many", "who", "which IPs", "over time"). What it does not recognise it
//! leaves out: a narrower question is never invented. Times are UTC.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::{Aggregation, Intent};
use vocabulary::{AUDIT_WORDS, FAILED};
use words::Words;

mod vocabulary;
mod words;

/// Turns `question` into an [`Intent`], reading relative times against `now`, in UTC.
pub fn parse_question(question: &str, now: DateTime<Utc>) -> Intent {
    parse_question_in(question, now, 0)
}

/// Turns `question` into an [`Intent`], reading "today", "yesterday" and dates in the asker's
/// time zone, `utc_offset_minutes` east of UTC.
pub fn parse_question_in(question: &str, now: DateTime<Utc>, utc_offset_minutes: i32) -> Intent {
    let words = Words::new(question);
    let offset = Duration::minutes(i64::from(utc_offset_minutes.clamp(-14 * 60, 14 * 60)));
    let mut filters = BTreeMap::new();
    // The first rule to set a filter wins: rules run from the most specific.
    let mut set = |name: &str, value: String| {
        filters.entry(name.to_owned()).or_insert(value);
    };

    // Exact things first: quoted text, accounts, addresses.
    let mut text: Vec<String> = quoted(question);
    for word in &words.raw {
        if let Some(upn) = as_upn(word) {
            set("actor", upn);
        } else if let Some(ip) = as_ip(word) {
            set("ip", ip);
        }
    }
    if let Some(name) = words.named_person().or_else(|| words.named_actor()) {
        set("actor", name);
    }
    if let Some(code) = words.country() {
        set("country", code.to_owned());
    }

    match time_range(&words, now, offset) {
        Some(TimeRange::Hours(hours)) => set("hours", hours.to_string()),
        Some(TimeRange::Between(from, to)) => {
            set("from", rfc3339(from));
            if let Some(to) = to {
                set("to", rfc3339(to));
            }
        }
        None => {}
    }

    // Topics, most specific first.
    let failed = words.any(FAILED);
    let sign_ins = words.any(&["signin", "signins", "login", "logins", "logon", "logons"])
        || words.phrase("sign in")
        || words.phrase("sign ins")
        || words.phrase("log in")
        || words.phrase("log ins")
        || words.phrase("signed in")
        || words.phrase("logged in")
        || words.phrase("logged on");
    let mut result_said = false;
    let mfa = words.any(&["mfa", "2fa", "multifactor"])
        || words.phrase("multi factor")
        || words.phrase("strong authentication");
    if mfa && (failed || words.any(&["declined", "rejected", "refused"])) {
        // Error 500121: the strong authentication (MFA) request failed or was denied.
        set("operation", "UserLoginFailed".into());
        text.push("500121".into());
        result_said = true;
    }
    if sign_ins {
        if failed {
            set("operation", "UserLoginFailed".into());
            result_said = true;
        } else {
            set("operation", "UserLog*".into());
        }
    }
    if words.any(&["role", "roles"]) {
        set("service", "Entra ID".into());
        text.push("role".into());
    }
    let files = words.any(&["file", "files", "document", "documents"]);
    if files
        && words.any(&[
            "deleted",
            "delete",
            "deletes",
            "deletion",
            "deletions",
            "removed",
        ])
    {
        set("operation", "FileDeleted*".into());
    }
    if words.any(&["download", "downloads", "downloaded", "downloading"]) {
        set("operation", "FileDownloaded".into());
    }
    if words.any(&["forwarding", "forward", "forwards", "forwarded"])
        || words.phrase("inbox rule")
        || words.phrase("inbox rules")
        || words.phrase("mail rule")
        || words.phrase("mail rules")
    {
        set("service", "Exchange".into());
        text.push("inboxrule".into());
    }
    if words.any(&["consent", "consents", "consented"]) {
        text.push("consent".into());
    }
    if words.any(&["password", "passwords"]) {
        text.push("password".into());
    }
    if words.phrase("anonymous link") || words.phrase("anonymous links") {
        set("operation", "AnonymousLinkCreated".into());
    }
    let after_hours = words.phrase("after hours")
        || words.phrase("out of hours")
        || words.phrase("outside business hours")
        || words.phrase("outside working hours")
        || words.phrase("outside office hours")
        || words.phrase("at night")
        || words.any(&["weekend", "weekends", "overnight"]);

    // The result, unless the topic already said it.
    if !result_said {
        if failed || words.any(&["errors", "failing"]) {
            set("result", "failure".into());
        } else if words.any(&["successful", "succeeded", "success"]) {
            set("result", "success".into());
        }
    }

    // The service, unless the topic already said it.
    let services: [(&[&str], &str); 6] = [
        (&["exchange", "mailbox", "mailboxes", "outlook"], "Exchange"),
        (&["sharepoint"], "SharePoint"),
        (&["onedrive"], "OneDrive"),
        (&["teams"], "Teams"),
        (&["intune", "device", "devices"], "Intune"),
        (&["entra", "aad"], "Entra ID"),
    ];
    for (names, service) in services {
        if words.any(names) {
            set("service", service.into());
            break;
        }
    }
    if words.phrase("azure ad") || words.phrase("azure active directory") {
        set("service", "Entra ID".into());
    }

    if !text.is_empty() {
        text.dedup();
        set("q", aoc_model::query_language::as_words(&text.join(" ")));
    }
    let aggregation = aggregation(&words, filters.contains_key("ip"));
    let ignored = words.ignored(&filters);
    // Nothing searchable and no word about audit events: not a question AOC can answer.
    let off_topic = filters.is_empty()
        && aggregation == Aggregation::List
        && !after_hours
        && !words.any(AUDIT_WORDS);
    Intent {
        filters,
        aggregation,
        after_hours,
        ignored,
        off_topic,
    }
}

/// Text between double quotes: searched for as it is.
fn quoted(question: &str) -> Vec<String> {
    question
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn as_upn(word: &str) -> Option<String> {
    let (user, domain) = word.split_once('@')?;
    (!user.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        .then(|| word.to_lowercase())
}

fn as_ip(word: &str) -> Option<String> {
    let (address, prefix) = match word.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (word, None),
    };
    let ip: IpAddr = address.parse().ok()?;
    match prefix {
        None => Some(ip.to_string()),
        Some(p) => {
            let bits: u8 = p.parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            (bits <= max).then(|| format!("{ip}/{bits}"))
        }
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn date_at(words: &Words, index: usize) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(words.at(index)?, "%Y-%m-%d").ok()
}

/// A time range a question names.
enum TimeRange {
    /// The last so many hours, up to now (the API's `hours`).
    Hours(i64),
    /// From a moment, up to another or to now.
    Between(DateTime<Utc>, Option<DateTime<Utc>>),
}

/// The first time phrase of the question, if any.
fn time_range(words: &Words, now: DateTime<Utc>, offset: Duration) -> Option<TimeRange> {
    // Days begin at the asker's midnight: local midnight, as a UTC time.
    let midnight = |date: NaiveDate| midnight(date) - offset;
    let local_now = now + offset;
    let today = midnight(local_now.date_naive());
    let day = Duration::days(1);
    for (i, w) in words.plain.iter().enumerate() {
        let found = match w.as_str() {
            // "last 3 days", "past hour", "last two weeks", "previous month".
            "last" | "past" | "previous" => {
                // "last 24h", "past 7d".
                let compact = words.at(i + 1).and_then(|w| {
                    let (digits, unit) = w.split_at(w.len().saturating_sub(1));
                    let n: i64 = digits.parse().ok()?;
                    match unit {
                        "h" => Some(n),
                        "d" => Some(n * 24),
                        _ => None,
                    }
                });
                let (count, unit_at) = words.number(i + 1).map_or((1, i + 1), |n| (n, i + 2));
                let hours = compact.or(match words.at(unit_at) {
                    Some("hour" | "hours" | "hr" | "hrs" | "h") => Some(count),
                    Some("day" | "days" | "d") => Some(count * 24),
                    Some("week" | "weeks") => Some(count * 24 * 7),
                    Some("month" | "months") => Some(count * 24 * 30),
                    _ => None,
                });
                hours
                    .filter(|h| (1..=8760).contains(h))
                    .map(TimeRange::Hours)
            }
            "today" => Some(TimeRange::Between(today, None)),
            "yesterday" => Some(TimeRange::Between(today - day, Some(today))),
            "this" => match words.at(i + 1) {
                Some("week") => {
                    let since_monday = i64::from(local_now.weekday().num_days_from_monday());
                    Some(TimeRange::Between(
                        today - Duration::days(since_monday),
                        None,
                    ))
                }
                Some("month") => {
                    let first = local_now
                        .date_naive()
                        .with_day(1)
                        .unwrap_or(local_now.date_naive());
                    Some(TimeRange::Between(midnight(first), None))
                }
                Some("morning") => {
                    Some(TimeRange::Between(today, Some(today + Duration::hours(12))))
                }
                _ => None,
            },
            "since" => date_at(words, i + 1)
                .map(|d| TimeRange::Between(midnight(d), None))
                .or_else(|| {
                    (words.at(i + 1) == Some("yesterday"))
                        .then(|| TimeRange::Between(today - day, None))
                }),
            "on" => date_at(words, i + 1)
                .map(|d| TimeRange::Between(midnight(d), Some(midnight(d) + day))),
            // "between 2026-11-01 and 2026-11-03": both days whole.
            "between" | "from" => {
                let joined = words.at(i + 2).is_some_and(|w| w == "and" || w == "to");
                match (
                    date_at(words, i + 1),
                    joined.then(|| date_at(words, i + 3)).flatten(),
                ) {
                    (Some(from), Some(to)) => {
                        Some(TimeRange::Between(midnight(from), Some(midnight(to) + day)))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// What to compute. A question about one address asks about that address, not which addresses.
fn aggregation(words: &Words, one_ip: bool) -> Aggregation {
    let starts = |phrase: &str| words.position(phrase) == Some(0);
    if words.phrase("over time")
        || words.any(&["trend", "trends", "timeline", "hourly", "daily"])
        || words.phrase("per hour")
        || words.phrase("per day")
        || words.phrase("by hour")
        || words.phrase("by day")
    {
        return Aggregation::Timeline;
    }
    if starts("how many") || words.phrase("number of") || starts("count") {
        return Aggregation::Count;
    }
    if !one_ip
        && (words.phrase("which ip")
            || words.phrase("which ips")
            || words.phrase("what ip")
            || words.phrase("what ips")
            || words.phrase("top ips")
            || words.phrase("ip addresses")
            || words.phrase("which addresses")
            || words.phrase("where from")
            || words.phrase("from where"))
    {
        return Aggregation::TopIps;
    }
    if starts("who")
        || words.phrase("which users")
        || words.phrase("which accounts")
        || words.phrase("which admins")
        || words.phrase("top users")
        || words.phrase("most active")
    {
        return Aggregation::TopActors;
    }
    if starts("what happened")
        || words.phrase("which operations")
        || words.phrase("what operations")
        || words.phrase("top operations")
        || words.phrase("most common")
        || words.phrase("what kind")
    {
        return Aggregation::TopOperations;
    }
    Aggregation::List
}

#[cfg(test)]
mod tests;
