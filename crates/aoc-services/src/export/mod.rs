//! Exporting every event that matches a query, as CSV, a JSON array or NDJSON.
//!
//! A task pages through the result with the keyset cursor and hands each encoded page to the
//! door through a channel of two pages, so memory holds a few pages whatever the size, and a
//! door that stops reading stops the task. When the task ends it records what was delivered
//! in the audit trail (`events.export.completed`).

mod format;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use aoc_model::{Cursor, EventPage, EventQuery, PageSize};
use aoc_store::{AuditOutcome, Store};

pub use format::{CSV_HEADER, ExportError, ExportFormat, ExportWriter, neutralize};

use crate::audit::{AuditTrail, AuditedCall, CallContext, actions};
use crate::caller::{Caller, Role};
use crate::error::ServiceResult;
use crate::params::Params;
use crate::{ServiceError, Services};

/// The export's own argument besides the filters.
pub const EXPORT_PARAMS: [&str; 1] = ["format"];

/// Events read per store round trip. JSON formats carry each raw record parsed, several times
/// its stored size, so their pages are smaller: two pages (the one encoded and the one read
/// meanwhile) stay within a few tens of MB.
const CSV_PAGE: u32 = 2_000;
const JSON_PAGE: u32 = 400;

/// A chunk of the file, or the error that must cut the transfer off.
pub type ExportChunk = Result<Vec<u8>, std::io::Error>;

/// `format`: csv (the default), json or ndjson.
///
/// # Errors
/// Another value, named `format`.
pub fn export_format(p: &Params) -> ServiceResult<ExportFormat> {
    Ok(p.parsed("format", |v| {
        ExportFormat::parse(v).ok_or_else(|| "expected csv, json or ndjson".to_owned())
    })?
    .unwrap_or(ExportFormat::Csv))
}

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

/// An export under way.
pub struct Export {
    /// The file's name: the query's time range and the format's extension.
    pub file_name: String,
    pub format: ExportFormat,
    /// Most rows one export returns on this server.
    pub row_cap: u64,
    /// The file, chunk by chunk; an `Err` means the export stopped early.
    pub chunks: mpsc::Receiver<ExportChunk>,
}

/// How an export ended, for the audit trail and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub rows: u64,
    /// The row cap stopped it before the end of the result.
    pub capped: bool,
    /// Why it stopped early: a store error, or the reader went away.
    pub error: Option<String>,
}

impl Services {
    /// Starts exporting the events that match `query`. The first page is read before this
    /// returns, so an unavailable store is an error rather than a cut-off file.
    ///
    /// # Errors
    /// A caller without the Analyst role; the store's errors on the first page.
    pub async fn export_events(
        &self,
        caller: &Caller,
        context: &CallContext,
        mut query: EventQuery,
        format: ExportFormat,
    ) -> ServiceResult<Export> {
        caller.require(Role::Analyst)?;
        query.page_size = PageSize::bulk(match format {
            ExportFormat::Csv => CSV_PAGE,
            ExportFormat::Json | ExportFormat::Ndjson => JSON_PAGE,
        });
        // CSV has no raw column: not parsing the raw records halves the work of a page.
        query.without_raw = format == ExportFormat::Csv;
        let cap = self.settings.export_max_rows;
        let file_name = file_name(&query, format, Utc::now());
        let first = self.store.query_events(&query).await?;
        let (tx, chunks) = mpsc::channel::<ExportChunk>(2);
        let store = Arc::clone(&self.store);
        let audit = Arc::clone(&self.audit);
        let (caller, context) = (caller.clone(), context.clone());
        tokio::spawn(async move {
            let outcome = produce(store.as_ref(), query, first, format, cap, &tx).await;
            if let Some(error) = &outcome.error {
                tracing::warn!(rows = outcome.rows, %error, "export stopped early");
            }
            completed(&audit, &caller, &context, &outcome).await;
        });
        Ok(Export {
            file_name,
            format,
            row_cap: cap,
            chunks,
        })
    }
}

/// The call's own entry says what was asked; this one says what was delivered.
async fn completed(
    audit: &AuditTrail,
    caller: &Caller,
    context: &CallContext,
    outcome: &ExportOutcome,
) {
    let details = serde_json::json!({
        "rows": outcome.rows,
        "capped": outcome.capped,
        "error": outcome.error,
    });
    let call = AuditedCall {
        action: actions::EVENTS_EXPORT_COMPLETED,
        target: None,
        details: details.as_object().cloned().unwrap_or_default(),
        status: 200,
    };
    let judged = if outcome.error.is_some() {
        AuditOutcome::Failed
    } else {
        AuditOutcome::Success
    };
    audit.record_as(caller, context, call, judged).await;
}

/// Sends an error that cuts the transfer off: the reader sees a cut-off file, never one that
/// looks complete.
async fn abort(tx: &mpsc::Sender<ExportChunk>) {
    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
}

/// Pages through `query` from its `first` page, sending encoded chunks until the result, the
/// cap, the store or the reader ends it.
async fn produce(
    store: &dyn Store,
    query: EventQuery,
    first: EventPage,
    format: ExportFormat,
    cap: u64,
    tx: &mpsc::Sender<ExportChunk>,
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
            abort(tx).await;
            return outcome;
        }
    };
    if tx.send(Ok(start)).await.is_err() {
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
                abort(tx).await;
                return outcome;
            }
        };
        outcome.rows = writer.rows();
        if tx.send(Ok(chunk)).await.is_err() {
            gone(&mut outcome);
            return outcome;
        }
        match next {
            Some(Ok(next)) => page = next,
            Some(Err(e)) => {
                outcome.error = Some(e.to_string());
                abort(tx).await;
                return outcome;
            }
            None => {
                outcome.capped = truncated || page.next_cursor.is_some();
                break;
            }
        }
    }
    if tx.send(Ok(writer.finish())).await.is_err() {
        gone(&mut outcome);
    }
    outcome
}

impl From<ExportError> for ServiceError {
    fn from(e: ExportError) -> Self {
        Self::Internal(e.to_string())
    }
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
