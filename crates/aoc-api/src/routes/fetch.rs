//! `POST /api/fetch-audit-logs`: one collection run of every configured (tenant, source), now.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use aoc_sources::m365::{NoProgress, RunRequest, RunStatus, SourceRun};

use crate::AppState;
use crate::error::ApiError;
use crate::params::{Params, RawQuery};

const FETCH_PARAMS: [&str; 1] = ["hours"];
/// Longest look-back of a manual run: a week, the Management API's own limit.
const MAX_HOURS: u32 = 168;

#[derive(Serialize, utoipa::ToSchema)]
pub struct FetchReport {
    runs: Vec<SourceRun>,
    /// Records the sources returned, repeats included.
    fetched: u64,
    /// Records stored for the first time.
    new: u64,
    /// Runs that failed.
    failed: usize,
}

fn parse_hours(value: &str) -> Result<u32, String> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .filter(|h| (1..=MAX_HOURS).contains(h))
        .ok_or_else(|| format!("expected a whole number of hours from 1 to {MAX_HOURS}"))
}

/// Runs every configured source once: from its watermark, or over the last `hours` when given.
///
/// An Admin action (the router's role gate): it calls Microsoft on the server's credentials.
/// The lease per source keeps a run started here from overlapping a scheduled one.
#[utoipa::path(
    post,
    path = "/fetch-audit-logs",
    operation_id = "fetchAuditLogs",
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
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<FetchReport>, ApiError> {
    let params = Params::parse(raw.as_deref(), &FETCH_PARAMS)?;
    let hours = params.parsed("hours", parse_hours)?;
    let Some(collection) = state.collection.as_ref().map(Arc::clone) else {
        return Err(ApiError::CollectionNotConfigured);
    };
    let request = RunRequest {
        hours,
        ..RunRequest::default()
    };
    // Its own task, so a caller who gives up waiting does not cut the run off half-way: it
    // finishes, records its outcome and releases its leases.
    let runs = tokio::spawn(async move { collection.run(&request, &NoProgress).await })
        .await
        .map_err(|e| ApiError::Internal(format!("the collection run stopped: {e}")))?;
    Ok(Json(FetchReport {
        fetched: runs.iter().map(|r| r.fetched).sum(),
        new: runs.iter().map(|r| r.new).sum(),
        failed: runs
            .iter()
            .filter(|r| r.status == RunStatus::Failed)
            .count(),
        runs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_whole_numbers_from_1_to_168() {
        assert_eq!(parse_hours("1"), Ok(1));
        assert_eq!(parse_hours("168"), Ok(168));
        for bad in [
            "0",
            "169",
            "abc",
            "1.5",
            "",
            "+5",
            "-1",
            " 5",
            "99999999999",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad:?}");
        }
    }
}
