//! `aoc worker`: runs queued jobs beside `aoc serve`, for scale-out. Start several: they share
//! the queue (Valkey with `REDIS_URL`, else the database), a job runs in one of them at a time,
//! and a job whose worker is killed is taken by another once its lease runs out. Stops on
//! SIGTERM or Ctrl-C after the jobs it is running finish.
//!
//! The process is [`aoc_worker`]: the services and the store, no HTTP API.

use std::net::SocketAddr;
use std::sync::Arc;

use aoc_services::{ServiceSettings, Services};

use crate::cli::{GlobalArgs, WorkerArgs};
use crate::config::ai::AiConfig;
use crate::config::jobs::{JobProcess, JobsConfig};
use crate::config::{ConfigError, DatabaseUrl};
use crate::{services, storage};

pub async fn run(global: &GlobalArgs, args: WorkerArgs) -> anyhow::Result<()> {
    let jobs = JobsConfig::from_args(&args.jobs, JobProcess::Worker)?;
    let ai = AiConfig::from_args(&args.ai)?;
    let metrics_bind = metrics_bind(args.metrics_bind.as_deref())?;
    let url = DatabaseUrl::parse(&global.database_url)?;
    let read_url = DatabaseUrl::parse_read(global.database_read_url.as_deref(), &url)?;
    if let Some(bind) = metrics_bind {
        aoc_worker::serve_metrics(super::serve::metrics_builder()?, bind).map_err(|e| {
            ConfigError::new(
                "WORKER_METRICS_BIND",
                "metrics-bind",
                format!("{bind} cannot be served ({e})"),
            )
        })?;
        super::serve::describe_metrics();
    }
    let store = storage::open_with_replica(&url, read_url.as_ref()).await?;
    tracing::info!(
        database = %url,
        read_replica = read_url.as_ref().map(ToString::to_string),
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
    let settings = ServiceSettings {
        job_keep: jobs.keep,
        job_max_attempts: jobs.max_attempts,
        ..ServiceSettings::default()
    };
    let services = Services::new(store, Arc::clone(&queue), settings).with_ai(assistant);
    aoc_worker::run(
        queue,
        Arc::new(services),
        jobs.worker_settings(),
        super::serve::shutdown_signal(),
    )
    .await;
    Ok(())
}

fn metrics_bind(value: Option<&str>) -> Result<Option<SocketAddr>, ConfigError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ConfigError::new(
                "WORKER_METRICS_BIND",
                "metrics-bind",
                format!("invalid value {v:?}: expected ADDRESS:PORT such as 0.0.0.0:9465"),
            )
        }),
    }
}
