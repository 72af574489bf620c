//! The job queue on PostgreSQL, for servers without Valkey. A claim locks the oldest waiting row
//! with `FOR UPDATE SKIP LOCKED`, so concurrent workers take different jobs and never the same
//! one; lease expiry is judged by the server's clock.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use aoc_store::{
    ClaimedJob, JobId, JobOutcome, JobQueue, JobRecord, NewJob, StoreError, StoreResult,
    clean_text, storable_json,
};

use crate::{PostgresStore, map_err};

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn json(row: &PgRow, column: &str) -> StoreResult<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(column).map_err(corrupt)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("job {column}: {e}")))
    })
    .transpose()
}

fn count(row: &PgRow, column: &str) -> StoreResult<u32> {
    let value: i32 = row.try_get(column).map_err(corrupt)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("job {column} {value}")))
}

fn attempts(value: u32) -> i32 {
    i32::try_from(value.max(1)).unwrap_or(i32::MAX)
}

#[async_trait]
impl JobQueue for PostgresStore {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, owner, payload, status, max_attempts, keep, expires_at) \
             VALUES ($1, $2, $3, $4::jsonb, 'queued', $5, make_interval(secs => $6), \
             now() + make_interval(secs => $6))",
        )
        .bind(job.id.as_uuid())
        .bind(clean_text(&job.kind).as_ref())
        .bind(clean_text(&job.owner).as_ref())
        .bind(storable_json(&job.payload).to_string())
        .bind(attempts(job.max_attempts))
        .bind(job.keep.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        // A running job whose lease ran out has lost its worker: it waits for the next claim.
        let row = sqlx::query(
            "SELECT id, kind, owner, attempts, result::text AS result, error, created_at, \
             started_at, finished_at, expires_at, \
             CASE WHEN status = 'running' AND lease_until < now() THEN 'queued' ELSE status END \
             AS status FROM jobs WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            let status: String = row.try_get("status").map_err(corrupt)?;
            let id: Uuid = row.try_get("id").map_err(corrupt)?;
            Ok(JobRecord {
                id: JobId::from_uuid(id),
                kind: row.try_get("kind").map_err(corrupt)?,
                owner: row.try_get("owner").map_err(corrupt)?,
                status: status.parse().map_err(StoreError::Corrupt)?,
                attempts: count(&row, "attempts")?,
                created_at: row.try_get("created_at").map_err(corrupt)?,
                started_at: row.try_get("started_at").map_err(corrupt)?,
                finished_at: row.try_get("finished_at").map_err(corrupt)?,
                expires_at: row.try_get("expires_at").map_err(corrupt)?,
                result: json(&row, "result")?,
                error: row.try_get("error").map_err(corrupt)?,
            })
        })
        .transpose()
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Jobs whose last worker died with no attempt left end here; the text is
        // aoc_store::abandoned_error's.
        sqlx::query(
            "UPDATE jobs SET status = 'failed', error = 'the job was stopped ' || attempts || \
             ' time(s) by its worker ending before it finished', worker = NULL, \
             lease_until = NULL, finished_at = now(), expires_at = now() + keep \
             WHERE status = 'running' AND lease_until < now() AND attempts >= max_attempts",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(
            "UPDATE jobs SET status = 'running', worker = $1, attempts = attempts + 1, \
             lease_until = now() + make_interval(secs => $2), started_at = now() \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' \
                 OR (status = 'running' AND lease_until < now()) \
                 ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, owner, payload::text AS payload, attempts",
        )
        .bind(clean_text(worker).as_ref())
        .bind(lease.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        row.map(|row| {
            let id: Uuid = row.try_get("id").map_err(corrupt)?;
            Ok(ClaimedJob {
                id: JobId::from_uuid(id),
                kind: row.try_get("kind").map_err(corrupt)?,
                owner: row.try_get("owner").map_err(corrupt)?,
                payload: json(&row, "payload")?.unwrap_or_default(),
                attempt: count(&row, "attempts")?,
            })
        })
        .transpose()
    }

    async fn renew_job(&self, id: JobId, worker: &str, lease: Duration) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = now() + make_interval(secs => $1) \
             WHERE id = $2 AND status = 'running' AND worker = $3",
        )
        .bind(lease.as_secs_f64())
        .bind(id.as_uuid())
        .bind(clean_text(worker).as_ref())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job(&self, id: JobId, worker: &str, outcome: &JobOutcome) -> StoreResult<bool> {
        let (status, result, error) = outcome.stored();
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, result = $2::jsonb, error = $3, worker = NULL, \
             lease_until = NULL, finished_at = now(), expires_at = now() + keep \
             WHERE id = $4 AND status = 'running' AND worker = $5",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(id.as_uuid())
        .bind(clean_text(worker).as_ref())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_jobs(&self) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM jobs WHERE expires_at < now() AND status <> 'running'")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn queued_jobs(&self) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM jobs WHERE status = 'queued' \
             OR (status = 'running' AND lease_until < now())",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
