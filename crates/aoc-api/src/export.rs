//! Export formats: events as CSV, a JSON array or NDJSON, written a page at a time so an
//! export of any size holds one page in memory.

use aoc_model::Event;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl ExportWriter {
    pub fn new(format: ExportFormat) -> Self {
        Self { format, rows: 0 }
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// What comes before the first row.
    pub fn start(&self) -> Vec<u8> {
        match self.format {
            // A byte-order mark, so Excel reads UTF-8, then the header.
            ExportFormat::Csv => {
                let mut out = "\u{feff}".as_bytes().to_vec();
                out.extend(Self::csv_line(CSV_HEADER.iter().copied()));
                out
            }
            ExportFormat::Json => b"[".to_vec(),
            ExportFormat::Ndjson => Vec::new(),
        }
    }

    fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail; a failure would only drop this line.
        let _ = writer.write_record(cells.into_iter().map(neutralize).collect::<Vec<_>>());
        writer.into_inner().unwrap_or_default()
    }

    /// The rows of one page.
    pub fn page(&mut self, events: &[Event]) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::with_capacity(events.len() * 1024);
        for event in events {
            match self.format {
                ExportFormat::Csv => {
                    let record = csv_record(event);
                    out.extend(Self::csv_line(record.iter().map(String::as_str)));
                }
                ExportFormat::Json => {
                    if self.rows > 0 {
                        out.push(b',');
                    }
                    out.push(b'\n');
                    write_json(&mut out, event)?;
                }
                ExportFormat::Ndjson => {
                    write_json(&mut out, event)?;
                    out.push(b'\n');
                }
            }
            self.rows += 1;
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

fn write_json(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
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
}
