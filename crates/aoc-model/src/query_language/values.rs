//! Field names and the values each field takes.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};

use super::Term;
use crate::event::EventResult;
use crate::ids::TenantId;
use crate::ip::{IpRange, parse_client_ip};
use crate::matching::TextMatch;
use crate::search::SearchText;

/// The fields, as an error message lists them (other names in parentheses).
pub const FIELD_NAMES: &str = "actor (user, upn), target, application (app), operation (op, activity), service \
     (workload), source, country, result (status), ip, tag, tenant, text, time, after (since, \
     from), before (until, to), last";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Actor,
    Target,
    Application,
    Operation,
    Service,
    Source,
    Country,
    Result,
    Ip,
    Tag,
    Tenant,
    Text,
    Time,
    After,
    Before,
    Last,
}

/// The field named `name`, in any case.
pub(super) fn field(name: &str) -> Option<Field> {
    Some(match name.to_ascii_lowercase().as_str() {
        "actor" | "user" | "upn" => Field::Actor,
        "target" => Field::Target,
        "application" | "app" => Field::Application,
        "operation" | "op" | "activity" => Field::Operation,
        "service" | "workload" => Field::Service,
        "source" => Field::Source,
        "country" => Field::Country,
        "result" | "status" => Field::Result,
        "ip" => Field::Ip,
        "tag" => Field::Tag,
        "tenant" => Field::Tenant,
        "text" => Field::Text,
        "time" => Field::Time,
        "after" | "since" | "from" => Field::After,
        "before" | "until" | "to" => Field::Before,
        "last" => Field::Last,
        _ => return None,
    })
}

/// Every name a field goes by, for suggestions.
const NAMES: [&str; 27] = [
    "actor",
    "user",
    "upn",
    "target",
    "application",
    "app",
    "operation",
    "op",
    "activity",
    "service",
    "workload",
    "source",
    "country",
    "result",
    "status",
    "ip",
    "tag",
    "tenant",
    "text",
    "time",
    "after",
    "since",
    "from",
    "before",
    "until",
    "to",
    "last",
];

/// The field name `name` was most likely meant to be (a letter or two off), if any.
pub(super) fn nearest_field(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    NAMES
        .iter()
        .map(|candidate| (edit_distance(&name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < candidate.len() / 2 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The term `field:value`; `quoted` when the value was in double quotes.
///
/// # Errors
/// What the field expects, in words.
pub(super) fn term(
    field: Field,
    value: &str,
    quoted: bool,
    now: DateTime<Utc>,
) -> Result<Term, String> {
    if value.chars().any(char::is_control) {
        return Err("a value must not contain control characters".into());
    }
    // In quotes, a whole name, unless it has a `*`: then a pattern that may hold spaces
    // (`"*Add member*"`, part of a name with a space in it).
    let written = if quoted && !value.contains('*') {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    };
    let name = |make: fn(String) -> Term, matcher: fn(&str) -> Option<TextMatch>| {
        matcher(&written)
            .map(|_| make(written.clone()))
            .ok_or_else(|| {
                format!(
                    "{written} names nothing: give a name, part of one, \"a whole name\" or a \
                 pattern such as Set-*"
                )
            })
    };
    match field {
        Field::Actor => name(Term::Actor, TextMatch::parse),
        Field::Target => name(Term::Target, TextMatch::parse),
        Field::Application => name(Term::Application, TextMatch::parse),
        Field::Operation => name(Term::Operation, TextMatch::operation),
        Field::Service => name(Term::Service, TextMatch::parse),
        Field::Source => name(Term::Source, TextMatch::parse),
        Field::Country => {
            // A code as records carry it, or a name AOC knows: a misspelt name is an error, not
            // a filter that silently matches nothing.
            let value = value.trim();
            match crate::country_code(value) {
                Some(code) => Ok(Term::Country(code.to_owned())),
                None if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) => {
                    Ok(Term::Country(value.to_owned()))
                }
                None => Err(format!(
                    "{written} is not a country AOC knows: give its two-letter code (FR, GB) \
                     or its English name (France)"
                )),
            }
        }
        Field::Result => result(value).map(Term::Result).ok_or_else(|| {
            format!("{written} is not a result: expected success, failure, partial or unknown")
        }),
        Field::Ip => ip(value),
        Field::Tag => crate::Tag::parse(value)
            .map(|tag| Term::Tag(tag.as_str().to_owned()))
            .map_err(|e| format!("{written}: {e}")),
        Field::Tenant => match value.trim() {
            "" => Err("expected a tenant id".into()),
            tenant => Ok(Term::Tenant(TenantId::new(tenant))),
        },
        Field::Text => if quoted {
            SearchText::phrase(value)
        } else {
            SearchText::parse(value)
        }
        .map(Term::Text)
        .map_err(|e| format!("{written} {e}")),
        Field::Last => duration(value)
            .map(|d| Term::Time {
                from: Some(now - d),
                to: None,
            })
            .ok_or_else(|| "expected a duration such as 15m, 24h or 7d".into()),
        Field::After => point(value, now).map(|p| Term::Time {
            from: Some(p.start),
            to: None,
        }),
        Field::Before => point(value, now).map(|p| Term::Time {
            from: None,
            to: Some(p.start),
        }),
        Field::Time => time(value, now),
    }
}

/// A result in the words people use for it.
fn result(value: &str) -> Option<EventResult> {
    Some(match value.trim().to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "successful" | "ok" => EventResult::Success,
        "failure" | "failed" | "fail" | "error" => EventResult::Failure,
        "partial" => EventResult::Partial,
        "unknown" => EventResult::Unknown,
        _ => return None,
    })
}

fn ip(value: &str) -> Result<Term, String> {
    if value.contains('/') {
        IpRange::parse(value)
            .map(Term::IpRange)
            .ok_or_else(|| "expected a CIDR block such as 203.0.113.0/24".into())
    } else {
        parse_client_ip(value).map(Term::Ip).ok_or_else(|| {
            "expected an IPv4 or IPv6 address, or a CIDR block such as 203.0.113.0/24".into()
        })
    }
}

/// `15m`, `24h`, `7d`, `2w`: from a minute to ten years.
fn duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = value.split_at(split);
    let n: i64 = digits.parse().ok()?;
    // `M` could be months as well as minutes: refused rather than guessed.
    if unit == "M" {
        return None;
    }
    let minutes = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" => n,
        "h" => n.checked_mul(60)?,
        "d" => n.checked_mul(1_440)?,
        "w" => n.checked_mul(10_080)?,
        _ => return None,
    };
    (1..=3_660 * 1_440)
        .contains(&minutes)
        .then(|| Duration::minutes(minutes))
}

/// A moment, or a span of time (a day) when `end` is set.
struct Point {
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
}

const POINT_EXPECTED: &str = "expected a date (2026-12-01), a time (2026-12-01T09:30Z), \
     today, yesterday, now or now-24h";

fn day(date: NaiveDate) -> Point {
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    Point {
        start,
        // Checked: a far date is refused by `point`, not by an overflow here.
        end: Some(start.checked_add_signed(Duration::days(1)).unwrap_or(start)),
    }
}

/// A date, a time, `today`, `yesterday` (UTC days), `now`, `now-24h` or `-24h`.
fn point(value: &str, now: DateTime<Utc>) -> Result<Point, String> {
    let point = any_point(value, now)?;
    // Years past 9999 overflow the arithmetic on them, and mean nothing in an audit log.
    if !(1..=9999).contains(&point.start.year()) {
        return Err("expected a year from 1 to 9999".into());
    }
    Ok(point)
}

fn any_point(value: &str, now: DateTime<Utc>) -> Result<Point, String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "now" => {
            return Ok(Point {
                start: now,
                end: None,
            });
        }
        "today" => return Ok(day(now.date_naive())),
        "yesterday" => return Ok(day(now.date_naive() - Duration::days(1))),
        _ => {}
    }
    if let Some(ago) = lower
        .strip_prefix("now-")
        .or_else(|| lower.strip_prefix('-'))
    {
        return duration(ago)
            .map(|d| Point {
                start: now - d,
                end: None,
            })
            .ok_or_else(|| "expected a duration after the minus, such as now-24h or -7d".into());
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(day(date));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(Point {
            start: time.with_timezone(&Utc),
            end: None,
        });
    }
    // Without a zone, or `Z` without seconds (`2026-12-01T09:30Z`): UTC.
    let bare = value.strip_suffix(['Z', 'z']).unwrap_or(value);
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(bare, format).ok())
        .map(|time| Point {
            start: time.and_utc(),
            end: None,
        })
        .ok_or_else(|| POINT_EXPECTED.into())
}

/// `time:` values: a day (`2026-12-01`, `today`), a comparison (`>=2026-12-01`, `<now-1h`) or a
/// range (`2026-12-01..2026-12-03`, the last day included).
fn time(value: &str, now: DateTime<Utc>) -> Result<Term, String> {
    for (op, make) in [
        (">=", Bound::From as fn(Point) -> Bound),
        ("<=", Bound::Through),
        (">", Bound::After),
        ("<", Bound::Before),
    ] {
        if let Some(rest) = value.strip_prefix(op) {
            return Ok(make(point(rest, now)?).term());
        }
    }
    if let Some((first, last)) = value.split_once("..") {
        let (first, last) = (point(first, now)?, point(last, now)?);
        let to = last.end.unwrap_or(last.start);
        if first.start >= to {
            return Err("the range ends before it starts".into());
        }
        return Ok(Term::Time {
            from: Some(first.start),
            to: Some(to),
        });
    }
    let point = point(value, now)?;
    match point.end {
        Some(end) => Ok(Term::Time {
            from: Some(point.start),
            to: Some(end),
        }),
        // `now-24h`, `-7d`: since then. `now` alone would be nothing from now on.
        None if !value.trim().eq_ignore_ascii_case("now")
            && value.trim().to_ascii_lowercase().starts_with(['n', '-']) =>
        {
            Ok(Term::Time {
                from: Some(point.start),
                to: None,
            })
        }
        None => Err(
            "a single moment matches almost nothing: write time:>=2026-12-01T09:30Z, \
                     a day, or a range such as 2026-12-01T09:00Z..2026-12-01T10:00Z"
                .into(),
        ),
    }
}

/// One side of a comparison.
enum Bound {
    From(Point),
    Through(Point),
    After(Point),
    Before(Point),
}

impl Bound {
    fn term(self) -> Term {
        let tick = Duration::microseconds(1);
        let (from, to) = match self {
            Self::From(p) => (Some(p.start), None),
            Self::After(p) => (Some(p.end.unwrap_or(p.start + tick)), None),
            Self::Before(p) => (None, Some(p.start)),
            Self::Through(p) => (None, Some(p.end.unwrap_or(p.start + tick))),
        };
        Term::Time { from, to }
    }
}
