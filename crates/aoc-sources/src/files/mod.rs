//! Audit records from files: NDJSON, a JSON array, a Graph page (`{"value": [...]}`) and a
//! Purview audit-search CSV export. Every reader streams: a 2 GB file is never held in memory.
//!
//! Readers are blocking (files are read on a blocking thread) and push each record, with its
//! position in the file, to a callback that may stop the read.

mod csv;
mod json;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use aoc_normalize::PurviewRow;
use serde_json::Value;

/// The formats `aoc import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One JSON record per line.
    Ndjson,
    /// A JSON array of records.
    JsonArray,
    /// A Microsoft Graph page: `{"value": [...], "@odata.nextLink": ...}`. A single JSON object
    /// without `value` is read as one record.
    GraphPage,
    /// A Purview audit-search export (current 8-column or legacy layouts).
    PurviewCsv,
}

impl FileFormat {
    pub const NAMES: [&str; 4] = ["ndjson", "json", "graph", "csv"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "json" => Some(Self::JsonArray),
            "graph" => Some(Self::GraphPage),
            "csv" | "purview" => Some(Self::PurviewCsv),
            _ => None,
        }
    }
}

/// Where a record sits in its file, for reports of unreadable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Line(u64),
    Record(u64),
    Row(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Record(n) => write!(f, "record {n}"),
            Self::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// A record as read, before normalization.
#[derive(Debug)]
pub enum RawRecord {
    Json(Value),
    Purview(PurviewRow),
}

/// One item of a file: a record, or why the record at that position could not be read.
#[derive(Debug)]
pub struct Item {
    pub position: Position,
    pub record: Result<RawRecord, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path} is not a format AOC reads: {reason}")]
    Format { path: String, reason: String },
}

/// Counts the bytes read, for progress bars.
pub struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Guesses the format from the name and the first bytes.
pub fn detect_format(path: &Path) -> Result<FileFormat, FileError> {
    let io_err = |source| FileError::Io {
        path: path.display().to_string(),
        source,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return Ok(FileFormat::PurviewCsv);
    }
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut first_line = String::new();
    // Skip a BOM and blank lines; read at most one line (capped) to decide.
    loop {
        first_line.clear();
        let n = (&mut reader)
            .take(1 << 20)
            .read_line(&mut first_line)
            .map_err(io_err)?;
        if n == 0 {
            return Err(FileError::Format {
                path: path.display().to_string(),
                reason: "the file is empty".into(),
            });
        }
        if !first_line.trim_start_matches('\u{feff}').trim().is_empty() {
            break;
        }
    }
    let line = first_line.trim_start_matches('\u{feff}').trim();
    Ok(match line.as_bytes().first() {
        Some(b'[') => FileFormat::JsonArray,
        Some(b'{') => match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) if map.get("value").is_some_and(Value::is_array) => {
                FileFormat::GraphPage
            }
            Ok(_) => FileFormat::Ndjson,
            // An object spread over several lines: a page or one pretty-printed record.
            Err(_) => FileFormat::GraphPage,
        },
        _ if line.contains(',') && line.to_ascii_lowercase().contains("auditdata") => {
            FileFormat::PurviewCsv
        }
        _ => {
            return Err(FileError::Format {
                path: path.display().to_string(),
                reason: "expected NDJSON, a JSON array, a Graph page or a Purview CSV export (use --format)".into(),
            });
        }
    })
}

/// Reads `path` as `format`, calling `each` per record until the file ends or `each` breaks.
/// `bytes_read` follows the progress.
pub fn read_file(
    path: &Path,
    format: FileFormat,
    bytes_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    each: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let io_err = |source| FileError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            count: bytes_read,
        },
    );
    match format {
        FileFormat::Ndjson => json::read_ndjson(reader, each).map_err(io_err),
        FileFormat::JsonArray | FileFormat::GraphPage => {
            json::read_json(reader, each);
            Ok(())
        }
        FileFormat::PurviewCsv => {
            csv::read_purview_csv(reader, each).map_err(|reason| FileError::Format {
                path: path.display().to_string(),
                reason,
            })
        }
    }
}

#[cfg(test)]
mod tests;
