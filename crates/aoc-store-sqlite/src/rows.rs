//! Reading rows back into events.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use aoc_model::{Event, EventId};
use aoc_store::{StoreError, StoreResult, StoredRow, decode_event_with};

pub fn micros(ts: DateTime<Utc>) -> i64 {
    ts.timestamp_micros()
}

pub fn from_micros(value: i64, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

pub fn decode_row(row: &SqliteRow) -> StoreResult<Event> {
    decode_row_with(row, true)
}

/// See [`aoc_store::decode_event_with`].
pub fn decode_row_with(row: &SqliteRow, with_raw: bool) -> StoreResult<Event> {
    let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let id: Vec<u8> = row.try_get("id").map_err(get_err)?;
    let id: [u8; 16] = id
        .try_into()
        .map_err(|_| StoreError::Corrupt("event id is not 16 bytes".into()))?;
    decode_event_with(
        StoredRow {
            seq: row.try_get("seq").map_err(get_err)?,
            id: EventId::from_bytes(id),
            tenant_id: row.try_get("tenant_id").map_err(get_err)?,
            dedupe_key: row.try_get("dedupe_key").map_err(get_err)?,
            source: row.try_get("source").map_err(get_err)?,
            service: row.try_get("service").map_err(get_err)?,
            timestamp: from_micros(row.try_get("timestamp").map_err(get_err)?, "timestamp")?,
            ingested_at: from_micros(row.try_get("ingested_at").map_err(get_err)?, "ingested_at")?,
            operation: row.try_get("operation").map_err(get_err)?,
            result: row.try_get("result").map_err(get_err)?,
            client_ip: row.try_get("client_ip").map_err(get_err)?,
            summary: row.try_get("summary").map_err(get_err)?,
            payload: row.try_get("payload").map_err(get_err)?,
        },
        with_raw,
    )
}
