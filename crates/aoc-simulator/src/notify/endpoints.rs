//! The subscription endpoints: `/v1.0/subscriptions` (create with the validation handshake,
//! list, get, renew, delete, reauthorize) and the simulator's lifecycle-notification trigger.

// Error paths return the finished error answer (a `Response`), which is large by nature.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::delivery::{deliver, validate};
use super::{GraphSubscription, MAX_LIFETIME_MINUTES, MIN_LIFETIME_MINUTES, QUOTA, offset_time};
use crate::auth::{Resource, verify};
use crate::config::FaultKind;
use crate::state::{
    Inner, Surface, graph_error, graph_ids, host, json_response, lock, run_with_fault,
    with_graph_ids,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    change_type: Option<String>,
    notification_url: Option<String>,
    lifecycle_notification_url: Option<String>,
    resource: Option<String>,
    expiration_date_time: Option<String>,
    client_state: Option<String>,
    latest_supported_tls_version: Option<String>,
}

fn bad_request(ids: &(String, String), message: &str) -> Response {
    graph_error(
        ids,
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
        message,
        None,
    )
}

/// Checks a requested expiration: in the future, within the maximum, raised to the minimum.
pub(super) fn check_expiration(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("expirationDateTime '{text}' is not a valid DateTimeOffset."))?;
    if t <= now {
        return Err("Subscription expiration can only be in the future.".into());
    }
    if t > now + Duration::minutes(MAX_LIFETIME_MINUTES) {
        return Err(format!(
            "Subscription expiration exceeds the maximum allowed lifetime of {MAX_LIFETIME_MINUTES} minutes for this resource."
        ));
    }
    Ok(t.max(now + Duration::minutes(MIN_LIFETIME_MINUTES)))
}

pub(super) fn supported_resource(resource: &str) -> bool {
    let lower = resource.trim_start_matches('/').to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    matches!(
        parts.as_slice(),
        ["users" | "groups"] | ["users" | "groups", _] | ["groups", _, "members" | "owners"]
    )
}

const SUBSCRIPTION_FAULTS: [FaultKind; 3] =
    [FaultKind::Throttle, FaultKind::ServerError, FaultKind::Slow];

/// `POST /v1.0/subscriptions`.
pub(crate) async fn create(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.count_request("graph.subscriptions");
    let ids = graph_ids(&inner, &headers);
    let claims = match verify(&inner, &headers, Resource::Graph) {
        Ok(c) => c,
        Err(p) => {
            return graph_error(
                &ids,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                p.graph_message(),
                None,
            );
        }
    };
    let fault = inner.pick_fault(&SUBSCRIPTION_FAULTS);
    let handler = async {
        let request: CreateRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return graph_error(
                    &ids,
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("The request body is not a valid subscription: {e}"),
                    None,
                );
            }
        };
        let now = Utc::now();
        let (Some(change_type), Some(url), Some(resource), Some(expiration)) = (
            request.change_type.filter(|s| !s.is_empty()),
            request.notification_url.filter(|s| !s.is_empty()),
            request.resource.filter(|s| !s.is_empty()),
            request.expiration_date_time.filter(|s| !s.is_empty()),
        ) else {
            return bad_request(
                &ids,
                "changeType, notificationUrl, resource and expirationDateTime are required.",
            );
        };
        if !supported_resource(&resource) {
            return bad_request(
                &ids,
                &format!(
                    "Resource '{resource}' is not supported for change notifications. (simulated: users, groups and their members/owners; audit logs have no change notifications)"
                ),
            );
        }
        for change in change_type.split(',').map(str::trim) {
            if !matches!(change, "updated" | "deleted") {
                return bad_request(
                    &ids,
                    &format!(
                        "changeType '{change}' is not supported for resource '{resource}': use updated and/or deleted."
                    ),
                );
            }
        }
        for candidate in std::iter::once(&url).chain(request.lifecycle_notification_url.as_ref()) {
            if !(candidate.starts_with("https://") || candidate.starts_with("http://")) {
                return bad_request(&ids, &format!("'{candidate}' is not an HTTP(S) URL."));
            }
        }
        if request
            .client_state
            .as_ref()
            .is_some_and(|s| s.chars().count() > 128)
        {
            return bad_request(&ids, "clientState must be at most 128 characters.");
        }
        let expiration = match check_expiration(&expiration, now) {
            Ok(t) => t,
            Err(message) => return bad_request(&ids, &message),
        };
        let count = lock(&inner.graph_subscriptions)
            .values()
            .filter(|s| s.tid == claims.tid && s.app_id == claims.appid && s.expiration > now)
            .count();
        if count >= QUOTA {
            return graph_error(
                &ids,
                StatusCode::FORBIDDEN,
                "ExtensionError",
                &format!(
                    "Operation on subscriptions failed: the limit of {QUOTA} subscriptions per app per tenant is reached."
                ),
                None,
            );
        }
        if let Err(message) = validate(&inner, &url).await {
            return bad_request(&ids, &message);
        }
        if let Some(lifecycle) = &request.lifecycle_notification_url
            && let Err(message) = validate(&inner, lifecycle).await
        {
            return bad_request(&ids, &message);
        }
        let sub = GraphSubscription {
            id: inner.rng().guid(),
            tid: claims.tid.clone(),
            app_id: claims.appid.clone(),
            creator_id: crate::rng::guid_of(&[
                b"sp",
                claims.tid.as_bytes(),
                claims.appid.as_bytes(),
            ]),
            change_type,
            notification_url: url,
            lifecycle_url: request.lifecycle_notification_url,
            resource,
            expiration,
            client_state: request.client_state,
            tls: request
                .latest_supported_tls_version
                .unwrap_or_else(|| "v1_2".into()),
            cursor: Utc::now(),
            needs_reauth: false,
        };
        let body = sub.to_json(&host(&headers), true);
        lock(&inner.graph_subscriptions).insert(sub.id.clone(), sub);
        with_graph_ids(json_response(StatusCode::CREATED, body.to_string()), &ids)
    };
    let response = run_with_fault(&inner, Surface::Graph, fault, &ids, handler).await;
    inner.ensure_notifier();
    response
}

/// Common start of the other subscription requests: `Ok((ids, tenant, app))`.
fn prelude(
    inner: &Inner,
    headers: &HeaderMap,
) -> Result<((String, String), String, String), Response> {
    inner.count_request("graph.subscriptions");
    let ids = graph_ids(inner, headers);
    match verify(inner, headers, Resource::Graph) {
        Ok(c) => Ok((ids, c.tid, c.appid)),
        Err(p) => Err(graph_error(
            &ids,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            p.graph_message(),
            None,
        )),
    }
}

fn not_found(ids: &(String, String), id: &str) -> Response {
    graph_error(
        ids,
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("The object '{id}' does not exist."),
        None,
    )
}

/// `GET /v1.0/subscriptions`.
pub(crate) async fn list(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let (ids, tid, app) = match prelude(&inner, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let fault = inner.pick_fault(&SUBSCRIPTION_FAULTS);
    let handler = async {
        let now = Utc::now();
        let host = host(&headers);
        let value: Vec<Value> = lock(&inner.graph_subscriptions)
            .values()
            .filter(|s| s.tid == tid && s.app_id == app && s.expiration > now)
            .map(|s| s.to_json(&host, false))
            .collect();
        let body = json!({
            "@odata.context": format!("http://{host}/v1.0/$metadata#subscriptions"),
            "value": value
        });
        with_graph_ids(json_response(StatusCode::OK, body.to_string()), &ids)
    };
    run_with_fault(&inner, Surface::Graph, fault, &ids, handler).await
}

/// Runs `f` on the caller's live subscription `id`.
fn with_subscription<T>(
    inner: &Inner,
    id: &str,
    tid: &str,
    app: &str,
    f: impl FnOnce(&mut GraphSubscription) -> T,
) -> Option<T> {
    let now = Utc::now();
    let mut all = lock(&inner.graph_subscriptions);
    let sub = all
        .get_mut(id)
        .filter(|s| s.tid == tid && s.app_id == app && s.expiration > now)?;
    Some(f(sub))
}

/// `GET /v1.0/subscriptions/{id}`.
pub(crate) async fn get_one(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (ids, tid, app) = match prelude(&inner, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let host = host(&headers);
    match with_subscription(&inner, &id, &tid, &app, |s| s.to_json(&host, true)) {
        Some(body) => with_graph_ids(json_response(StatusCode::OK, body.to_string()), &ids),
        None => not_found(&ids, &id),
    }
}

/// `PATCH /v1.0/subscriptions/{id}` (renew; also reauthorizes).
pub(crate) async fn update(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ids, tid, app) = match prelude(&inner, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let fault = inner.pick_fault(&SUBSCRIPTION_FAULTS);
    let handler = async {
        let request: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return bad_request(&ids, &format!("The request body is not valid JSON: {e}"));
            }
        };
        let Some(text) = request.get("expirationDateTime").and_then(Value::as_str) else {
            return bad_request(&ids, "expirationDateTime is required.");
        };
        let expiration = match check_expiration(text, Utc::now()) {
            Ok(t) => t,
            Err(message) => return bad_request(&ids, &message),
        };
        let host = host(&headers);
        match with_subscription(&inner, &id, &tid, &app, |s| {
            s.expiration = expiration;
            s.needs_reauth = false;
            s.to_json(&host, true)
        }) {
            Some(body) => with_graph_ids(json_response(StatusCode::OK, body.to_string()), &ids),
            None => not_found(&ids, &id),
        }
    };
    run_with_fault(&inner, Surface::Graph, fault, &ids, handler).await
}

/// `DELETE /v1.0/subscriptions/{id}`.
pub(crate) async fn delete(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (ids, tid, app) = match prelude(&inner, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if with_subscription(&inner, &id, &tid, &app, |_| ()).is_none() {
        return not_found(&ids, &id);
    }
    lock(&inner.graph_subscriptions).remove(&id);
    with_graph_ids(StatusCode::NO_CONTENT.into_response(), &ids)
}

/// `POST /v1.0/subscriptions/{id}/reauthorize`.
pub(crate) async fn reauthorize(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (ids, tid, app) = match prelude(&inner, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match with_subscription(&inner, &id, &tid, &app, |s| s.needs_reauth = false) {
        Some(()) => with_graph_ids(StatusCode::NO_CONTENT.into_response(), &ids),
        None => not_found(&ids, &id),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LifecycleQuery {
    event: Option<String>,
}

/// `POST /_simulator/subscriptions/{id}/lifecycle?event=…`: sends a lifecycle notification.
pub(crate) async fn lifecycle(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<LifecycleQuery>,
) -> Response {
    let event = match query.event.as_deref() {
        Some(e @ ("reauthorizationRequired" | "subscriptionRemoved" | "missed")) => e.to_string(),
        other => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("event must be reauthorizationRequired, subscriptionRemoved or missed (got {other:?})") })),
            )
                .into_response();
        }
    };
    let sub = lock(&inner.graph_subscriptions).get(&id).cloned();
    let Some(sub) = sub else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no subscription {id}") })),
        )
            .into_response();
    };
    let Some(url) = sub.lifecycle_url.clone() else {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "error": "the subscription has no lifecycleNotificationUrl" })),
        )
            .into_response();
    };
    match event.as_str() {
        "reauthorizationRequired" => {
            if let Some(s) = lock(&inner.graph_subscriptions).get_mut(&id) {
                s.needs_reauth = true;
            }
        }
        "subscriptionRemoved" => {
            lock(&inner.graph_subscriptions).remove(&id);
        }
        _ => {}
    }
    let item = json!({
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": offset_time(sub.expiration),
        "tenantId": sub.tid,
        "clientState": sub.client_state,
        "lifecycleEvent": event
    });
    match deliver(&inner, &url, vec![item]).await {
        Ok(status) => Json(json!({ "delivered": true, "status": status })).into_response(),
        Err(message) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "delivered": false, "error": message })),
        )
            .into_response(),
    }
}
