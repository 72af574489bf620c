//! `POST /api/fetch-audit-logs`: one collection run of every configured (tenant, source), now.

use axum::Json;

use aoc_services::Params;
use aoc_services::fetch::{FETCH_PARAMS, FetchReport, fetch_hours};

use crate::auth::UseCases;
use crate::error::ApiError;
use crate::params::RawQuery;

/// Runs every configured source once: from its watermark, or over the last `hours` when given.
///
/// An Admin action (the router's role gate): it calls Microsoft on the server's credentials.
/// The lease per source keeps a run started here from overlapping a scheduled one.
#[utoipa::path(post, path = "/fetch-audit-logs", operation_id = "fetchAuditLogs",
    tag = "Collection",
    summary = "Collect from Microsoft 365 now",
    description = "Runs every configured (tenant, source) once, now, and answers when all have \
        finished: each from its watermark, or over the last `hours`. A run that another AOC \
        process is already doing is `skipped`. A failed run is still a 200: the failure is in \
        the run, and in `GET /api/sources` afterwards. It calls Microsoft with the server's \
        credentials.",
    params(crate::openapi::params::FetchWindow),
    responses(
        (status = 200, description = "What each run did.", body = FetchReport),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 409, description = "No Microsoft 365 tenant is configured on this server \
            (`/problems/collection-not-configured`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, response = crate::openapi::responses::InternalError),
    ),
    security(("entra" = ["AOC.Admin"])),
)]
pub async fn fetch_audit_logs(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<FetchReport>, ApiError> {
    let hours = fetch_hours(&Params::parse(raw.as_deref(), &FETCH_PARAMS)?)?;
    Ok(Json(services.fetch_now(&caller, hours).await?))
}
