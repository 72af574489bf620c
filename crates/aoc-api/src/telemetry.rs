//! Request ids, the one log line per request, and HTTP metrics, in one middleware so the log
//! and `/metrics` always agree; and every metric the HTTP door writes, declared here.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const HTTP_REQUESTS: &str = "aoc_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "aoc_http_request_duration_seconds";
pub const HTTP_RATE_LIMITED: &str = "aoc_http_rate_limited_total";
pub const WEBHOOK_NOTIFICATIONS: &str = "aoc_webhook_notifications_total";

/// Describes the HTTP door's metrics, once per process.
pub fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route and status");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        "HTTP request latency by method and route"
    );
    metrics::describe_counter!(
        HTTP_RATE_LIMITED,
        "Requests refused with 429 by the per-caller rate limit"
    );
    metrics::describe_counter!(
        WEBHOOK_NOTIFICATIONS,
        "Graph change notifications received, by outcome"
    );
}

/// A request refused by the per-caller rate limit.
pub fn rate_limited() {
    metrics::counter!(HTTP_RATE_LIMITED).increment(1);
}

/// `n` Graph change notifications, by what became of them.
pub fn webhook_notifications(outcome: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(WEBHOOK_NOTIFICATIONS, "outcome" => outcome).increment(n as u64);
    }
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A caller's id is kept when it is short and plain; anything else is replaced, so a hostile
/// header cannot flood or forge log lines.
fn accepted_id(value: Option<&HeaderValue>) -> Option<String> {
    let value = value?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!value.is_empty() && value.len() <= 128 && value.chars().all(plain)).then(|| value.to_owned())
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = accepted_id(request.headers().get(&REQUEST_ID))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    request.extensions_mut().insert(RequestId(id.clone()));

    let span = tracing::info_span!("request", request_id = %id);
    // Logs written while serving the request carry its id.
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;

    let status = response.status().as_u16();
    let latency = start.elapsed();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method.to_string(),
        "route" => route.clone()
    )
    .record(latency.as_secs_f64());
    tracing::info!(
        request_id = %id,
        method = %method,
        route = %route,
        status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
