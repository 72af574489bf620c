//! `GET /api/events` and `GET /api/events/{id}`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};

use aoc_model::search::SearchText;
use aoc_model::{
    Cursor, EventPage, EventQuery, EventResult, IpRange, Order, QueryError, Tag, TenantId,
    parse_client_ip,
};

use crate::AppState;
use crate::error::ApiError;
use crate::params::{Params, RawQuery};

/// The filters every events route takes (list, aggregations, export).
pub(crate) const FILTER_PARAMS: [&str; 15] = [
    "from",
    "to",
    "hours",
    "tenant",
    "source",
    "service",
    "operation",
    "actor",
    "target",
    "ip",
    "country",
    "result",
    "tag",
    "q",
    "order",
];

const LIST_PARAMS: [&str; 2] = ["page_size", "cursor"];

/// An RFC 3339 time (`2025-03-01T10:15:42Z`, any offset) or a date (`2025-03-01`, midnight UTC).
pub(crate) fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| "expected an RFC 3339 time such as 2025-03-01T10:15:42Z, or a date".to_owned())
}

/// Builds the store query from the query string, naming the parameter at fault. `extra` names
/// the route's own parameters besides the filters (and paging, which only the list takes).
pub fn event_query(raw: Option<&str>) -> Result<EventQuery, ApiError> {
    let allowed: Vec<&str> = FILTER_PARAMS.iter().chain(&LIST_PARAMS).copied().collect();
    let p = Params::parse(raw, &allowed)?;
    let mut query = filters(&p)?;
    query.cursor = p.parsed("cursor", |v| Cursor::decode(v).map_err(|e| e.to_string()))?;
    if let Some(size) = p.parsed("page_size", |v| {
        v.parse::<u32>()
            .map_err(|_| "expected a whole number from 1 to 500".to_owned())
    })? {
        query = query
            .with_page_size(size)
            .map_err(|e| ApiError::invalid("page_size", e.to_string()))?;
    }
    Ok(query)
}

/// The filters of [`FILTER_PARAMS`] from parsed parameters.
pub(crate) fn filters(p: &Params) -> Result<EventQuery, ApiError> {
    let (operation, operation_prefix) = match p.text("operation")? {
        // `Set-*`: every operation that starts with `Set-`.
        Some(op) => match op.strip_suffix('*') {
            Some("") => {
                return Err(ApiError::invalid(
                    "operation",
                    "a prefix needs at least one character before *",
                ));
            }
            Some(prefix) => (None, Some(prefix.to_owned())),
            None => (Some(op), None),
        },
        None => (None, None),
    };
    let (client_ip, ip_range) = match p.text("ip")? {
        Some(ip) if ip.contains('/') => (
            None,
            Some(IpRange::parse(&ip).ok_or_else(|| {
                ApiError::invalid(
                    "ip",
                    "expected an address or a CIDR block such as 203.0.113.0/24",
                )
            })?),
        ),
        Some(ip) => (
            Some(parse_client_ip(&ip).ok_or_else(|| {
                ApiError::invalid("ip", "expected an IPv4 or IPv6 address, or a CIDR block")
            })?),
            None,
        ),
        None => (None, None),
    };
    let mut query = EventQuery {
        from: p.parsed("from", parse_time)?,
        to: p.parsed("to", parse_time)?,
        tenant: p.text("tenant")?.map(TenantId::new),
        source: p.text("source")?,
        service: p.text("service")?,
        operation,
        operation_prefix,
        actor: p.text("actor")?,
        target: p.text("target")?,
        client_ip,
        ip_range,
        country: p.text("country")?,
        tag: p.parsed("tag", |v| {
            Tag::parse(v)
                .map(|t| t.as_str().to_owned())
                .map_err(|e| e.to_string())
        })?,
        result: p.parsed("result", |v| {
            EventResult::parse(v)
                .ok_or_else(|| "expected success, failure, partial or unknown".to_owned())
        })?,
        text: p.parsed("q", |v| SearchText::parse(v).map_err(|e| e.to_string()))?,
        order: p
            .parsed("order", |v| match v {
                "newest" => Ok(Order::NewestFirst),
                "oldest" => Ok(Order::OldestFirst),
                _ => Err("expected newest or oldest".to_owned()),
            })?
            .unwrap_or_default(),
        ..EventQuery::default()
    };
    if let Some(hours) = p.parsed("hours", |v| match v.parse::<i64>() {
        Ok(h) if (1..=8760).contains(&h) => Ok(h),
        _ => Err("expected a whole number of hours from 1 to 8760".to_owned()),
    })? {
        if query.from.is_some() {
            return Err(ApiError::invalid(
                "hours",
                "give either hours or from, not both",
            ));
        }
        query.from = Some(Utc::now() - chrono::Duration::hours(hours));
    }
    query.validate().map_err(|e| match e {
        QueryError::ControlCharacter(name) => ApiError::invalid(name, e.to_string()),
        _ => ApiError::invalid("from", e.to_string()),
    })?;
    Ok(query)
}

#[utoipa::path(
    get,
    path = "/events",
    operation_id = "listEvents",
    tag = "Events",
    summary = "Search audit events",
    description = "One page of the audit events that match the filters, newest first, and the \
        cursor of the next page. Follow `next_cursor` with the same filters to read on: every \
        matching event comes exactly once, even while new events arrive; it is `null` on the \
        last page. An unknown or repeated parameter, or a value that does not parse, is a 400 \
        naming it.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::EventPaging),
    responses(
        (status = 200, description = "A page of events.", body = EventPage),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let query = event_query(raw.as_deref())?;
    Ok(Json(state.store.query_events(&query).await?))
}
