//! `aoc worker`: runs queued jobs beside `aoc serve`, for scale-out. Start several: they share
//! the queue (Valkey with `REDIS_URL`, else the database), a job runs in one of them at a time,
//! and a job whose worker is killed is taken by another once its lease runs out. Stops on
//! SIGTERM or Ctrl-C after the jobs it is running finish.

use std::sync::Arc;

use aoc_api::jobs::ApiJobs;
use aoc_jobs::Worker;

use crate::cli::{GlobalArgs, WorkerArgs};
use crate::config::DatabaseUrl;
use crate::config::ai::AiConfig;
use crate::config::jobs::{JobProcess, JobsConfig};
use crate::{services, storage};

pub async fn run(global: &GlobalArgs, args: WorkerArgs) -> anyhow::Result<()> {
    let jobs = JobsConfig::from_args(&args.jobs, JobProcess::Worker)?;
    let ai = AiConfig::from_args(&args.ai)?;
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    tracing::info!(
        database = %url,
        engine = store.engine(),
        concurrency = jobs.concurrency,
        version = env!("CARGO_PKG_VERSION"),
        "aoc worker starting"
    );
    if ai.is_none() {
        tracing::warn!(
            "the AI features are off here (AI_FEATURES_ENABLED): questions taken by this worker fail; give it the same AI settings as `aoc serve`"
        );
    }
    let valkey = services::valkey(&jobs).await?;
    let assistant = services::assistant(ai.as_ref(), &jobs, valkey.as_ref());
    let queue = services::job_queue(&jobs, &store, valkey.as_ref());
    let worker = Worker::new(
        queue,
        Arc::new(ApiJobs::new(Arc::clone(&store), assistant)),
        jobs.worker_settings(),
    );
    worker.run(super::serve::shutdown_signal()).await;
    Ok(())
}
