//! `GET /api/audit-trail` (Admin): AOC's own audit trail, newest first. Read-only: no route
//! changes or deletes an entry; only retention removes old ones.

use axum::Json;
use axum::extract::State;

use aoc_store::{AuditCursor, AuditOutcome, AuditPage, AuditQuery};

use crate::AppState;
use crate::error::ApiError;
use crate::params::{Params, RawQuery};
use crate::routes::events::parse_time;

const PARAMS: [&str; 7] = [
    "from",
    "to",
    "actor",
    "action",
    "outcome",
    "cursor",
    "page_size",
];

#[utoipa::path(
    get,
    path = "/audit-trail",
    operation_id = "getAuditTrail",
    tag = "Audit trail",
    summary = "Read AOC's own audit trail",
    description = "Who searched, viewed, exported, tagged, commented and started collection, \
        newest first, refusals included, with the request's parameters and outcome. Follow \
        `next_cursor` with the same filters to read on. Entries are never changed or deleted \
        through the API; only retention removes old ones.",
    params(crate::openapi::params::AuditFilters),
    responses(
        (status = 200, description = "A page of entries.", body = AuditPage),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Admin"])),
)]
pub async fn audit_trail(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let p = Params::parse(raw.as_deref(), &PARAMS)?;
    let mut query = AuditQuery {
        from: p.parsed("from", parse_time)?,
        to: p.parsed("to", parse_time)?,
        actor: p.text("actor")?,
        action: p.text("action")?,
        outcome: p.parsed("outcome", |v| {
            AuditOutcome::parse(v).ok_or_else(|| "expected success, denied or failed".to_owned())
        })?,
        cursor: p.parsed("cursor", |v| {
            AuditCursor::decode(v).map_err(|e| e.to_string())
        })?,
        ..AuditQuery::default()
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(ApiError::invalid("from", "from must be before to"));
    }
    if let Some(size) = p.parsed("page_size", |v| {
        v.parse::<u32>()
            .map_err(|_| "expected a whole number from 1 to 500".to_owned())
    })? {
        query = query
            .with_page_size(size)
            .map_err(|e| ApiError::invalid("page_size", e.to_string()))?;
    }
    Ok(Json(state.store.query_audit(&query).await?))
}
