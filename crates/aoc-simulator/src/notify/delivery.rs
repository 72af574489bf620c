//! Talking to receivers: the validation handshake, delivering notification collections, and
//! the background notifier that turns newly available directory audits into change
//! notifications for every live subscription (and the configured target).

use std::sync::{Arc, Weak};

use axum::http::header;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{
    DELIVERY_TIMEOUT, GraphSubscription, RETRY_HORIZON_HOURS, TICK, VALIDATION_TIMEOUT,
    offset_time, ticks,
};
use crate::data::Rec;
use crate::state::{Inner, lock};

/// Performs the validation handshake against `url`.
pub(super) async fn validate(inner: &Inner, url: &str) -> Result<(), String> {
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
pub(super) async fn deliver(inner: &Inner, url: &str, items: Vec<Value>) -> Result<u16, String> {
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
pub(super) async fn notify_window(
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

pub(super) async fn tick(inner: &Inner) {
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
