//! The `aoc worker` process: a pool of workers (`aoc_jobs::Worker`) running the jobs the doors
//! queue, each answered by the same use case the door would have called ([`ServiceJobs`]), and
//! the process's own `/metrics` and `/health` listener.
//!
//! It links the services and the store, never the HTTP API: a worker needs no web framework,
//! and a test below keeps it that way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

use aoc_jobs::{JobHandler, Worker, WorkerSettings};
use aoc_services::Services;
use aoc_store::{ClaimedJob, JobQueue};

/// Runs queued jobs through the services: an `ask` job is answered by the ask use case, with
/// the asker's budget and scope carried in the job.
pub struct ServiceJobs(pub Arc<Services>);

#[async_trait]
impl JobHandler for ServiceJobs {
    async fn run(&self, job: &ClaimedJob) -> Result<serde_json::Value, String> {
        self.0.run_job(job).await
    }
}

/// Runs a worker pool over `queue` until `shutdown` resolves and the running jobs finish.
pub async fn run(
    queue: Arc<dyn JobQueue>,
    services: Arc<Services>,
    settings: WorkerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    Worker::new(queue, Arc::new(ServiceJobs(services)), settings)
        .run(shutdown)
        .await;
}

/// Installs the process's metrics recorder from `builder` with a listener at `bind` that
/// answers `/metrics` (Prometheus text) and `/health` (`OK`).
///
/// # Errors
/// The address cannot be listened on, or a recorder is already installed.
pub fn serve_metrics(builder: PrometheusBuilder, bind: SocketAddr) -> Result<(), BuildError> {
    builder.with_http_listener(bind).install()?;
    tracing::info!(%bind, "worker metrics at /metrics");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// The crates a normal build of this one links, by name.
    fn linked_crates() -> Vec<String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let output = Command::new(cargo)
            .args([
                "tree",
                "--offline",
                "--locked",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(["--manifest-path", manifest, "-p", "aoc-worker"])
            .output()
            .expect("cargo tree runs");
        assert!(
            output.status.success(),
            "cargo tree: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_worker_links_the_services_and_the_store_but_no_http_api() {
        let crates = linked_crates();
        for needed in ["aoc-services", "aoc-store", "aoc-jobs"] {
            assert!(
                crates.iter().any(|c| c == needed),
                "{needed} missing: {crates:?}"
            );
        }
        for refused in ["axum", "aoc-api", "utoipa", "utoipa-axum"] {
            assert!(
                !crates.iter().any(|c| c == refused),
                "aoc worker links {refused}"
            );
        }
    }
}
