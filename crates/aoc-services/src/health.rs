//! Whether this process's dependencies answer: the database, and the job queue when it is
//! Valkey. For load balancers and monitoring, so it needs no caller.

use std::time::{Duration, Instant};

use crate::Services;

/// How long each dependency is given.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency's answer.
#[derive(Debug, Clone)]
pub struct DependencyCheck {
    pub up: bool,
    /// What answers: the database engine (`sqlite` or `postgres`), or `valkey`.
    pub engine: &'static str,
    /// How long it took to answer (or to give up).
    pub latency: Duration,
    /// Why it is down.
    pub error: Option<String>,
}

/// Every dependency's answer.
#[derive(Debug, Clone)]
pub struct DependencyChecks {
    pub database: DependencyCheck,
    /// The job queue when it is Valkey; `None` when the database is the queue.
    pub queue: Option<DependencyCheck>,
}

impl DependencyChecks {
    pub fn healthy(&self) -> bool {
        self.database.up && self.queue.as_ref().is_none_or(|q| q.up)
    }
}

async fn check<F>(engine: &'static str, ping: F) -> DependencyCheck
where
    F: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    // A load balancer's probe must get an answer quickly even when a dependency hangs.
    let result = match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
    };
    DependencyCheck {
        up: result.is_ok(),
        engine,
        latency: start.elapsed(),
        error: result.err(),
    }
}

impl Services {
    /// Pings each dependency, each within [`PING_TIMEOUT`].
    pub async fn check_dependencies(&self) -> DependencyChecks {
        let database = check(self.store.engine(), async {
            self.store.ping().await.map_err(|e| e.to_string())
        })
        .await;
        let queue = if self.jobs.queue_kind() == "valkey" {
            Some(
                check("valkey", async {
                    self.jobs
                        .queued_jobs()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .await,
            )
        } else {
            None
        };
        DependencyChecks { database, queue }
    }
}
