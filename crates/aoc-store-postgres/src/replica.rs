//! `DATABASE_READ_URL`: a streaming replica that answers searches, figures, facets and exports
//! while every write, and every read that must see its own writes, stays on the primary.
//!
//! A replica that cannot be reached is left alone for a while and its reads go to the primary:
//! the dashboard slows down rather than stops. A query the replica cancels because replay
//! needed its rows (SQLSTATE 40001 on a hot standby) is asked again of the primary.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use aoc_store::sql::{Row, Statement};
use aoc_store::{StoreError, StoreResult};

use crate::rows::{plain_rows, query};

/// How long reads stay on the primary after the replica could not be reached.
const REST: Duration = Duration::from_secs(30);
/// A replica that does not give a connection this quickly is treated as down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The read replica's pool and whether it is resting.
pub(crate) struct ReadReplica {
    pool: PgPool,
    /// Milliseconds since `epoch` until which the replica is resting; 0 when it is not.
    resting_until: AtomicI64,
    epoch: Instant,
}

/// What a read on the replica came to.
pub(crate) enum ReplicaRead {
    Rows(Vec<Row>),
    /// The primary must answer: the replica is resting, down, or cancelled the query.
    AskPrimary,
}

impl ReadReplica {
    /// A lazily connecting pool to `url`.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] naming `DATABASE_READ_URL` for a URL that is not a
    /// PostgreSQL URL.
    pub(crate) fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("DATABASE_READ_URL", e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            resting_until: AtomicI64::new(0),
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Runs `statement` on the replica unless it is resting.
    pub(crate) async fn read(&self, statement: &Statement) -> StoreResult<ReplicaRead> {
        if self.now_ms() < self.resting_until.load(Ordering::Relaxed) {
            return Ok(ReplicaRead::AskPrimary);
        }
        let error = match query(statement.clone())?.fetch_all(&self.pool).await {
            Ok(rows) => return plain_rows(&rows).map(ReplicaRead::Rows),
            Err(error) => error,
        };
        if let sqlx::Error::Database(db) = &error
            && db.code().as_deref() == Some("40001")
        {
            tracing::info!(reason = %db.message(), "the read replica cancelled a search; the primary answers it");
            return Ok(ReplicaRead::AskPrimary);
        }
        match crate::map_err(error) {
            StoreError::Unavailable(reason) => {
                let until = self.now_ms() + REST.as_millis() as i64;
                self.resting_until.store(until, Ordering::Relaxed);
                tracing::warn!(
                    %reason,
                    rest_seconds = REST.as_secs(),
                    "the read replica cannot be reached; searches read from the primary meanwhile"
                );
                Ok(ReplicaRead::AskPrimary)
            }
            other => Err(other),
        }
    }
}
