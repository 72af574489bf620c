//! `aoc serve`: the HTTP API with its background tasks (retention, statistics), stopped
//! gracefully on SIGTERM or Ctrl-C: in-flight requests finish, then the tasks stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use aoc_api::auth::Authenticator;
use aoc_api::webhook::GraphWebhook;
use aoc_api::{ApiSettings, AppState};
use aoc_store::Store;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::config::auth::{AuthConfig, Off};
use crate::config::{ConfigError, DatabaseUrl, ServeSettings};
use crate::telemetry::{EventsCounted, RetentionApplied};
use crate::{collection, sample, services, storage};

/// Largest request body the API accepts.
const MAX_BODY_BYTES: usize = 1024 * 1024;
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
const STATS_EVERY: Duration = Duration::from_secs(30);
/// Change notifications waiting for the scheduler; more are dropped (the schedule catches up).
const WEBHOOK_QUEUE: usize = 64;

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let settings = ServeSettings::from_args(&args)?;
    let url = DatabaseUrl::parse(&global.database_url)?;
    let read_url = DatabaseUrl::parse_read(global.database_read_url.as_deref(), &url)?;
    // Bind before anything else starts: a port in use is a bad setting, reported as one.
    let listener = TcpListener::bind(settings.bind).await.map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::AddrInUse {
            "is already in use".to_owned()
        } else {
            format!("cannot be listened on ({e})")
        };
        ConfigError::new("AOC_BIND", "bind", format!("{} {reason}", settings.bind))
    })?;
    let metrics = install_metrics()?;
    let store = storage::open_with_replica(&url, read_url.as_ref()).await?;
    tracing::info!(
        database = %url,
        read_replica = read_url.as_ref().map(ToString::to_string),
        engine = store.engine(),
        bind = %settings.bind,
        retention_days = settings.retention_days,
        cors_origins = ?settings.cors_origins,
        version = env!("CARGO_PKG_VERSION"),
        "aoc serve starting"
    );
    let auth = sign_in(&settings)?;
    if settings.sample {
        let report = sample::import(store.as_ref()).await?;
        tracing::info!(
            new = report.new,
            duplicate = report.duplicate,
            "sample tenant imported"
        );
    }

    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(retention_task(
            Arc::clone(&store),
            Retention {
                events_days: settings.retention_days,
                audit_days: settings.audit_retention_days,
            },
            stopped.clone(),
        )),
        tokio::spawn(stats_task(
            Arc::clone(&store),
            metrics.clone(),
            stopped.clone(),
        )),
    ];
    let collect = match (settings.demo, settings.collect.clone()) {
        (true, _) => Some(collection::start_demo(stopped.clone()).await?),
        (false, config) => config,
    };
    let (signals_tx, signals_rx) = mpsc::channel(WEBHOOK_QUEUE);
    let webhook = settings
        .webhook_client_state
        .clone()
        .map(|state| Arc::new(GraphWebhook::new(state, signals_tx)));
    let collector = match collect {
        Some(config) => {
            let tenants = config.tenants.len();
            let collector = collection::build(Arc::clone(&store), config)?;
            tracing::info!(
                tenants,
                interval_seconds = settings.fetch_interval.as_secs(),
                "collection scheduled"
            );
            let subscriptions = match (&settings.webhook_public_url, &settings.webhook_client_state)
            {
                (Some(public), Some(state)) => {
                    let url = format!(
                        "{}/api/webhooks/graph",
                        public.as_str().trim_end_matches('/')
                    );
                    Some(Arc::new(collector.graph_subscriptions(
                        url,
                        aoc_sources::m365::Secret::new(state.clone()),
                    )))
                }
                _ => None,
            };
            tasks.push(tokio::spawn(collection::scheduler(
                Arc::clone(&collector),
                settings.fetch_interval,
                subscriptions,
                signals_rx,
                stopped.clone(),
            )));
            Some(collector)
        }
        None => {
            tracing::warn!(
                "no tenant configured: collection is off (set TENANT_ID, CLIENT_ID and CLIENT_SECRET, or AOC_TENANTS_FILE, or try `aoc serve --demo`)"
            );
            None
        }
    };
    let valkey = services::valkey(&settings.jobs).await?;
    let ai = services::assistant(settings.ai.as_ref(), &settings.jobs, valkey.as_ref());
    let jobs = services::job_queue(&settings.jobs, &store, valkey.as_ref());
    let query_cache = services::query_cache(&settings.jobs, valkey.as_ref());
    let state = AppState {
        query_cache,
        store,
        metrics,
        settings: Arc::new(ApiSettings {
            cors_origins: settings.cors_origins.clone(),
            max_body_bytes: MAX_BODY_BYTES,
            export_max_rows: settings.export_max_rows,
            expensive_per_minute: settings.rate_limit_per_minute,
            job_keep: settings.jobs.keep,
            job_max_attempts: settings.jobs.max_attempts,
        }),
        collection: collector,
        webhook,
        auth,
        ai,
        jobs,
    };
    if settings.jobs.concurrency > 0 {
        let services = Arc::new(state.services());
        let queue = Arc::clone(&state.jobs);
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(aoc_worker::run(
            queue,
            services,
            settings.jobs.worker_settings(),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        )));
    } else {
        tracing::info!(
            "no job worker in this process (WORKER_CONCURRENCY=0): `aoc worker` runs the jobs"
        );
    }
    let app = aoc_api::router(state);
    tracing::info!(url = %format!("http://{}", settings.bind), "listening");
    // The peer address reaches the handlers: the audit trail records where each request came from.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server failed")?;
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    tracing::info!("aoc serve stopped");
    Ok(())
}

/// The authenticator of the API, or `None` when sign-in is off; says in the log which it is.
fn sign_in(settings: &ServeSettings) -> anyhow::Result<Option<Arc<Authenticator>>> {
    let bind = settings.bind;
    match &settings.auth {
        AuthConfig::Entra(auth) => {
            let authenticator = Arc::new(
                Authenticator::new(auth.as_ref().clone())
                    .context("sign-in with Entra ID cannot start")?,
            );
            tracing::info!(
                tenant_id = %auth.tenant_id,
                audiences = ?auth.audiences,
                authority = %auth.authority,
                "sign-in with Entra ID required on /api"
            );
            // Fetch the keys now, so a wrong tenant or an unreachable Entra ID shows in the
            // log at start rather than to the first caller.
            let warm = Arc::clone(&authenticator);
            tokio::spawn(async move {
                if let Err(e) = warm.prefetch().await {
                    tracing::warn!(error = %e, "Entra ID signing keys are not available yet");
                }
            });
            Ok(Some(authenticator))
        }
        AuthConfig::Off(Off::LocalMode) => {
            tracing::info!(
                %bind,
                "local mode: sign-in is off because AOC listens on a loopback address and no AUTH_TENANT_ID is set; every local caller is an Admin (set AUTH_TENANT_ID and AUTH_AUDIENCE to require sign-in with Entra ID)"
            );
            Ok(None)
        }
        AuthConfig::Off(Off::Disabled) => {
            tracing::info!(%bind, "sign-in is off (AUTH_ENABLED=false) on a loopback address; every local caller is an Admin");
            Ok(None)
        }
        AuthConfig::Off(Off::Insecure) => {
            tracing::warn!(%bind, "insecure: sign-in is off (--insecure-no-auth); whoever reaches AOC is an Admin");
            Ok(None)
        }
    }
}

/// The process's Prometheus recorder, with AOC's histogram buckets; `aoc serve` renders it at
/// `/metrics`, `aoc worker` serves it from its own listener.
pub(crate) fn metrics_builder() -> anyhow::Result<PrometheusBuilder> {
    const LATENCY_BUCKETS: [f64; 14] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &LATENCY_BUCKETS)
        .context("metrics buckets")?
        .set_buckets_for_metric(
            Matcher::Full(aoc_sources::telemetry::SOURCE_LATENESS_SECONDS.into()),
            &aoc_sources::telemetry::LATENESS_BUCKETS,
        )
        .context("metrics buckets")
}

pub(crate) fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = metrics_builder()?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    describe_metrics();
    Ok(handle)
}

/// Every metric's description, once per process: each crate describes the metrics it writes
/// (its `telemetry` module).
pub(crate) fn describe_metrics() {
    aoc_api::describe_metrics();
    aoc_services::telemetry::describe();
    crate::telemetry::describe();
    aoc_sources::telemetry::describe();
    aoc_jobs::telemetry::describe();
    aoc_ai::telemetry::describe();
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// How long events and AOC's own audit trail are kept.
struct Retention {
    events_days: u32,
    audit_days: u32,
}

/// Deletes events (with their annotations) and audit-trail entries older than their retention
/// every hour, starting now. A failed run is logged and the next one tries again. This is the
/// only deletion of audit-trail entries anywhere in AOC.
async fn retention_task(
    store: Arc<dyn Store>,
    retention: Retention,
    mut stopped: watch::Receiver<bool>,
) {
    let days = retention.events_days;
    let mut every = tokio::time::interval(RETENTION_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => return,
        }
        let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        match store.delete_events_before(cutoff).await {
            Ok(deleted) => RetentionApplied { deleted, cutoff }.emit(),
            Err(e) => tracing::warn!(error = %e, "retention failed; retrying at the next run"),
        }
        if let Err(e) = store.prune_fetch_state(cutoff).await {
            tracing::warn!(error = %e, "pruning collection coverage failed; retrying at the next run");
        }
        let audit_cutoff =
            chrono::Utc::now() - chrono::Duration::days(i64::from(retention.audit_days));
        match store.delete_audit_before(audit_cutoff).await {
            Ok(deleted) => {
                tracing::info!(deleted, cutoff = %audit_cutoff, "audit-trail retention applied")
            }
            Err(e) => {
                tracing::warn!(error = %e, "audit-trail retention failed; retrying at the next run")
            }
        }
    }
}

/// Keeps the stored-events gauge current and the metrics histograms tidy.
async fn stats_task(
    store: Arc<dyn Store>,
    metrics: PrometheusHandle,
    mut stopped: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(STATS_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => return,
        }
        match store.count_events().await {
            Ok(count) => EventsCounted { count }.emit(),
            Err(e) => tracing::warn!(error = %e, "cannot count events"),
        }
        metrics.run_upkeep();
    }
}
