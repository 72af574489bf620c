//! Subscription checks, delivery to a live receiver, notification formats.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use chrono::Duration;

use super::delivery::{notify_window, tick};
use super::endpoints::{check_expiration, supported_resource};
use super::*;
use crate::state::{Inner, lock};

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
