//! `GET /health` and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use aoc_services::health::DependencyCheck;

use crate::Api;

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
#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "Service",
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
pub async fn health(State(api): State<Api>) -> impl IntoResponse {
    let checks = api.services.check_dependencies().await;
    let healthy = checks.healthy();
    let body = Health {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks {
            database: Dependency::from(checks.database),
            queue: checks.queue.map(Dependency::from),
        },
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

impl From<DependencyCheck> for Dependency {
    fn from(check: DependencyCheck) -> Self {
        Self {
            status: if check.up { "up" } else { "down" },
            engine: check.engine,
            latency_ms: check.latency.as_secs_f64() * 1000.0,
            error: check.error,
        }
    }
}

/// Prometheus text. The source gauges are refreshed from the store first (one query), so lag
/// keeps growing between collection runs as it does in reality.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "Service",
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
pub async fn metrics(State(api): State<Api>) -> impl IntoResponse {
    api.services.refresh_source_gauges().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        api.metrics.render(),
    )
}
