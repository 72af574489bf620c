//! Tags and comments go with their events: deleting events deletes theirs in the same
//! transaction. (Adding and reading them is shared, see `aoc_store::sql`.)

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use aoc_store::StoreResult;
use aoc_store::sql::micros;

use crate::map_err;

/// Event ids per `DELETE … IN (…)` statement.
const IDS_PER_DELETE: usize = 1_000;

/// The tables that hold annotations, each keyed by `event_id` and `event_time`.
const ANNOTATION_TABLES: [&str; 2] = ["event_tags", "event_comments"];

/// Deletes the tags and comments of the events `ids` (16-byte ids), inside `tx`.
pub(crate) async fn delete_annotations_of(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    ids: &[Vec<u8>],
) -> StoreResult<()> {
    for chunk in ids.chunks(IDS_PER_DELETE) {
        for table in ANNOTATION_TABLES {
            let mut q =
                QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE event_id IN ("));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_slice());
            }
            q.push(")");
            q.build().execute(&mut **tx).await.map_err(map_err)?;
        }
    }
    Ok(())
}

/// Retention: deletes the tags and comments of events before `cutoff` that are gone (imported
/// events stay for their time, see `aoc_store::IMPORT_SOURCE`), inside `tx`.
pub(crate) async fn delete_annotations_before(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    cutoff: DateTime<Utc>,
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_time < ? \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = {table}.event_id)"
        )))
        .bind(micros(cutoff))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}
