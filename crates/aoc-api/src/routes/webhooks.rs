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

use crate::Api;
use crate::error::ApiError;
use crate::params::RawQuery;

const VALIDATION_TOKEN: &str = "validationToken";

#[utoipa::path(post, path = "/webhooks/graph", operation_id = "graphWebhook", tag = "Collection",
    summary = "Receive Microsoft Graph change notifications",
    description = "Called by Microsoft Graph, not by people: a change in a tenant (a user, a \
        group's members) makes the scheduler collect that tenant's directory audits at once \
        instead of at its next run. On only when the server has a `clientState` secret \
        (`WEBHOOK_CLIENT_STATE`); otherwise every request is a 404. Graph proves itself with \
        that secret in each notification, not with a token. A request with `validationToken` is \
        Graph checking the URL: the answer echoes the token as plain text.",
    params(crate::openapi::params::GraphValidation),
    request_body(
        content = crate::openapi::schemas::ChangeNotificationCollection,
        description = "A change notification collection; not read on a validation request.",
        content_type = "application/json",
    ),
    responses(
        (status = 200, description = "Validation: the `validationToken`, decoded, as the whole \
            body.", body = String, content_type = "text/plain"),
        (status = 202, description = "At least one notification carried the right \
            `clientState`; valid ones are passed to the scheduler."),
        (status = 400, description = "The body is not JSON, or has no `value` array \
            (`/problems/invalid-body`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "No notification carried the right `clientState`; nothing \
            is passed on (`/problems/forbidden`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Graph change notifications are not enabled on this server \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
    ),
    security(()),
)]
pub async fn graph(
    State(api): State<Api>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(webhook) = api.webhook.as_deref() else {
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

    let body = Bytes::from_request(request, &api)
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
    crate::telemetry::webhook_notifications("accepted", delivery.accepted);
    crate::telemetry::webhook_notifications("rejected", delivery.rejected);
    crate::telemetry::webhook_notifications("malformed", delivery.malformed);
    crate::telemetry::webhook_notifications("dropped", delivery.dropped);
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
