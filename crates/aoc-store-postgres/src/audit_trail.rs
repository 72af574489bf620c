//! AOC's own audit trail and the people it has seen. The table refuses updates and truncation by
//! itself (triggers in the migration).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use aoc_store::{
    AUDIT_COLUMNS, AuditColumns, AuditEntry, AuditPage, AuditQuery, AuditRow, AuditTrailStore,
    NewAuditEntry, StoreError, StoreResult, audit_filter, clean_text, decode_audit,
    into_audit_page,
};

use crate::{PgDialect, PostgresStore, arguments, map_err};

/// Serializes appends so `seq` follows commit order (any constant unique to AOC).
const AUDIT_LOCK: i64 = 0x0A0C_0003;

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn decode_row(row: &PgRow) -> StoreResult<AuditEntry> {
    let status: i32 = row.try_get("status").map_err(corrupt)?;
    decode_audit(AuditRow {
        seq: row.try_get("seq").map_err(corrupt)?,
        at: row.try_get("at").map_err(corrupt)?,
        actor_id: row.try_get("actor_id").map_err(corrupt)?,
        actor_name: row.try_get("actor_name").map_err(corrupt)?,
        actor_tenant: row.try_get("actor_tenant").map_err(corrupt)?,
        client_ip: row.try_get("client_ip").map_err(corrupt)?,
        request_id: row.try_get("request_id").map_err(corrupt)?,
        action: row.try_get("action").map_err(corrupt)?,
        target: row.try_get("target").map_err(corrupt)?,
        details: row.try_get("details").map_err(corrupt)?,
        outcome: row.try_get("outcome").map_err(corrupt)?,
        status: i64::from(status),
    })
}

#[async_trait]
impl AuditTrailStore for PostgresStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        let c = AuditColumns::new(entry)?;
        // One statement, its own transaction: the advisory lock is taken before the row (and its
        // seq) is made, and held until commit, so seq follows commit order.
        let (seq,): (i64,) = sqlx::query_as(
            "WITH serial AS (SELECT pg_advisory_xact_lock($1)) \
             INSERT INTO audit_trail (at, actor_id, actor_name, actor_tenant, client_ip, \
                 request_id, action, target, details, outcome, status) \
             SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM serial \
             RETURNING seq",
        )
        .bind(AUDIT_LOCK)
        .bind(entry.at)
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
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(seq)
    }

    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        let filter = audit_filter(query, &PgDialect);
        let sql = filter.select_from(AUDIT_COLUMNS, "audit_trail");
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments(filter.binds)?)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let items = rows
            .iter()
            .map(decode_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(into_audit_page(items, query))
    }

    async fn delete_audit_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM audit_trail WHERE at < $1")
            .bind(cutoff)
            .execute(&self.pool)
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
        // Of racing first requests, exactly one inserts the row; the others wait for it and
        // then do nothing.
        let first = sqlx::query(
            "INSERT INTO known_users (tenant_id, object_id, name, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, object_id) DO NOTHING",
        )
        .bind(tenant.as_ref())
        .bind(object_id.as_ref())
        .bind(name.as_deref())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if !first {
            sqlx::query(
                "UPDATE known_users SET last_seen = GREATEST(last_seen, $3), \
                 name = coalesce($4, name) WHERE tenant_id = $1 AND object_id = $2",
            )
            .bind(tenant.as_ref())
            .bind(object_id.as_ref())
            .bind(at)
            .bind(name.as_deref())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        }
        Ok(first)
    }
}
