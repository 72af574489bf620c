//! `GET /api/events/export`: every event matching the filters, streamed as CSV, JSON or NDJSON.
//!
//! A task pages through the result with the keyset cursor and hands each encoded page to the
//! response through a channel of two pages, so memory holds a few pages whatever the size, and
//! a client that stops reading stops the task.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use aoc_model::{Cursor, EventQuery, PageSize};

use std::net::SocketAddr;

use aoc_store::{AuditOutcome, NewAuditEntry};
use axum::extract::ConnectInfo;
use axum::http::Extensions;

use crate::AppState;
use crate::audit::{self, AuditDetails, author};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::export::{ExportFormat, ExportWriter};
use crate::params::{Params, RawQuery};
use crate::ratelimit::Expensive;
use crate::routes::events::{FILTER_PARAMS, filters};
use crate::telemetry::RequestId;

/// Events read per store round trip. JSON formats carry each raw record parsed, several times
/// its stored size, so their pages are smaller: two pages (the one encoded and the one read
/// meanwhile) stay within a few tens of MB.
const CSV_PAGE: u32 = 2_000;
const JSON_PAGE: u32 = 400;

/// `aoc-events_20250301T000000Z_20250302T000000Z.csv`; an open start reads `beginning`.
fn file_name(query: &EventQuery, format: ExportFormat, now: DateTime<Utc>) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "aoc-events_{}_{}.{}",
        query.from.map_or_else(|| "beginning".to_owned(), stamp),
        stamp(query.to.unwrap_or(now)),
        format.extension()
    )
}

/// How an export ended, for the audit trail and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub rows: u64,
    /// The row cap stopped it before the end of the result.
    pub capped: bool,
    /// Why it stopped early: a store error, or the client went away.
    pub error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/events/export",
    operation_id = "exportEvents",
    tag = "Events",
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
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 429, response = crate::openapi::responses::TooManyRequests),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    _budget: Expensive,
    extensions: Extensions,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let allowed: Vec<&str> = FILTER_PARAMS.iter().chain(&["format"]).copied().collect();
    let p = Params::parse(raw.as_deref(), &allowed)?;
    let format = p
        .parsed("format", |v| {
            ExportFormat::parse(v).ok_or_else(|| "expected csv, json or ndjson".to_owned())
        })?
        .unwrap_or(ExportFormat::Csv);
    let mut query = filters(&p)?;
    query.page_size = PageSize::bulk(match format {
        ExportFormat::Csv => CSV_PAGE,
        ExportFormat::Json | ExportFormat::Ndjson => JSON_PAGE,
    });
    // CSV has no raw column: not parsing the raw records halves the work of a page.
    query.without_raw = format == ExportFormat::Csv;
    let cap = state.settings.export_max_rows;
    let name = file_name(&query, format, Utc::now());
    // The first page is read before answering, so an unavailable store is a problem+json
    // response rather than a cut-off download.
    let first = state.store.query_events(&query).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let task_state = state.clone();
    let request_id = extensions
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let client_ip = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical().to_string());
    tokio::spawn(async move {
        let outcome = produce(task_state.store.as_ref(), query, first, format, cap, &tx).await;
        if let Some(error) = &outcome.error {
            tracing::warn!(rows = outcome.rows, %error, "export stopped early");
        }
        // The request's own entry says what was asked; this one says what was delivered.
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: author(&principal),
            actor_tenant: Some(principal.tenant_id.clone()),
            client_ip,
            request_id,
            action: "events.export.completed".to_owned(),
            target: None,
            details: serde_json::json!({
                "rows": outcome.rows,
                "capped": outcome.capped,
                "error": outcome.error,
            }),
            outcome: if outcome.error.is_some() {
                AuditOutcome::Failed
            } else {
                AuditOutcome::Success
            },
            status: 200,
        };
        audit::append(&task_state, &entry).await;
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let mut response = body.into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("format", format.extension())
            .with("file", name.clone())
            .with("row_cap", cap),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&cap.to_string()) {
        headers.insert("x-aoc-row-cap", value);
    }
    Ok(response)
}

/// Pages through `query` from its `first` page, sending encoded chunks until the result, the
/// cap, the store or the client ends it.
async fn produce(
    store: &dyn aoc_store::Store,
    query: EventQuery,
    first: aoc_model::EventPage,
    format: ExportFormat,
    cap: u64,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> ExportOutcome {
    let mut writer = ExportWriter::new(format);
    let mut outcome = ExportOutcome {
        rows: 0,
        capped: false,
        error: None,
    };
    let gone = |outcome: &mut ExportOutcome| {
        outcome.error = Some("the client closed the connection".to_owned());
    };
    let start = match writer.start() {
        Ok(start) => start,
        Err(e) => {
            outcome.error = Some(e.to_string());
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
            return outcome;
        }
    };
    if tx.send(Ok(Bytes::from(start))).await.is_err() {
        gone(&mut outcome);
        return outcome;
    }
    let mut page = first;
    loop {
        let room = usize::try_from(cap - writer.rows()).unwrap_or(usize::MAX);
        let truncated = page.items.len() > room;
        page.items.truncate(room);
        let next_query = match page.next_cursor.as_deref().map(Cursor::decode) {
            Some(Ok(cursor)) if writer.rows() + (page.items.len() as u64) < cap => {
                Some(EventQuery {
                    cursor: Some(cursor),
                    ..query.clone()
                })
            }
            _ => None,
        };
        // The next page is read while this one is encoded: the database and the encoder
        // work side by side.
        let fetch = async {
            match &next_query {
                Some(q) => Some(store.query_events(q).await),
                None => None,
            }
        };
        let (next, chunk) = tokio::join!(fetch, async { writer.page(&page.items) });
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                outcome.error = Some(e.to_string());
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                return outcome;
            }
        };
        outcome.rows = writer.rows();
        if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
            gone(&mut outcome);
            return outcome;
        }
        match next {
            Some(Ok(next)) => page = next,
            Some(Err(e)) => {
                outcome.error = Some(e.to_string());
                // An error in the body aborts the response: the client sees a cut-off
                // transfer, never a file that looks complete.
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                return outcome;
            }
            None => {
                outcome.capped = truncated || page.next_cursor.is_some();
                break;
            }
        }
    }
    if tx.send(Ok(Bytes::from(writer.finish()))).await.is_err() {
        gone(&mut outcome);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_names_the_range() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        let query = EventQuery {
            from: Some(t("2025-03-01T00:00:00Z")),
            ..EventQuery::default()
        };
        assert_eq!(
            file_name(&query, ExportFormat::Csv, t("2025-03-02T10:15:42Z")),
            "aoc-events_20250301T000000Z_20250302T101542Z.csv"
        );
        assert_eq!(
            file_name(
                &EventQuery::default(),
                ExportFormat::Ndjson,
                t("2025-03-02T10:15:42Z")
            ),
            "aoc-events_beginning_20250302T101542Z.ndjson"
        );
    }
}
