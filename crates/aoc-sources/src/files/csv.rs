//! Purview audit-search CSV exports: the current 8-column layout, the legacy 4-column one and
//! `Search-UnifiedAuditLog | Export-Csv` output (with its `#TYPE` line).

use std::io::BufRead;
use std::ops::ControlFlow;

use aoc_normalize::PurviewRow;

use super::{Item, Position, RawRecord};

struct Columns {
    record_id: Option<usize>,
    creation_date: Option<usize>,
    record_type: Option<usize>,
    operation: Option<usize>,
    user_id: Option<usize>,
    audit_data: usize,
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Result<Self, String> {
        let find = |names: &[&str]| {
            header.iter().position(|h| {
                let h = h.trim().trim_start_matches('\u{feff}');
                names.iter().any(|n| h.eq_ignore_ascii_case(n))
            })
        };
        Ok(Self {
            record_id: find(&["RecordId", "Identity", "id"]),
            creation_date: find(&["CreationDate", "createdDateTime"]),
            record_type: find(&["RecordType", "auditLogRecordType"]),
            operation: find(&["Operation", "Operations"]),
            user_id: find(&["UserId", "UserIds", "userPrincipalName"]),
            audit_data: find(&["AuditData"]).ok_or_else(|| {
                "the CSV has no AuditData column; AOC reads Purview audit exports".to_owned()
            })?,
        })
    }
}

pub fn read_purview_csv(
    mut reader: impl BufRead,
    each: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> Result<(), String> {
    // PowerShell's Export-Csv writes a `#TYPE …` line before the header unless told not to.
    let starts_with_type = reader
        .fill_buf()
        .map(|b| {
            b.strip_prefix("\u{feff}".as_bytes())
                .unwrap_or(b)
                .starts_with(b"#TYPE")
        })
        .unwrap_or(false);
    if starts_with_type {
        let mut skipped = Vec::new();
        reader
            .read_until(b'\n', &mut skipped)
            .map_err(|e| e.to_string())?;
    }
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .clone();
    let columns = Columns::from_header(&header)?;
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    loop {
        row += 1;
        let position = Position::Row(row);
        let item = match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => Item {
                position,
                record: parse_row(&record, &columns),
            },
            // A broken row (bad UTF-8, unbalanced quote) is reported; the reader resynchronizes.
            Err(e) if !e.is_io_error() => Item {
                position,
                record: Err(format!("not a CSV row: {e}")),
            },
            Err(e) => return Err(e.to_string()),
        };
        if each(item).is_break() {
            return Ok(());
        }
    }
}

fn parse_row(record: &csv::StringRecord, columns: &Columns) -> Result<RawRecord, String> {
    let cell = |i: Option<usize>| {
        i.and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let audit_data = record.get(columns.audit_data).unwrap_or_default();
    let audit_data =
        serde_json::from_str(audit_data).map_err(|e| format!("AuditData is not JSON: {e}"))?;
    Ok(RawRecord::Purview(PurviewRow {
        record_id: cell(columns.record_id),
        creation_date: cell(columns.creation_date),
        record_type: cell(columns.record_type),
        operation: cell(columns.operation),
        user_id: cell(columns.user_id),
        audit_data,
    }))
}
