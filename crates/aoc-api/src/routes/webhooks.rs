//! `POST /api/webhooks/graph`: Microsoft Graph change notifications.
//!
//! Graph first checks the URL with a validation request (a `validationToken` in the query,
//! echoed as plain text), then posts batches of notifications, each carrying the `clientState`
//! given when subscribing. Graph wants an answer within 3 seconds, so valid notifications are
//! handed to the scheduler without waiting and answered with 202 at once.
//!
//! Graph keeps the query string of the subscription's `notificationUrl` (`?tenant=…`) on every
//! request, so unknown query parameters are ignored here, unlike on the other routes.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::params::RawQuery;

const VALIDATION_TOKEN: &str = "validationToken";

fn count(outcome: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("aoc_webhook_notifications_total", "outcome" => outcome)
            .increment(n as u64);
    }
}

pub async fn graph(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(webhook) = state.webhook.as_deref() else {
        return Err(ApiError::Disabled(
            "Graph change notifications are not enabled on this server",
        ));
    };
    // A validation request: echo the token, decoded with form semantics, and nothing else. Its
    // body is never read.
    if let Some(token) = form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .find_map(|(name, value)| (name == VALIDATION_TOKEN).then_some(value))
    {
        let mut response = (StatusCode::OK, token.into_owned()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        // The token comes from the caller: never let a browser read it as anything but text.
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        return Ok(response);
    }

    let body = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::InvalidBody(rejection.body_text())
            }
        })?;
    let batch: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidBody(format!("not JSON: {e}")))?;
    let Some(notifications) = batch.get("value").and_then(Value::as_array) else {
        return Err(ApiError::InvalidBody(
            "expected a change notification collection: {\"value\": [ … ]}".into(),
        ));
    };

    let delivery = webhook.deliver(notifications);
    count("accepted", delivery.accepted);
    count("rejected", delivery.rejected);
    count("malformed", delivery.malformed);
    count("dropped", delivery.dropped);
    if delivery.rejected > 0 {
        // The values themselves are never logged: one of them may be a near miss of the secret.
        tracing::warn!(
            rejected = delivery.rejected,
            of = notifications.len(),
            "Graph notifications without the configured clientState discarded"
        );
    }
    if delivery.malformed > 0 {
        tracing::warn!(
            malformed = delivery.malformed,
            "Graph notifications without a tenant GUID, resource or subscription id ignored"
        );
    }
    if delivery.dropped > 0 {
        tracing::debug!(
            dropped = delivery.dropped,
            "scheduler queue full; it polls on schedule anyway"
        );
    }
    if delivery.authenticated() == 0 {
        return Err(ApiError::Forbidden(
            "no notification carried the clientState this server expects".into(),
        ));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
