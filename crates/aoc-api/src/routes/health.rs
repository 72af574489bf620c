//! `GET /health` and `GET /metrics`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use crate::AppState;

const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Dependency {
    status: &'static str,
    engine: &'static str,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    checks: Checks,
}

#[derive(Serialize)]
struct Checks {
    database: Dependency,
}

/// 200 when every dependency answers, 503 with the failing one named otherwise.
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
    let healthy = database.status == "up";
    let body = Health {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { database },
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
