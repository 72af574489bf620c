//! Monthly partitions of `events`, created when the first event of a month arrives and dropped
//! whole by retention.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, PgPool};

use aoc_store::{StoreError, StoreResult};

use crate::map_err;

/// Serializes partition DDL between processes (any constant unique to AOC).
const PARTITION_LOCK: i64 = 0x0A0C_0002;

type Month = (i32, u32);

/// The months known to have a partition, so the common insert costs no DDL round trip.
#[derive(Default)]
pub struct Partitions {
    known: Mutex<HashSet<Month>>,
}

fn month_start((year, month): Month) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)
}

fn next_month((year, month): Month) -> Month {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

fn partition_name((year, month): Month) -> String {
    format!("events_p{year:04}_{month:02}")
}

fn parse_partition_name(name: &str) -> Option<Month> {
    let rest = name.strip_prefix("events_p")?;
    let (year, month) = rest.split_once('_')?;
    Some((year.parse().ok()?, month.parse().ok()?))
}

impl Partitions {
    fn known(&self) -> std::sync::MutexGuard<'_, HashSet<Month>> {
        // A poisoned lock only means another thread panicked mid-insert; the set is still valid.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes sure every month of `times` has its partition.
    pub async fn ensure(
        &self,
        pool: &PgPool,
        times: impl Iterator<Item = DateTime<Utc>>,
    ) -> StoreResult<()> {
        let months: HashSet<Month> = times.map(|t| (t.year(), t.month())).collect();
        let missing: Vec<Month> = {
            let known = self.known();
            months.into_iter().filter(|m| !known.contains(m)).collect()
        };
        for month in missing {
            create(pool, month).await?;
            self.known().insert(month);
        }
        Ok(())
    }

    /// Forgets what it knows, after another process dropped partitions under it.
    pub fn forget(&self) {
        self.known().clear();
    }

    /// Drops the partitions that end at or before `cutoff`; returns how many events they held.
    pub async fn drop_before(&self, pool: &PgPool, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass",
        )
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
        let mut dropped = 0;
        for (name,) in names {
            let Some(month) = parse_partition_name(&name) else {
                continue;
            };
            let (Some(start), Some(end)) = (
                month_start(month).and_then(|d| d.and_hms_opt(0, 0, 0)),
                month_start(next_month(month)).and_then(|d| d.and_hms_opt(0, 0, 0)),
            ) else {
                continue;
            };
            let (start, end) = (start.and_utc(), end.and_utc());
            if end > cutoff {
                continue;
            }
            let mut tx = pool.begin().await.map_err(map_err)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PARTITION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            // The name comes from the catalog and matched our own pattern: safe to interpolate.
            // Imported events stay for the retention period from their import: a partition
            // holding some is emptied row by row instead (see `remove_events_before`).
            let (keeps_imports,): (bool,) = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM \"{name}\" WHERE source = $1 AND ingested_at >= $2)"
            )))
            .bind(aoc_store::IMPORT_SOURCE)
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            if keeps_imports {
                continue;
            }
            let (count,): (i64,) =
                sqlx::query_as(AssertSqlSafe(format!("SELECT count(*) FROM \"{name}\"")))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
            sqlx::query(AssertSqlSafe(format!("DROP TABLE \"{name}\"")))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            // The partition's tags and comments go with it. After the DROP, which waited for any
            // annotation being added to one of its events, so that one is seen here too.
            crate::annotations::delete_annotations_between(&mut tx, Some(start), end).await?;
            // Rollup rows are days at most, and months start on a day: the month's are its own.
            sqlx::query("DELETE FROM event_rollup WHERE start >= $1 AND start < $2")
                .bind(start.timestamp_micros())
                .bind(end.timestamp_micros())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            crate::change_totals(&mut tx, -count).await?;
            tx.commit().await.map_err(map_err)?;
            self.known().remove(&month);
            dropped += count as u64;
        }
        Ok(dropped)
    }
}

async fn create(pool: &PgPool, month: Month) -> StoreResult<()> {
    let (Some(from), Some(to)) = (month_start(month), month_start(next_month(month))) else {
        return Err(StoreError::invalid(
            "timestamp",
            format!("no such month {month:?}"),
        ));
    };
    let mut tx = pool.begin().await.map_err(map_err)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PARTITION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    // Only numbers from a validated date reach this statement.
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS \"{}\" PARTITION OF events \
         FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')",
        partition_name(month)
    );
    sqlx::query(AssertSqlSafe(ddl))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for month in [(2025, 3), (1601, 1), (9999, 12)] {
            assert_eq!(parse_partition_name(&partition_name(month)), Some(month));
        }
        assert_eq!(next_month((2025, 12)), (2026, 1));
        assert_eq!(parse_partition_name("events_search"), None);
    }
}
