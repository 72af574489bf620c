//! AOC's own audit trail and the people it has seen. The tables refuse updates by themselves
//! (triggers in the engines' migrations); `seq` follows commit order on both engines: SQLite has
//! one writer, and PostgreSQL appends under an advisory lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Dialect, Row, SqlEngine, Statement};
use crate::{
    AUDIT_COLUMNS, AuditColumns, AuditEntry, AuditPage, AuditQuery, AuditRow, AuditTrailStore,
    NewAuditEntry, StoreError, StoreResult, audit_filter, clean_text, decode_audit,
    into_audit_page,
};

/// Serializes appends on PostgreSQL so `seq` follows commit order (any constant unique to AOC).
const AUDIT_LOCK: i64 = 0x0A0C_0003;

const AUDIT_INSERT: &str = "INSERT INTO audit_trail (at, actor_id, actor_name, actor_tenant, \
     client_ip, request_id, action, target, details, outcome, status)";

fn decode_row(mut row: Row) -> StoreResult<AuditEntry> {
    decode_audit(AuditRow {
        seq: row.integer("seq")?,
        at: row.time("at")?,
        actor_id: row.text("actor_id")?,
        actor_name: row.opt_text("actor_name")?,
        actor_tenant: row.opt_text("actor_tenant")?,
        client_ip: row.opt_text("client_ip")?,
        request_id: row.text("request_id")?,
        action: row.text("action")?,
        target: row.opt_text("target")?,
        details: row.text("details")?,
        outcome: row.text("outcome")?,
        status: row.integer("status")?,
    })
}

#[async_trait]
impl<E: SqlEngine> AuditTrailStore for E {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        let c = AuditColumns::new(entry)?;
        let dialect = self.dialect();
        let insert = match dialect {
            // One writer: seq follows commit order.
            Dialect::Sqlite => Statement::new(
                dialect,
                &format!(
                    "{AUDIT_INSERT} VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     RETURNING seq"
                ),
            ),
            // One statement, its own transaction: the advisory lock is taken before the row (and
            // its seq) is made, and held until commit, so seq follows commit order.
            Dialect::Postgres => Statement::new(
                dialect,
                &format!(
                    "WITH serial AS (SELECT pg_advisory_xact_lock($1)) {AUDIT_INSERT} \
                     SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM serial \
                     RETURNING seq"
                ),
            ),
        };
        let insert = insert
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
            .bind(i64::from(c.status));
        let mut rows = self.write_returning(insert).await?;
        match rows.first_mut() {
            Some(row) => row.integer("seq"),
            None => Err(StoreError::Internal("append returned no seq".into())),
        }
    }

    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        let filter = audit_filter(query, self.dialect());
        let select = Statement::raw(
            filter.select_from(AUDIT_COLUMNS, "audit_trail"),
            filter.binds,
        );
        let items = self
            .read(select)
            .await?
            .into_iter()
            .map(decode_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(into_audit_page(items, query))
    }

    async fn delete_audit_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let delete =
            Statement::new(self.dialect(), "DELETE FROM audit_trail WHERE at < $1").bind(cutoff);
        self.write(delete).await
    }

    async fn note_user_seen(
        &self,
        tenant: &str,
        object_id: &str,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let dialect = self.dialect();
        let tenant = clean_text(tenant).into_owned();
        let object_id = clean_text(object_id).into_owned();
        let name = name.map(|n| clean_text(n).into_owned());
        let mut tx = self.begin().await?;
        // Of racing first requests, exactly one inserts the row; the others wait for it (or for
        // the file lock) and then do nothing.
        let insert = Statement::new(
            dialect,
            "INSERT INTO known_users (tenant_id, object_id, name, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, object_id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(object_id.as_str())
        .bind(name.clone())
        .bind(at);
        let first = tx.execute(insert).await? > 0;
        if !first {
            let update = Statement::new(
                dialect,
                &format!(
                    "UPDATE known_users SET last_seen = {}(last_seen, $3), \
                     name = coalesce($4, name) WHERE tenant_id = $1 AND object_id = $2",
                    dialect.greatest()
                ),
            )
            .bind(tenant)
            .bind(object_id)
            .bind(at)
            .bind(name);
            tx.execute(update).await?;
        }
        tx.commit().await?;
        Ok(first)
    }
}
