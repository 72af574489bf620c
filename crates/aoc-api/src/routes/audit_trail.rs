//! `GET /api/audit-trail` (Admin): AOC's own audit trail, newest first. Read-only: no route
//! changes or deletes an entry; only retention removes old ones.

use axum::Json;

use aoc_services::Params;
use aoc_services::audit_trail::{AUDIT_PARAMS, audit_query};
use aoc_store::AuditPage;

use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::Failures;
use crate::params::RawQuery;

#[utoipa::path(get, path = "/audit-trail", operation_id = "getAuditTrail", tag = "Audit trail",
    summary = "Read AOC's own audit trail",
    description = "Who searched, viewed, exported, tagged, commented and started collection, \
        newest first, refusals included, with the request's parameters and outcome. Follow \
        `next_cursor` with the same filters to read on. Entries are never changed or deleted \
        through the API; only retention removes old ones.",
    params(crate::openapi::params::AuditFilters),
    responses((status = 200, description = "A page of entries.", body = AuditPage), Failures),
    security(("entra" = ["AOC.Admin"])),
)]
pub async fn audit_trail(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let query = audit_query(&Params::parse(raw.as_deref(), &AUDIT_PARAMS)?)?;
    Ok(Json(services.read_audit_trail(&caller, &query).await?))
}
