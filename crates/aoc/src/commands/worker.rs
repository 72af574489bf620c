//! `aoc worker`: runs queued jobs beside `aoc serve`, for scale-out. Start several: they share
//! the queue (Valkey with `REDIS_URL`, else the database), a job runs in one of them at a time,
//! and a job whose worker is killed is taken by another once its lease runs out. Stops on
//! SIGTERM or Ctrl-C after the jobs it is running finish.

use std::net::SocketAddr;
use std::sync::Arc;

use aoc_api::jobs::ApiJobs;
use aoc_jobs::Worker;

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
    if let Some(bind) = metrics_bind {
        serve_metrics(bind).await?;
    }
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

/// `GET /metrics` of this worker, on its own port (a worker has no API).
async fn serve_metrics(bind: SocketAddr) -> anyhow::Result<()> {
    let handle = super::serve::install_metrics()?;
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
        ConfigError::new(
            "WORKER_METRICS_BIND",
            "metrics-bind",
            format!("{bind} cannot be listened on ({e})"),
        )
    })?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tracing::info!(%bind, "worker metrics at /metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}
