//! `GET /api/events/aggregations`: dashboard figures over the events filters.

use axum::Json;
use axum::extract::State;

use aoc_model::aggregate::MAX_TOP;
use aoc_model::{AggregateSpec, EventAggregates};

use crate::AppState;
use crate::error::ApiError;
use crate::params::{Params, RawQuery};
use crate::ratelimit::Expensive;
use crate::routes::events::{FILTER_PARAMS, filters};

const OWN_PARAMS: [&str; 2] = ["interval", "top"];

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

#[utoipa::path(
    get,
    path = "/events/aggregations",
    operation_id = "aggregateEvents",
    tag = "Events",
    summary = "Count events for a dashboard",
    description = "Figures over the events that match the filters (the same filters as the \
        search): how many, how many failed, a timeline of counts per interval, and the most \
        frequent operations, actors and client addresses.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::AggregationOptions),
    responses(
        (status = 200, description = "The figures.", body = EventAggregates),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 429, response = crate::openapi::responses::TooManyRequests),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn aggregations(
    State(state): State<AppState>,
    _budget: Expensive,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventAggregates>, ApiError> {
    let allowed: Vec<&str> = FILTER_PARAMS.iter().chain(&OWN_PARAMS).copied().collect();
    let p = Params::parse(raw.as_deref(), &allowed)?;
    let query = filters(&p)?;
    let spec = AggregateSpec {
        interval_seconds: p.parsed("interval", parse_interval)?.flatten(),
        top: p
            .parsed("top", |v| match v.parse::<u32>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
                _ => Err(format!("expected a whole number from 1 to {MAX_TOP}")),
            })?
            .unwrap_or(10),
    };
    Ok(Json(state.store.aggregate_events(&query, &spec).await?))
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
