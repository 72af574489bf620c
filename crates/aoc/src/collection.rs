//! Collection inside `aoc serve`: builds the collector from the configuration (or from the
//! in-process simulator with `--demo`) and runs it on a schedule, promptly when a Graph change
//! notification says something changed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use aoc_api::webhook::WebhookSignal;
use aoc_simulator::{Simulator, SimulatorConfig};
use aoc_sources::m365::{
    AppIdentity, AzureCloud, CollectSettings, Collector, Credential, Endpoints, GraphSubscriptions,
    HttpPolicy, NoProgress, RunRequest, RunStatus, Secret, SourceKind, SourceRun, TenantConfig,
    next_delay,
};
use aoc_store::Store;

use crate::config::collect::CollectConfig;
use crate::sample::SAMPLE_TENANT;

/// How often Graph subscriptions are checked and renewed when close to expiry.
const SUBSCRIPTION_CHECK: Duration = Duration::from_secs(3600);

/// The demo app registration the simulator is asked for (any credentials are accepted).
const DEMO_CLIENT_ID: &str = "a0c0de40-0000-4000-8000-00000000a0c0";

/// A name for this process in leases: host and process id.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "aoc".into());
    format!("{host}:{}", std::process::id())
}

pub fn build(store: Arc<dyn Store>, config: CollectConfig) -> anyhow::Result<Arc<Collector>> {
    let collector = Collector::new(
        store,
        config.endpoints,
        config.policy,
        config.settings,
        config.tenants,
        holder_name(),
    )?;
    Ok(Arc::new(collector))
}

/// Starts the simulator on a loopback port and returns a configuration that collects the
/// sample tenant from it.
pub async fn start_demo(stopped: watch::Receiver<bool>) -> anyhow::Result<CollectConfig> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let simulator = Simulator::new(SimulatorConfig::default());
    tokio::spawn(async move {
        let mut stopped = stopped;
        let shutdown = async move {
            let _ = stopped.changed().await;
        };
        if let Err(e) = simulator.serve(listener, shutdown).await {
            tracing::error!(error = %e, "the demo simulator stopped");
        }
    });
    tracing::info!(simulator = %base, tenant = SAMPLE_TENANT, "demo: collecting from the built-in Microsoft 365 simulator");
    let endpoints = Endpoints::new(AzureCloud::Public, Some(&base), Some(&base), Some(&base))
        .map_err(|(var, message)| anyhow::anyhow!("{var}: {message}"))?;
    Ok(CollectConfig {
        endpoints,
        tenants: vec![TenantConfig {
            id: aoc_model::TenantId::new(SAMPLE_TENANT),
            name: Some("Contoso (demo)".into()),
            app: AppIdentity {
                tenant_id: SAMPLE_TENANT.into(),
                client_id: DEMO_CLIENT_ID.into(),
                credential: Credential::Secret(Secret::new("demo")),
            },
            sources: SourceKind::ALL.to_vec(),
            publisher_id: SAMPLE_TENANT.into(),
        }],
        settings: CollectSettings::default(),
        policy: HttpPolicy::default(),
    })
}

fn log_runs(runs: &[SourceRun]) {
    for run in runs {
        match run.status {
            RunStatus::Ok => tracing::info!(
                tenant = %run.tenant_id, source = run.source, fetched = run.fetched, new = run.new,
                duration_ms = run.duration_ms, problem = ?run.problem.as_ref().map(|p| &p.message),
                "source collected"
            ),
            RunStatus::Skipped => tracing::debug!(
                tenant = %run.tenant_id, source = run.source,
                "source skipped: another AOC process holds its lease"
            ),
            RunStatus::Failed => tracing::warn!(
                tenant = %run.tenant_id, source = run.source,
                code = ?run.problem.as_ref().and_then(|p| p.code.as_deref()),
                error = ?run.problem.as_ref().map(|p| &p.message),
                "source collection failed"
            ),
        }
    }
}

/// Runs every source now and then every `interval` (± 10 %); a change notification runs the
/// tenant's directory audits at once. Stops when `stopped` flips, abandoning a run in flight
/// (what it committed is kept; its lease expires).
pub async fn scheduler(
    collector: Arc<Collector>,
    interval: Duration,
    subscriptions: Option<Arc<GraphSubscriptions>>,
    mut signals: mpsc::Receiver<WebhookSignal>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next = Instant::now();
    let mut next_renewal = Instant::now();
    loop {
        let request = tokio::select! {
            () = tokio::time::sleep_until(next_renewal), if subscriptions.is_some() => {
                next_renewal = Instant::now() + SUBSCRIPTION_CHECK;
                if let Some(manager) = &subscriptions {
                    for outcome in manager.ensure().await {
                        match &outcome.error {
                            None => tracing::debug!(tenant = %outcome.tenant_id, resource = outcome.resource, action = outcome.action, "Graph subscription"),
                            Some(e) => tracing::warn!(tenant = %outcome.tenant_id, resource = outcome.resource, action = outcome.action, code = ?e.code(), error = %e, "Graph subscription failed; retrying within the hour"),
                        }
                    }
                }
                continue;
            }
            () = tokio::time::sleep_until(next) => {
                next = Instant::now() + next_delay(interval);
                RunRequest::default()
            }
            Some(signal) = signals.recv() => match signal {
                WebhookSignal::Changed { tenant_id, resource } => {
                    tracing::info!(tenant = tenant_id, resource, "change notification: collecting directory audits now");
                    RunRequest {
                        tenant: Some(aoc_model::TenantId::new(tenant_id.to_ascii_lowercase())),
                        sources: Some(vec![SourceKind::DirectoryAudits]),
                        ..RunRequest::default()
                    }
                }
                WebhookSignal::Lifecycle { tenant_id, subscription_id, event } => {
                    tracing::info!(tenant = tenant_id, subscription = subscription_id, event, "lifecycle notification");
                    if let Some(manager) = &subscriptions
                        && let Err(e) = manager.lifecycle(&tenant_id, &subscription_id, &event).await
                    {
                        tracing::warn!(tenant = tenant_id, subscription = subscription_id, code = ?e.code(), error = %e, "lifecycle notification not handled; the hourly check retries");
                    }
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        tokio::select! {
            runs = collector.run(&request, &NoProgress) => log_runs(&runs),
            _ = stopped.changed() => return,
        }
    }
}
