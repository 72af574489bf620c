//! AOC's own audit trail and the people it has seen. Times are microseconds since the Unix epoch,
//! like the events table's. The table refuses updates by itself (a trigger in the migration).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use aoc_store::{
    AUDIT_COLUMNS, AuditColumns, AuditEntry, AuditPage, AuditQuery, AuditRow, AuditTrailStore,
    NewAuditEntry, StoreError, StoreResult, audit_filter, clean_text, decode_audit,
    into_audit_page,
};

use crate::fts::SqliteDialect;
use crate::rows::{from_micros, micros};
use crate::{SqliteStore, arguments, map_err};

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn decode_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    decode_audit(AuditRow {
        seq: row.try_get("seq").map_err(corrupt)?,
        at: from_micros(row.try_get("at").map_err(corrupt)?, "at")?,
        actor_id: row.try_get("actor_id").map_err(corrupt)?,
        actor_name: row.try_get("actor_name").map_err(corrupt)?,
        actor_tenant: row.try_get("actor_tenant").map_err(corrupt)?,
        client_ip: row.try_get("client_ip").map_err(corrupt)?,
        request_id: row.try_get("request_id").map_err(corrupt)?,
        action: row.try_get("action").map_err(corrupt)?,
        target: row.try_get("target").map_err(corrupt)?,
        details: row.try_get("details").map_err(corrupt)?,
        outcome: row.try_get("outcome").map_err(corrupt)?,
        status: row.try_get("status").map_err(corrupt)?,
    })
}

#[async_trait]
impl AuditTrailStore for SqliteStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        let c = AuditColumns::new(entry)?;
        // One writer: seq follows commit order.
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO audit_trail (at, actor_id, actor_name, actor_tenant, client_ip, \
             request_id, action, target, details, outcome, status) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(micros(entry.at))
        .bind(c.actor_id)
        .bind(c.actor_name)
        .bind(c.actor_tenant)
        .bind(c.client_ip)
        .bind(c.request_id)
        .bind(c.action)
        .bind(c.target)
        .bind(c.details)
        .bind(c.outcome)
        .bind(c.status)
        .fetch_one(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(seq)
    }

    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        let filter = audit_filter(query, &SqliteDialect::plain());
        let sql = filter.select_from(AUDIT_COLUMNS, "audit_trail");
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments(filter.binds)?)
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(decode_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(into_audit_page(items, query))
    }

    async fn delete_audit_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM audit_trail WHERE at < ?")
            .bind(micros(cutoff))
            .execute(&self.writer)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(deleted)
    }

    async fn note_user_seen(
        &self,
        tenant: &str,
        object_id: &str,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let tenant = clean_text(tenant);
        let object_id = clean_text(object_id);
        let name = name.map(|n| clean_text(n).into_owned());
        let at = micros(at);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // Of racing first requests, exactly one inserts the row.
        let first = sqlx::query(
            "INSERT INTO known_users (tenant_id, object_id, name, first_seen, last_seen) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, object_id) DO NOTHING",
        )
        .bind(tenant.as_ref())
        .bind(object_id.as_ref())
        .bind(name.as_deref())
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if !first {
            sqlx::query(
                "UPDATE known_users SET last_seen = max(last_seen, ?), name = coalesce(?, name) \
                 WHERE tenant_id = ? AND object_id = ?",
            )
            .bind(at)
            .bind(name.as_deref())
            .bind(tenant.as_ref())
            .bind(object_id.as_ref())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(first)
    }
}
