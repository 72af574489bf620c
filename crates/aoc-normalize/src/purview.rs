//! Rows of a Purview audit-search CSV export (purview-export.md §1).
//!
//! The `AuditData` column is the complete unified audit record, so a row normalizes exactly like
//! the same record from the Management Activity API (same `o365:{Id}` key, same event id). The
//! other columns only fill what `AuditData` lacks.

use aoc_model::Event;
use chrono::SecondsFormat;
use serde_json::{Map, Value};

use crate::fields::{field, parse_time};
use crate::{Context, NormalizeError, RecordKind, normalize_as};

/// One row of a Purview audit-search CSV export, current 8-column layout
/// (`RecordId,CreationDate,RecordType,Operation,UserId,AuditData,…`) or legacy 4-column layout
/// (`CreationDate,UserIds,Operations,AuditData`: map `UserIds` to `user_id`, `Operations` to
/// `operation`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurviewRow {
    pub record_id: Option<String>,
    /// `3/1/2025 10:58:33 AM` (US, UTC) or ISO 8601.
    pub creation_date: Option<String>,
    /// A `RecordType` number (`8`) or name (`AzureActiveDirectory`).
    pub record_type: Option<String>,
    pub operation: Option<String>,
    pub user_id: Option<String>,
    /// The `AuditData` column, parsed; JSON text is accepted too and parsed here.
    pub audit_data: Value,
}

/// Normalizes one export row. `raw` is the `AuditData` record. When `AuditData` is not a JSON
/// object (empty, cut short by a spreadsheet), the row is still kept: `raw` is then an object of
/// the row's columns (`RecordId`, `CreationDate`, `RecordType`, `Operation`, `UserId`, and
/// `AuditData` as found).
///
/// # Errors
/// [`NormalizeError::NotAnObject`] when `AuditData` is no object and the row has no columns
/// either; [`NormalizeError::MissingTimestamp`] when neither `CreationTime` nor `CreationDate`
/// gives a time.
pub fn normalize_purview_row(row: PurviewRow, ctx: &Context) -> Result<Event, NormalizeError> {
    let PurviewRow {
        record_id,
        creation_date,
        record_type,
        operation,
        user_id,
        audit_data,
    } = row;
    let non_blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let (record_id, creation_date, record_type, operation, user_id) = (
        non_blank(record_id),
        non_blank(creation_date),
        non_blank(record_type),
        non_blank(operation),
        non_blank(user_id),
    );

    let audit_data = match audit_data {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ Value::Object(_)) => parsed,
            _ => Value::String(text),
        },
        other => other,
    };
    let raw = if audit_data.is_object() {
        audit_data
    } else {
        let columns = [
            ("RecordId", &record_id),
            ("CreationDate", &creation_date),
            ("RecordType", &record_type),
            ("Operation", &operation),
            ("UserId", &user_id),
        ];
        if columns.iter().all(|(_, v)| v.is_none()) {
            return Err(NormalizeError::NotAnObject);
        }
        let mut object = Map::new();
        for (name, value) in columns {
            if let Some(value) = value {
                object.insert(name.to_string(), Value::String(value.clone()));
            }
        }
        object.insert("AuditData".to_string(), audit_data);
        Value::Object(object)
    };

    let mut fills: Vec<(&str, Value)> = Vec::new();
    if field(&raw, "Id").is_none()
        && let Some(id) = record_id
    {
        fills.push(("Id", Value::String(id)));
    }
    if field(&raw, "CreationTime").and_then(parse_time).is_none()
        && let Some(time) = creation_date
            .as_ref()
            .and_then(|d| parse_time(&Value::String(d.clone())))
    {
        let iso = time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        fills.push(("CreationTime", Value::String(iso)));
    }
    if field(&raw, "RecordType").is_none()
        && let Some(record_type) = record_type
    {
        let value = record_type
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::String(record_type.clone()), Value::from);
        fills.push(("RecordType", value));
    }
    if field(&raw, "Operation").is_none()
        && let Some(operation) = operation
    {
        fills.push(("Operation", Value::String(operation)));
    }
    if field(&raw, "UserId").is_none()
        && let Some(user_id) = user_id
    {
        fills.push(("UserId", Value::String(user_id)));
    }

    if fills.is_empty() {
        return normalize_as(RecordKind::UnifiedAudit, raw, ctx);
    }
    let mut view = raw.clone();
    if let Value::Object(object) = &mut view {
        for (name, value) in fills {
            object.insert(name.to_string(), value);
        }
    }
    let mut event = normalize_as(RecordKind::UnifiedAudit, view, ctx)?;
    event.raw = raw;
    Ok(event)
}
