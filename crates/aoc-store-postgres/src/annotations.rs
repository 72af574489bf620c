//! No foreign key can point at the partitioned events table, so deleting events deletes their
//! tags and comments in the same transaction (see `remove_events`, retention and
//! `partitions::drop_before`). An annotation is only added while its event row is locked (see
//! `aoc_store::sql`), so a delete either sees it or makes it wait.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use uuid::Uuid;

use aoc_store::StoreResult;

use crate::map_err;

/// The tables that hold annotations, each keyed by `event_id` and `event_time`.
const ANNOTATION_TABLES: [&str; 2] = ["event_tags", "event_comments"];

/// Deletes the tags and comments of the events `ids`, inside `tx`. Call after deleting the
/// events in the same transaction, so an annotation added meanwhile is seen here.
pub(crate) async fn delete_annotations_of(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_id = ANY($1)"
        )))
        .bind(ids)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

/// Retention: deletes the tags and comments of events in `[from, to)` (all before `to` when
/// `from` is `None`) whose event is gone, inside `tx`, after the events themselves (imported
/// events stay for their time, see `aoc_store::IMPORT_SOURCE`).
pub(crate) async fn delete_annotations_between(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_time < $2 AND ($1::timestamptz IS NULL OR event_time >= $1) \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = {table}.event_id)"
        )))
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}
