//! The embedded job queue. Every change is one statement on the one writer connection (other
//! processes on the same file wait on its lock), so two claims never take the same job.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use aoc_store::{
    ClaimedJob, JobId, JobOutcome, JobQueue, JobRecord, NewJob, StoreError, StoreResult,
    clean_text, storable_json,
};

use crate::{SqliteStore, map_err};
use aoc_store::sql::{from_micros, micros};

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn span(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn job_id(row: &SqliteRow) -> StoreResult<JobId> {
    let bytes: Vec<u8> = row.try_get("id").map_err(corrupt)?;
    let bytes: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("job id is not 16 bytes".to_owned()))?;
    Ok(JobId::from_uuid(uuid::Uuid::from_bytes(bytes)))
}

fn json(row: &SqliteRow, column: &str) -> StoreResult<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(column).map_err(corrupt)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("job {column}: {e}")))
    })
    .transpose()
}

fn count(row: &SqliteRow, column: &str) -> StoreResult<u32> {
    let value: i64 = row.try_get(column).map_err(corrupt)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("job {column} {value}")))
}

fn time(row: &SqliteRow, column: &str) -> StoreResult<Option<chrono::DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column).map_err(corrupt)?;
    value.map(|v| from_micros(v, column)).transpose()
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let now = micros(Utc::now());
        let keep = span(job.keep);
        sqlx::query(
            "INSERT INTO jobs (id, kind, owner, payload, status, max_attempts, keep_micros, \
             created_at, expires_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
        )
        .bind(job.id.as_uuid().as_bytes().to_vec())
        .bind(clean_text(&job.kind).as_ref())
        .bind(clean_text(&job.owner).as_ref())
        .bind(storable_json(&job.payload).to_string())
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(keep)
        .bind(now)
        .bind(now.saturating_add(keep))
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        // A running job whose lease ran out has lost its worker: it waits for the next claim.
        let row = sqlx::query(
            "SELECT id, kind, owner, attempts, result, error, created_at, started_at, \
             finished_at, expires_at, \
             CASE WHEN status = 'running' AND lease_until < ? THEN 'queued' ELSE status END \
             AS status FROM jobs WHERE id = ?",
        )
        .bind(micros(Utc::now()))
        .bind(id.as_uuid().as_bytes().to_vec())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            let status: String = row.try_get("status").map_err(corrupt)?;
            Ok(JobRecord {
                id: job_id(&row)?,
                kind: row.try_get("kind").map_err(corrupt)?,
                owner: row.try_get("owner").map_err(corrupt)?,
                status: status.parse().map_err(StoreError::Corrupt)?,
                attempts: count(&row, "attempts")?,
                created_at: from_micros(row.try_get("created_at").map_err(corrupt)?, "created_at")?,
                started_at: time(&row, "started_at")?,
                finished_at: time(&row, "finished_at")?,
                expires_at: from_micros(row.try_get("expires_at").map_err(corrupt)?, "expires_at")?,
                result: json(&row, "result")?,
                error: row.try_get("error").map_err(corrupt)?,
            })
        })
        .transpose()
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let now = micros(Utc::now());
        // Jobs whose last worker died with no attempt left end here; the text is
        // aoc_store::abandoned_error's.
        sqlx::query(
            "UPDATE jobs SET status = 'failed', error = 'the job was stopped ' || attempts || \
             ' time(s) by its worker ending before it finished', worker = NULL, \
             lease_until = NULL, finished_at = ?1, expires_at = ?1 + keep_micros \
             WHERE status = 'running' AND lease_until < ?1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(
            "UPDATE jobs SET status = 'running', worker = ?1, attempts = attempts + 1, \
             lease_until = ?2, started_at = ?3 \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' \
                 OR (status = 'running' AND lease_until < ?3) ORDER BY created_at, id LIMIT 1) \
             RETURNING id, kind, owner, payload, attempts",
        )
        .bind(clean_text(worker).as_ref())
        .bind(now.saturating_add(span(lease)))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        row.map(|row| {
            Ok(ClaimedJob {
                id: job_id(&row)?,
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
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND status = 'running' AND worker = ?",
        )
        .bind(micros(Utc::now()).saturating_add(span(lease)))
        .bind(id.as_uuid().as_bytes().to_vec())
        .bind(clean_text(worker).as_ref())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job(&self, id: JobId, worker: &str, outcome: &JobOutcome) -> StoreResult<bool> {
        let (status, result, error) = outcome.stored();
        let done = sqlx::query(
            "UPDATE jobs SET status = ?1, result = ?2, error = ?3, worker = NULL, \
             lease_until = NULL, finished_at = ?4, expires_at = ?4 + keep_micros \
             WHERE id = ?5 AND status = 'running' AND worker = ?6",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(micros(Utc::now()))
        .bind(id.as_uuid().as_bytes().to_vec())
        .bind(clean_text(worker).as_ref())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_jobs(&self) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM jobs WHERE expires_at < ? AND status <> 'running'")
            .bind(micros(Utc::now()))
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn queued_jobs(&self) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM jobs WHERE status = 'queued' \
             OR (status = 'running' AND lease_until < ?)",
        )
        .bind(micros(Utc::now()))
        .fetch_one(&self.reader)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
