//! The events filters every door takes (the search, the figures, the export, a question's
//! reading, the MCP tools), read from named arguments with the one at fault named.

use chrono::DurationRound as _;
use chrono::{DateTime, NaiveDate, Utc};

use aoc_model::aggregate::MAX_TOP;
use aoc_model::query_language;
use aoc_model::{
    AggregateSpec, Cursor, EventQuery, EventResult, Exclusions, Facet, IpRange, Order, QueryError,
    Tag, TenantId, TextMatch, parse_client_ip,
};

use crate::error::ServiceError;
use crate::params::Params;

/// The filters every events use case takes (list, aggregations, export).
pub const FILTER_PARAMS: [&str; 24] = [
    "from",
    "to",
    "hours",
    "tenant",
    "source",
    "service",
    "operation",
    "actor",
    "target",
    "application",
    "ip",
    "country",
    "result",
    "tag",
    "q",
    "order",
    "not_source",
    "not_service",
    "not_operation",
    "not_actor",
    "not_target",
    "not_application",
    "not_country",
    "not_result",
];

/// The search's own arguments besides the filters.
pub const LIST_PARAMS: [&str; 2] = ["page_size", "cursor"];
/// The figures' own arguments besides the filters.
pub const AGGREGATION_PARAMS: [&str; 2] = ["interval", "top"];
/// The facets' own arguments besides the filters.
pub const FACET_PARAMS: [&str; 2] = ["fields", "top"];

/// `fields` (a comma-separated list of facet names, every facet when absent) and `top` (1 to
/// 100, default 10).
///
/// # Errors
/// The argument at fault.
pub fn facet_spec(p: &Params) -> Result<(Vec<Facet>, u32), ServiceError> {
    let fields = p
        .parsed("fields", |v| {
            v.split(',')
                .map(|name| {
                    Facet::parse(name).ok_or_else(|| {
                        let names: Vec<&str> = Facet::ALL.iter().map(|f| f.name()).collect();
                        format!(
                            "unknown facet {:?}: expected some of {}",
                            name.trim(),
                            names.join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })?
        .unwrap_or_else(|| Facet::ALL.to_vec());
    let top = p
        .parsed("top", |v| match v.parse::<u32>() {
            Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
            _ => Err(format!("expected a whole number from 1 to {MAX_TOP}")),
        })?
        .unwrap_or(10);
    Ok((fields, top))
}

/// The filters followed by `extra`: the names one use case takes.
pub fn with_filters(extra: &[&'static str]) -> Vec<&'static str> {
    FILTER_PARAMS.iter().chain(extra).copied().collect()
}

/// An RFC 3339 time (`2025-03-01T10:15:42Z`, any offset) or a date (`2025-03-01`, midnight UTC).
///
/// # Errors
/// What is expected, in words.
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| "expected an RFC 3339 time such as 2025-03-01T10:15:42Z, or a date".to_owned())
}

/// The search's query: the filters, a cursor and a page size.
///
/// # Errors
/// The argument at fault.
pub fn search_query(p: &Params) -> Result<EventQuery, ServiceError> {
    let mut query = event_filters(p)?;
    query.cursor = p.parsed("cursor", |v| Cursor::decode(v).map_err(|e| e.to_string()))?;
    if let Some(size) = p.page_size()? {
        query = query
            .with_page_size(size)
            .map_err(|e| ServiceError::invalid("page_size", e.to_string()))?;
    }
    Ok(query)
}

/// `interval`: `auto` (default), or a width such as `5m`, `1h`, `1d`, `3600s`.
fn parse_interval(value: &str) -> Result<Option<i64>, String> {
    const EXPECTED: &str = "expected auto, or a whole number of seconds, minutes, hours or days such as 300s, 5m, 1h, 1d";
    if value == "auto" {
        return Ok(None);
    }
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: i64 = digits.parse().map_err(|_| EXPECTED.to_owned())?;
    let unit_seconds: i64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(EXPECTED.to_owned()),
    };
    let seconds = n.checked_mul(unit_seconds).unwrap_or(i64::MAX);
    if !(60..=366 * 86_400).contains(&seconds) {
        return Err("must be from one minute to 366 days".to_owned());
    }
    Ok(Some(seconds))
}

/// The figures' options: the timeline's interval and how many top values.
///
/// # Errors
/// The argument at fault.
pub fn aggregate_spec(p: &Params) -> Result<AggregateSpec, ServiceError> {
    Ok(AggregateSpec {
        interval_seconds: p.parsed("interval", parse_interval)?.flatten(),
        top: p
            .parsed("top", |v| match v.parse::<u32>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
                _ => Err(format!("expected a whole number from 1 to {MAX_TOP}")),
            })?
            .unwrap_or(10),
    })
}

/// A name filter (`service`, `operation`, `actor`, `target`, `source`): part of a name in any
/// case, a whole name in double quotes, or a pattern with `*` (see [`aoc_model::TextMatch`]).
///
/// # Errors
/// A value that matches nothing in particular (`*`, `""`), named.
fn name_filter(p: &Params, name: &'static str) -> Result<Option<String>, ServiceError> {
    match p.text(name)? {
        Some(value) if TextMatch::parse(&value).is_none() => Err(ServiceError::invalid(
            name,
            "expected a name, part of one, \"a whole name\" or a pattern such as Set-*; \
             this value names nothing",
        )),
        other => Ok(other),
    }
}

/// `ip`: an address, or a CIDR block.
fn address(p: &Params) -> Result<(Option<std::net::IpAddr>, Option<IpRange>), ServiceError> {
    Ok(match p.text("ip")? {
        Some(ip) if ip.contains('/') => (
            None,
            Some(IpRange::parse(&ip).ok_or_else(|| {
                ServiceError::invalid(
                    "ip",
                    "expected an address or a CIDR block such as 203.0.113.0/24",
                )
            })?),
        ),
        Some(ip) => (
            Some(parse_client_ip(&ip).ok_or_else(|| {
                ServiceError::invalid("ip", "expected an IPv4 or IPv6 address, or a CIDR block")
            })?),
            None,
        ),
        None => (None, None),
    })
}

/// The filters of [`FILTER_PARAMS`].
///
/// # Errors
/// The argument at fault.
pub fn event_filters(p: &Params) -> Result<EventQuery, ServiceError> {
    let (client_ip, ip_range) = address(p)?;
    let mut query = EventQuery {
        from: p.parsed("from", parse_time)?,
        to: p.parsed("to", parse_time)?,
        tenant: p.text("tenant")?.map(TenantId::new),
        source: name_filter(p, "source")?,
        service: name_filter(p, "service")?,
        operation: name_filter(p, "operation")?,
        actor: name_filter(p, "actor")?,
        target: name_filter(p, "target")?,
        application: name_filter(p, "application")?,
        client_ip,
        ip_range,
        // A country's name finds its code, as records carry it.
        country: p
            .text("country")?
            .map(|c| aoc_model::country_code(&c).map_or(c, str::to_owned)),
        tag: p.parsed("tag", |v| {
            Tag::parse(v)
                .map(|t| t.as_str().to_owned())
                .map_err(|e| e.to_string())
        })?,
        result: p.parsed("result", |v| {
            EventResult::parse(v)
                .ok_or_else(|| "expected success, failure, partial or unknown".to_owned())
        })?,
        order: p
            .parsed("order", |v| match v {
                "newest" => Ok(Order::NewestFirst),
                "oldest" => Ok(Order::OldestFirst),
                _ => Err("expected newest or oldest".to_owned()),
            })?
            .unwrap_or_default(),
        exclude: Exclusions {
            source: name_filter(p, "not_source")?,
            service: name_filter(p, "not_service")?,
            operation: name_filter(p, "not_operation")?,
            actor: name_filter(p, "not_actor")?,
            target: name_filter(p, "not_target")?,
            application: name_filter(p, "not_application")?,
            country: p
                .text("not_country")?
                .map(|c| aoc_model::country_code(&c).map_or(c, str::to_owned)),
            result: p.parsed("not_result", |v| {
                EventResult::parse(v)
                    .ok_or_else(|| "expected success, failure, partial or unknown".to_owned())
            })?,
        },
        ..EventQuery::default()
    };
    if let Some(hours) = p.parsed("hours", |v| match v.parse::<i64>() {
        Ok(h) if (1..=8760).contains(&h) => Ok(h),
        _ => Err("expected a whole number of hours from 1 to 8760".to_owned()),
    })? {
        if query.from.is_some() {
            return Err(ServiceError::invalid(
                "hours",
                "give either hours or from, not both",
            ));
        }
        query.from = Some(relative_now() - chrono::Duration::hours(hours));
    }
    // Last, so that its times narrow whatever range the other arguments gave.
    let typed = p.parsed("q", |v| {
        query_language::parse(v, relative_now()).map_err(|e| e.to_string())
    })?;
    let range = (query.from, query.to);
    if let Some(typed) = typed {
        typed.apply_to(&mut query);
    }
    let range_typed = range != (query.from, query.to);
    query.validate().map_err(|e| match e {
        QueryError::ControlCharacter(name) => ServiceError::invalid(name, e.to_string()),
        // The range may come from the query language's times alone.
        QueryError::EmptyRange if range_typed => {
            ServiceError::invalid("q", "its times leave no time between the start and the end")
        }
        _ => ServiceError::invalid("from", e.to_string()),
    })?;
    Ok(query)
}

/// The "now" relative times (`hours=24`, `last:7d`) count back from: the start of the current
/// minute. A window that starts on a whole minute is the same window for every request made in
/// that minute, so a dashboard's repeated figures can be answered from the query cache; it
/// holds whatever is stored up to the moment of the request, as the window has no end.
fn relative_now() -> chrono::DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::parse_interval;

    #[test]
    fn intervals_read_like_durations() {
        assert_eq!(parse_interval("auto"), Ok(None));
        assert_eq!(parse_interval("5m"), Ok(Some(300)));
        assert_eq!(parse_interval("1h"), Ok(Some(3_600)));
        assert_eq!(parse_interval("2d"), Ok(Some(172_800)));
        assert_eq!(parse_interval("600"), Ok(Some(600)));
        for bad in [
            "",
            "h",
            "1w",
            "-5m",
            "30s",
            "1.5h",
            "9999999999999999999d",
            "999999999999999d",
            "400d",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
