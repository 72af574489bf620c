//! The worker pool: `concurrency` loops that each claim a job, run it while renewing its lease,
//! and record how it ended. A loop that loses its lease (it stalled longer than the lease and
//! another worker took the job) drops the run without recording anything, so a job's outcome is
//! written once.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;

use aoc_store::{ClaimedJob, JobOutcome, JobQueue};

use crate::telemetry::{self, Outcome};

/// Runs the jobs of the kinds it knows.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// The job's result, or why it failed, in words its owner can read. Never a secret.
    async fn run(&self, job: &ClaimedJob) -> Result<serde_json::Value, String>;
}

/// How a worker pool runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// How long a claim holds a job without renewal; a dead worker's job is retried after it.
    pub lease: Duration,
    /// The longest a job may run before it is failed.
    pub timeout: Duration,
    /// How long an idle loop first waits before looking for work again; the wait doubles while
    /// there is none, up to eight times this.
    pub poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            poll: Duration::from_millis(250),
        }
    }
}

/// A pool of job loops over one queue.
pub struct Worker {
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    settings: WorkerSettings,
    /// Names this process's loops in the queue (`<pid>:<random>:<loop>`).
    name: String,
}

/// How often the pool purges expired jobs and reports the queue depth.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(15);

impl Worker {
    pub fn new(
        queue: Arc<dyn JobQueue>,
        handler: Arc<dyn JobHandler>,
        settings: WorkerSettings,
    ) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            queue,
            handler,
            settings,
            name: format!("{}:{}", std::process::id(), &random[..12]),
        }
    }

    /// Runs until `shutdown` resolves; jobs already running are finished first.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        let this = Arc::new(self);
        for slot in 0..this.settings.concurrency.max(1) {
            let worker = Arc::clone(&this);
            let stop = stop_rx.clone();
            loops.spawn(async move { worker.job_loop(slot, stop).await });
        }
        let housekeeping = Arc::clone(&this);
        let stop = stop_rx.clone();
        loops.spawn(async move { housekeeping.housekeeping(stop).await });
        tracing::info!(
            worker = %this.name,
            concurrency = this.settings.concurrency,
            "job worker started"
        );
        shutdown.await;
        let _ = stop_tx.send(true);
        while loops.join_next().await.is_some() {}
        tracing::info!(worker = %this.name, "job worker stopped");
    }

    async fn job_loop(&self, slot: usize, mut stop: watch::Receiver<bool>) {
        let me = format!("{}:{slot}", self.name);
        let mut wait = self.settings.poll;
        while !*stop.borrow() {
            let idle = match self.queue.claim_job(&me, self.settings.lease).await {
                Ok(Some(job)) => {
                    self.run_job(&me, job).await;
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not look for jobs; trying again");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
                // An idle server asks its database a few times a minute, not four times a second.
                wait = (wait * 2).min(self.settings.poll * 8);
            } else {
                wait = self.settings.poll;
            }
        }
    }

    /// Runs one claimed job beside its lease renewal, and records the outcome unless the lease
    /// was lost.
    async fn run_job(&self, me: &str, job: ClaimedJob) {
        let started = Instant::now();
        telemetry::JobStarted { job: &job }.emit();
        let work = tokio::time::timeout(self.settings.timeout, self.handler.run(&job));
        let outcome = tokio::select! {
            result = work => match result {
                Ok(Ok(value)) => JobOutcome::Succeeded(value),
                Ok(Err(why)) => JobOutcome::Failed(why),
                Err(_) => JobOutcome::Failed(format!(
                    "the job took longer than {} s and was stopped",
                    self.settings.timeout.as_secs()
                )),
            },
            () = self.keep_lease(me, &job) => {
                telemetry::JobLeaseLost { job: &job }.emit();
                return;
            }
        };
        let ended = match &outcome {
            JobOutcome::Succeeded(_) => Outcome::Succeeded,
            JobOutcome::Failed(_) => Outcome::Failed,
        };
        match self.queue.finish_job(job.id, me, &outcome).await {
            Ok(true) => {
                telemetry::JobFinished {
                    job: &job,
                    outcome: ended,
                    elapsed: started.elapsed(),
                }
                .emit();
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "the job was taken by another worker before it finished here");
            }
            Err(e) => {
                // The lease runs out and the job is retried elsewhere.
                tracing::warn!(job = %job.id, error = %e, "could not record the job's outcome");
            }
        }
    }

    /// Renews the lease every third of it; returns only when the lease is lost.
    async fn keep_lease(&self, me: &str, job: &ClaimedJob) {
        let every = (self.settings.lease / 3).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            match self.queue.renew_job(job.id, me, self.settings.lease).await {
                Ok(true) => {}
                Ok(false) => return,
                // A blip: keep working; the next renewal may get through before the lease ends.
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "could not renew the job's lease")
                }
            }
        }
    }

    async fn housekeeping(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.queue.purge_jobs().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "expired jobs deleted"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired jobs"),
            }
            if let Ok(depth) = self.queue.queued_jobs().await {
                telemetry::QueueDepth { depth }.emit();
            }
            tokio::select! {
                () = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
