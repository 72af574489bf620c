//! `GET /api/events/export`: every event matching the filters, streamed as CSV, JSON or
//! NDJSON (see [`aoc_services::export`]).

use axum::body::{Body, Bytes};
use axum::http::{Extensions, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use aoc_services::export::{EXPORT_PARAMS, export_format};
use aoc_services::filters::{event_filters, with_filters};
use aoc_services::{AuditDetails, Params};

use crate::audit::call_context;
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::LimitedFailures;
use crate::params::RawQuery;
use crate::ratelimit::Expensive;

#[utoipa::path(get, path = "/events/export", operation_id = "exportEvents", tag = "Events",
    summary = "Download matching events as a file",
    description = "Every event that matches the filters (the same filters as the search), oldest \
        and newest as `order` says, as a file to download: CSV (default; UTF-8 with a byte-order \
        mark, one row per event, cells a spreadsheet would run as a formula prefixed with `'`), \
        a JSON array of events, or NDJSON (one event per line). The file is streamed, so an \
        export of any size starts at once; it stops at the server's row cap \
        (`X-AOC-Row-Cap`). If the database fails half-way the transfer is cut off, so a partial \
        file never looks complete. Each export is recorded in AOC's audit trail.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::ExportOptions),
    responses(
        (status = 200, description = "The file, as an attachment. `format=csv` (`text/csv`): \
            the header row `timestamp,id,tenant_id,source,service,operation,category,result,\
            result_reason,actor,actor_name,client_ip,country,user_agent,targets,summary`, then one \
            row per event. `format=json` (`application/json`): one array of events. \
            `format=ndjson` (`application/x-ndjson`): one event (an `Event` object) per line.",
            content(
                (String = "text/csv"),
                (Vec<aoc_model::Event> = "application/json"),
                (String = "application/x-ndjson"),
            ),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"aoc-events_{from}_{to}.{csv|json|ndjson}\"`"),
                ("X-AOC-Row-Cap" = u64, description = "Most rows one export returns on this server."),
            ),
        ),
        LimitedFailures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn export(
    UseCases { services, caller }: UseCases,
    _budget: Expensive,
    extensions: Extensions,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), &with_filters(&EXPORT_PARAMS))?;
    let format = export_format(&p)?;
    let query = event_filters(&p)?;
    let export = services
        .export_events(&caller, &call_context(&extensions), query, format)
        .await?;
    // An error in the body aborts the response: the client sees a cut-off transfer, never a
    // file that looks complete.
    // Fused: a compressing layer may poll once more after the end.
    let body = Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        export.chunks,
        |mut chunks| async move { chunks.recv().await.map(|c| (c.map(Bytes::from), chunks)) },
    )));
    let mut response = body.into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("format", format.extension())
            .with("file", export.file_name.clone())
            .with("row_cap", export.row_cap),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!("attachment; filename=\"{}\"", export.file_name);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&export.row_cap.to_string()) {
        headers.insert("x-aoc-row-cap", value);
    }
    Ok(response)
}
