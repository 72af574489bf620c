//! Export formats: events as CSV, a JSON array or NDJSON, written a page at a time so an
//! export of any size holds one page in memory.

use aoc_model::Event;

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "lowercase"))]
pub enum ExportFormat {
    Csv,
    Json,
    Ndjson,
}

impl ExportFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "ndjson" => Some(Self::Ndjson),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 16] = [
    "timestamp",
    "id",
    "tenant_id",
    "source",
    "service",
    "operation",
    "category",
    "result",
    "result_reason",
    "actor",
    "actor_name",
    "client_ip",
    "country",
    "user_agent",
    "targets",
    "summary",
];

/// A spreadsheet reads a cell that starts with one of these as a formula (CSV injection): such
/// cells get a leading apostrophe, which spreadsheets show as text and do not evaluate.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn csv_record(event: &Event) -> [String; 16] {
    let targets: Vec<&str> = event
        .targets
        .iter()
        .filter_map(|t| t.name.as_deref().or(t.id.as_deref()))
        .collect();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        event
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        event.id.to_string(),
        event.tenant_id.as_str().to_owned(),
        event.source.clone(),
        event.service.clone(),
        event.operation.clone(),
        text(&event.category),
        event.result.as_str().to_owned(),
        text(&event.result_reason),
        event
            .actor
            .upn
            .clone()
            .or_else(|| event.actor.id.clone())
            .unwrap_or_default(),
        text(&event.actor.display_name),
        event.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        event
            .location
            .as_ref()
            .and_then(|l| l.country.clone())
            .unwrap_or_default(),
        text(&event.user_agent),
        targets.join("; "),
        event.summary.clone(),
    ]
}

/// Writes one export as successive chunks of bytes.
pub struct ExportWriter {
    format: ExportFormat,
    rows: u64,
    /// CSV rows are written here, and the bytes taken out after each page.
    csv: csv::Writer<Vec<u8>>,
}

impl ExportWriter {
    pub fn new(format: ExportFormat) -> Self {
        Self {
            format,
            rows: 0,
            csv: Self::csv_writer(),
        }
    }

    fn csv_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<(), ExportError> {
        for cell in cells {
            self.csv.write_field(neutralize(cell).as_bytes())?;
        }
        self.csv.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn csv_writer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new())
    }

    /// The CSV bytes written so far; a fresh writer takes the next page.
    fn take_csv(&mut self) -> Result<Vec<u8>, ExportError> {
        let full = std::mem::replace(&mut self.csv, Self::csv_writer());
        full.into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// What comes before the first row.
    pub fn start(&mut self) -> Result<Vec<u8>, ExportError> {
        Ok(match self.format {
            // A byte-order mark, so spreadsheets read UTF-8, then the header.
            ExportFormat::Csv => {
                let mut out = "\u{feff}".as_bytes().to_vec();
                self.csv_row(CSV_HEADER)?;
                out.extend(self.take_csv()?);
                out
            }
            ExportFormat::Json => b"[".to_vec(),
            ExportFormat::Ndjson => Vec::new(),
        })
    }

    /// The rows of one page.
    pub fn page(&mut self, events: &[Event]) -> Result<Vec<u8>, ExportError> {
        let mut out = Vec::with_capacity(events.len() * 1024);
        for event in events {
            match self.format {
                ExportFormat::Csv => {
                    let record = csv_record(event);
                    self.csv_row(record.iter().map(String::as_str))?;
                }
                ExportFormat::Json => {
                    if self.rows > 0 {
                        out.push(b',');
                    }
                    out.push(b'\n');
                    serde_json::to_writer(&mut out, event)?;
                }
                ExportFormat::Ndjson => {
                    serde_json::to_writer(&mut out, event)?;
                    out.push(b'\n');
                }
            }
            self.rows += 1;
        }
        if self.format == ExportFormat::Csv {
            out = self.take_csv()?;
        }
        Ok(out)
    }

    /// What comes after the last row.
    pub fn finish(&self) -> Vec<u8> {
        match self.format {
            ExportFormat::Json => b"\n]\n".to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Encoding a row failed (not expected for events, which always serialize).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_become_text() {
        for (cell, want) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("alice@contoso.com", "alice@contoso.com"),
            ("New-InboxRule", "New-InboxRule"),
            ("", ""),
        ] {
            assert_eq!(neutralize(cell), want);
        }
    }

    #[test]
    fn a_csv_export_is_one_header_and_one_line_per_event() {
        let mut event: Event = serde_json::from_value(serde_json::json!({
            "id": "0195d1c4-6c2e-7cc1-8f7d-4f1c8b0c3a11",
            "dedupe_key": "k",
            "tenant_id": "t",
            "source": "import",
            "service": "Exchange",
            "timestamp": "2025-03-01T10:15:42Z",
            "operation": "New-InboxRule",
            "result": "success",
            "actor": {"kind": "user", "upn": "=cmd|' /C calc'!A0"},
            "summary": "line one\nline \"two\", with comma",
            "targets": [],
            "details": {},
            "changes": {},
            "raw": {}
        }))
        .expect("event");
        event.category = Some("@risky".into());
        let mut writer = ExportWriter::new(ExportFormat::Csv);
        let mut out = writer.start().expect("start");
        out.extend(writer.page(&[event.clone(), event]).expect("page"));
        out.extend(writer.finish());
        let text = String::from_utf8(out).expect("utf-8");
        let text = text.strip_prefix('\u{feff}').expect("bom");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().expect("header").len(), CSV_HEADER.len());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][9], "'=cmd|' /C calc'!A0");
        assert_eq!(&rows[0][15], "line one\nline \"two\", with comma");
        assert_eq!(writer.rows(), 2);
    }
}
