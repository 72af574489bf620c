//! `GET /health` and `GET /metrics`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use crate::AppState;

const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency's answer.
#[derive(Serialize, utoipa::ToSchema)]
struct Dependency {
    #[schema(inline, value_type = crate::openapi::schemas::DependencyStatus)]
    status: &'static str,
    /// What answers: the database engine (`sqlite` or `postgres`), or `valkey`.
    #[schema(example = "sqlite")]
    engine: &'static str,
    /// How long it took to answer (or to give up).
    latency_ms: f64,
    /// Why it is down; absent when it is up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    error: Option<String>,
}

/// Whether the server can serve.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    #[schema(inline, value_type = crate::openapi::schemas::HealthStatus)]
    status: &'static str,
    /// AOC's version.
    #[schema(example = "0.1.0")]
    version: &'static str,
    checks: Checks,
}

/// Each dependency.
#[derive(Serialize, utoipa::ToSchema)]
struct Checks {
    database: Dependency,
    /// The job queue when it is Valkey; `null` when the database is the queue.
    queue: Option<Dependency>,
}

/// 200 when every dependency answers, 503 with the failing one named otherwise.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    tag = "Service",
    summary = "Whether the server, its database and its job queue answer",
    description = "For load balancers and monitoring: 200 when every dependency answers, 503 \
        with the failing one named otherwise: the database, and the job queue when it is Valkey \
        (`REDIS_URL`). Each is given 2 seconds.",
    responses(
        (status = 200, description = "Healthy.", body = Health),
        (status = 503, description = "A dependency does not answer.", body = Health),
    ),
    security(()),
)]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let start = Instant::now();
    // A load balancer's probe must get an answer quickly even when the database hangs.
    let ping = match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
    };
    let database = Dependency {
        status: if ping.is_ok() { "up" } else { "down" },
        engine: state.store.engine(),
        latency_ms: start.elapsed().as_secs_f64() * 1000.0,
        error: ping.err(),
    };
    let queue = if state.jobs.queue_kind() == "valkey" {
        let start = Instant::now();
        let ping = match tokio::time::timeout(PING_TIMEOUT, state.jobs.queued_jobs()).await {
            Ok(result) => result.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
        };
        Some(Dependency {
            status: if ping.is_ok() { "up" } else { "down" },
            engine: "valkey",
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            error: ping.err(),
        })
    } else {
        None
    };
    let healthy = database.status == "up" && queue.as_ref().is_none_or(|q| q.status == "up");
    let body = Health {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { database, queue },
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus text. The source gauges are refreshed from the store first (one query), so lag
/// keeps growing between collection runs as it does in reality.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "Service",
    summary = "Prometheus metrics",
    description = "Request counts and latencies, collection figures per source (lag, last \
        success, records, throttling, errors), webhook notifications and storage timings, in \
        Prometheus' text format. The source figures are read from the database at each scrape \
        (given up after 2 seconds, so the scrape still answers).",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", body = String,
            content_type = "text/plain"),
    ),
    security(()),
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::routes::sources::refresh_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
