//! Graph change notifications: `/v1.0/subscriptions` with the validation handshake, delivery of
//! `users` / `groups` change notifications when directory-audit records appear, lifecycle
//! notifications on request.

// Error paths return the finished error answer (a `Response`), which is large by nature.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Weak};
use std::time::Duration as StdDuration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Resource, verify};
use crate::config::FaultKind;
use crate::data::Rec;
use crate::generate::graph_time;
use crate::state::{
    Inner, Surface, graph_error, graph_ids, host, json_response, lock, run_with_fault,
    with_graph_ids,
};

/// How often the notifier looks for new records.
pub(crate) const TICK: StdDuration = StdDuration::from_secs(2);
/// Validation answers must come within this.
const VALIDATION_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Notification receivers must answer within this.
const DELIVERY_TIMEOUT: StdDuration = StdDuration::from_secs(3);
/// Undeliverable notifications are dropped after this.
const RETRY_HORIZON_HOURS: i64 = 4;
/// Largest lifetime of `users` / `groups` subscriptions.
const MAX_LIFETIME_MINUTES: i64 = 41_760;
/// Shorter requested lifetimes are raised to this.
const MIN_LIFETIME_MINUTES: i64 = 45;
/// Subscriptions per app per tenant.
const QUOTA: usize = 100;

/// One Graph subscription.
#[derive(Debug, Clone)]
pub(crate) struct GraphSubscription {
    pub id: String,
    pub tid: String,
    pub app_id: String,
    pub creator_id: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub resource: String,
    pub expiration: DateTime<Utc>,
    pub client_state: Option<String>,
    pub tls: String,
    /// Records available up to here have been notified.
    pub cursor: DateTime<Utc>,
    /// A `reauthorizationRequired` lifecycle event is pending: delivery is paused.
    pub needs_reauth: bool,
}

impl GraphSubscription {
    fn to_json(&self, host: &str, with_context: bool) -> Value {
        let mut m = serde_json::Map::new();
        if with_context {
            m.insert(
                "@odata.context".into(),
                json!(format!(
                    "http://{host}/v1.0/$metadata#subscriptions/$entity"
                )),
            );
        }
        m.insert("id".into(), json!(self.id));
        m.insert("applicationId".into(), json!(self.app_id));
        m.insert("creatorId".into(), json!(self.creator_id));
        m.insert("includeResourceData".into(), json!(false));
        m.insert("encryptionCertificate".into(), Value::Null);
        m.insert("encryptionCertificateId".into(), Value::Null);
        m.insert("notificationQueryOptions".into(), Value::Null);
        m.insert("notificationUrlAppId".into(), Value::Null);
        m.insert("changeType".into(), json!(self.change_type));
        m.insert("notificationUrl".into(), json!(self.notification_url));
        m.insert("lifecycleNotificationUrl".into(), json!(self.lifecycle_url));
        m.insert("resource".into(), json!(self.resource));
        m.insert(
            "expirationDateTime".into(),
            json!(graph_time(self.expiration)),
        );
        m.insert("clientState".into(), json!(self.client_state));
        m.insert("latestSupportedTlsVersion".into(), json!(self.tls));
        Value::Object(m)
    }

    /// What a directory-audit record means for this subscription: `(resource, type name, id)`.
    fn matches(&self, record: &Value) -> Option<(String, &'static str, String)> {
        let resource = self.resource.to_ascii_lowercase();
        let mut parts = resource.split('/');
        let (kind, filter_id) = (parts.next()?, parts.next());
        let (wanted, collection, odata) = match kind {
            "users" => ("user", "Users", "#Microsoft.Graph.User"),
            "groups" => ("group", "Groups", "#Microsoft.Graph.Group"),
            _ => return None,
        };
        record
            .get("targetResources")?
            .as_array()?
            .iter()
            .filter(|t| {
                t.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|ty| ty.eq_ignore_ascii_case(wanted))
            })
            .filter_map(|t| t.get("id").and_then(Value::as_str))
            .find(|id| filter_id.is_none_or(|f| f.eq_ignore_ascii_case(id)))
            .map(|id| (format!("{collection}/{id}"), odata, id.to_string()))
    }
}

/// Graph's `+00:00` offset style of notification times.
fn offset_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// .NET ticks, the style of `sequenceNumber`.
fn ticks(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(0) / 100 + 621_355_968_000_000_000
}

/// Performs the validation handshake against `url`.
async fn validate(inner: &Inner, url: &str) -> Result<(), String> {
    lock(&inner.stats).validation_requests += 1;
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        inner.rng().guid()
    );
    let mut target =
        url::Url::parse(url).map_err(|e| format!("notification URL '{url}' is not valid: {e}"))?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let response = inner
        .http
        .post(target)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .timeout(VALIDATION_TIMEOUT)
        .body("")
        .send()
        .await
        .map_err(|e| format!("validation request to {url} failed: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = response
        .text()
        .await
        .map_err(|e| format!("validation response from {url} unreadable: {e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "validation request to {url} answered {status}, not 200 OK"
        ));
    }
    if !content_type.starts_with("text/plain") {
        return Err(format!(
            "validation response from {url} has Content-Type '{content_type}', not text/plain"
        ));
    }
    if body != token {
        return Err(format!(
            "Subscription validation request failed. Response must exactly match validationToken query parameter (got {} bytes from {url}).",
            body.len()
        ));
    }
    Ok(())
}

/// POSTs a notification collection; `Ok(status)` on 2xx.
async fn deliver(inner: &Inner, url: &str, items: Vec<Value>) -> Result<u16, String> {
    let body = json!({ "value": items });
    let result = inner
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .timeout(DELIVERY_TIMEOUT)
        .body(body.to_string())
        .send()
        .await;
    match result {
        Ok(response) if response.status().is_success() => {
            lock(&inner.stats).notifications_sent += 1;
            Ok(response.status().as_u16())
        }
        Ok(response) => {
            lock(&inner.stats).notification_failures += 1;
            Err(format!("receiver answered {}", response.status()))
        }
        Err(e) => {
            lock(&inner.stats).notification_failures += 1;
            Err(format!("delivery failed: {e}"))
        }
    }
}

/// Change notifications for `records` under subscription `sub`.
fn change_items(sub: &GraphSubscription, records: &[Arc<Rec>], inner: &Inner) -> Vec<Value> {
    records
        .iter()
        .filter_map(|r| {
            let value: Value = serde_json::from_str(&r.json).ok()?;
            let (resource, odata, id) = sub.matches(&value)?;
            Some(json!({
                "id": format!("simNotif{}", inner.rng().hex_upper(12)),
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": offset_time(sub.expiration),
                "clientState": sub.client_state,
                "changeType": "updated",
                "resource": resource,
                "tenantId": sub.tid,
                "resourceData": {
                    "@odata.type": odata,
                    "@odata.id": resource,
                    "id": id,
                    "organizationId": sub.tid,
                    "sequenceNumber": ticks(r.available)
                }
            }))
        })
        .collect()
}

/// Delivers notifications for records that became available in `(after, until]` under `sub`;
/// `true` when there was nothing to send or the receiver took them.
pub(crate) async fn notify_window(
    inner: &Inner,
    sub: &GraphSubscription,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> bool {
    let records = inner
        .data
        .directory_audits_available(&sub.tid, after, until);
    let items = change_items(sub, &records, inner);
    if items.is_empty() {
        return true;
    }
    deliver(inner, &sub.notification_url, items).await.is_ok()
}

/// The subscription a [`crate::NotifyTarget`] stands for (one per resource kind).
fn target_subscriptions(inner: &Inner, now: DateTime<Utc>) -> Vec<GraphSubscription> {
    let Some(target) = &inner.config.notify else {
        return Vec::new();
    };
    let tid = crate::profile::tenant_id(&target.tenant);
    ["users", "groups"]
        .iter()
        .map(|resource| GraphSubscription {
            id: crate::rng::guid_of(&[b"notify-target", tid.as_bytes(), resource.as_bytes()]),
            tid: tid.clone(),
            app_id: String::new(),
            creator_id: String::new(),
            change_type: "updated,deleted".into(),
            notification_url: target.url.clone(),
            lifecycle_url: None,
            resource: (*resource).to_string(),
            expiration: now + Duration::days(3),
            client_state: Some(target.client_state.clone()),
            tls: "v1_2".into(),
            cursor: now,
            needs_reauth: false,
        })
        .collect()
}

/// The background notifier: every [`TICK`], notify what became available since the last tick.
pub(crate) async fn run(weak: Weak<Inner>) {
    loop {
        tokio::time::sleep(TICK).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        tick(&inner).await;
    }
}

async fn tick(inner: &Inner) {
    let now = Utc::now();
    // Configured target: one cursor for both resources.
    let cursor = *lock(&inner.notify_cursor);
    match cursor {
        None => *lock(&inner.notify_cursor) = Some(now),
        Some(after) => {
            let mut ok = true;
            for sub in target_subscriptions(inner, now) {
                ok &= notify_window(inner, &sub, after, now).await;
            }
            if ok || now - after > Duration::hours(RETRY_HORIZON_HOURS) {
                *lock(&inner.notify_cursor) = Some(now);
            }
        }
    }
    // Subscriptions.
    let subs: Vec<GraphSubscription> = {
        let mut all = lock(&inner.graph_subscriptions);
        all.retain(|_, s| s.expiration > now);
        all.values().cloned().collect()
    };
    for sub in subs {
        // While reauthorization is pending, changes are lost (as documented).
        let ok = sub.needs_reauth || notify_window(inner, &sub, sub.cursor, now).await;
        if (ok || now - sub.cursor > Duration::hours(RETRY_HORIZON_HOURS))
            && let Some(s) = lock(&inner.graph_subscriptions).get_mut(&sub.id)
        {
            s.cursor = now;
        }
    }
}

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
fn check_expiration(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
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

fn supported_resource(resource: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_and_expirations() {
        assert!(supported_resource("users"));
        assert!(supported_resource("groups/abc/members"));
        assert!(!supported_resource("auditLogs/directoryAudits"));
        assert!(!supported_resource("me/messages"));
        let now = Utc::now();
        let soon = (now + Duration::minutes(5)).to_rfc3339();
        let raised = check_expiration(&soon, now).expect("raised");
        assert_eq!(raised, now + Duration::minutes(MIN_LIFETIME_MINUTES));
        assert!(check_expiration(&(now - Duration::minutes(5)).to_rfc3339(), now).is_err());
        assert!(check_expiration(&(now + Duration::days(30)).to_rfc3339(), now).is_err());
        assert!(check_expiration("2025-03-29T09:00:00.0000000Z", DateTime::UNIX_EPOCH).is_err());
    }

    /// A receiver collecting notification collections; its URL.
    async fn collector() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |Json(body): Json<Value>| {
                let store = store.clone();
                async move {
                    lock(&store).push(body);
                    StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, seen)
    }

    fn inner(notify: Option<crate::NotifyTarget>) -> Inner {
        Inner::new(crate::SimulatorConfig {
            seed: 3,
            records_per_hour: 600,
            notify,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn new_directory_audits_are_pushed_with_the_client_state() {
        let (url, seen) = collector().await;
        let inner = inner(None);
        let tid = "7c0d1e2f-3a4b-4c5d-8e6f-708192a3b4c5";
        let now = Utc::now();
        let sub = GraphSubscription {
            id: "4c6e8a0c-2d3f-4b5a-9c7e-1f3a5c7e9b46".into(),
            tid: tid.into(),
            app_id: "app".into(),
            creator_id: "creator".into(),
            change_type: "updated,deleted".into(),
            notification_url: url,
            lifecycle_url: None,
            resource: "users".into(),
            expiration: now + Duration::days(2),
            client_state: Some("secret-state".into()),
            tls: "v1_2".into(),
            cursor: now,
            needs_reauth: false,
        };
        let (after, until) = (now - Duration::hours(8), now - Duration::hours(4));
        let records = inner.data.directory_audits_available(tid, after, until);
        let user_targeted = records
            .iter()
            .filter(|r| r.json.contains("\"type\":\"User\""))
            .count();
        assert!(user_targeted > 0);
        assert!(notify_window(&inner, &sub, after, until).await);
        let seen = lock(&seen).clone();
        assert_eq!(seen.len(), 1, "one collection per window");
        let items = seen[0]["value"].as_array().expect("value");
        assert_eq!(items.len(), user_targeted);
        for item in items {
            assert_eq!(item["clientState"], "secret-state");
            assert_eq!(item["subscriptionId"], sub.id.as_str());
            assert_eq!(item["tenantId"], tid);
            assert_eq!(item["changeType"], "updated");
            let resource = item["resource"].as_str().expect("resource");
            assert!(resource.starts_with("Users/"));
            assert_eq!(item["resourceData"]["@odata.id"], resource);
            assert_eq!(item["resourceData"]["@odata.type"], "#Microsoft.Graph.User");
        }
        assert_eq!(lock(&inner.stats).notifications_sent, 1);
    }

    #[tokio::test]
    async fn the_configured_target_gets_users_and_groups_changes() {
        let (url, seen) = collector().await;
        let tid = "8d1e2f30-4b5c-4d6e-9f70-8192a3b4c5d6";
        let inner = inner(Some(crate::NotifyTarget {
            url,
            client_state: "target-state".into(),
            tenant: tid.into(),
        }));
        *lock(&inner.notify_cursor) = Some(Utc::now() - Duration::hours(24));
        tick(&inner).await;
        let seen = lock(&seen).clone();
        let items: Vec<&Value> = seen
            .iter()
            .flat_map(|c| c["value"].as_array().into_iter().flatten())
            .collect();
        assert!(items.iter().any(|i| {
            i["resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("Users/"))
        }));
        assert!(items.iter().any(|i| {
            i["resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("Groups/"))
        }));
        assert!(items.iter().all(|i| i["clientState"] == "target-state"));
        assert!(lock(&inner.notify_cursor).is_some_and(|c| Utc::now() - c < Duration::minutes(1)));
    }

    #[test]
    fn notification_times() {
        let t = DateTime::parse_from_rfc3339("2025-03-29T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(offset_time(t), "2025-03-29T09:00:00+00:00");
        assert!(ticks(t) > 638_000_000_000_000_000);
    }
}
