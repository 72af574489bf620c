//! `GET /api/sources` and `GET /api/sources/coverage`: where each (tenant, source) stands, and
//! how complete collection was hour by hour.

use axum::Json;
use chrono::Utc;

use aoc_services::Params;
use aoc_services::params::no_params;
use aoc_services::sources::{COVERAGE_PARAMS, CoveragePage, SourcesPage, coverage_query};

use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::Failures;
use crate::params::RawQuery;

#[utoipa::path(get, path = "/sources", operation_id = "listSources", tag = "Collection",
    summary = "Where each collection source stands",
    description = "One entry per (tenant, source) that is configured or has run, ordered by \
        tenant id, then source: its status, how far it has collected (`watermark`) and how far \
        behind that is, the last attempt, success and error (with Microsoft's error code), and \
        what the last run fetched. Takes no parameters.",
    responses((status = 200, description = "The sources.", body = SourcesPage), Failures),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<SourcesPage>, ApiError> {
    no_params(raw.as_deref())?;
    Ok(Json(services.list_sources(&caller).await?))
}

#[utoipa::path(get, path = "/sources/coverage", operation_id = "getCoverage", tag = "Collection",
    summary = "How complete collection was, hour by hour",
    description = "Per (tenant, source, hour): records the source returned and AOC stored, \
        and (Office 365 Management Activity API sources) content blobs listed, fetched, or gone \
        before AOC could fetch them, with how late records became available and were stored. \
        Record figures count by the hour of the event's time, content figures by the hour the \
        blob became available. Only hours with figures are listed.",
    params(crate::openapi::params::CoverageFilters),
    responses(
        (status = 200, description = "The hours and their totals.", body = CoveragePage),
        Failures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn coverage(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<CoveragePage>, ApiError> {
    let params = Params::parse(raw.as_deref(), &COVERAGE_PARAMS)?;
    let query = coverage_query(&params, Utc::now())?;
    Ok(Json(services.coverage(&caller, &query).await?))
}
