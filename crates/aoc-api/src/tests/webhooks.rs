//! `POST /api/webhooks/graph` with the Graph notification fixtures.

use tokio::sync::mpsc;

use crate::webhook::{GraphWebhook, WebhookSignal};

use super::*;

const CLIENT_STATE: &str = "aoc-cs-Zk3P9vR2qT8mW1xY";
const CONTOSO: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/notifications/",
            $name
        ))
    };
}

async fn store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hooks.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

/// A server with the webhook on, and the scheduler's end of its channel.
async fn hooked(capacity: usize) -> (Router, mpsc::Receiver<WebhookSignal>) {
    let (tx, rx) = mpsc::channel(capacity);
    let app = router(AppState {
        query_cache: Default::default(),
        webhook: Some(Arc::new(GraphWebhook::new(CLIENT_STATE.into(), tx))),
        ..state_with(store().await, ApiSettings::default())
    });
    (app, rx)
}

async fn notify(app: &Router, body: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
    let request = Request::post("/api/webhooks/graph?tenant=8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    send(app, request).await
}

/// The raw answer to a validation request, body as bytes.
async fn validate(app: &Router, query: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::post(format!("/api/webhooks/graph?{query}"))
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from("this body is not read"))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, headers, bytes.to_vec())
}

fn drain(rx: &mut mpsc::Receiver<WebhookSignal>) -> Vec<WebhookSignal> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[tokio::test]
async fn validation_echoes_the_decoded_token_exactly() {
    let (app, mut rx) = hooked(8).await;
    // The request line of the fixture, its query as Graph sends it (with the notificationUrl's own
    // `tenant` parameter kept).
    let request = fixture!("validation.request.http");
    let target = request
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .expect("request target");
    let (_, query) = target.split_once('?').expect("a query");
    let expected = fixture!("validation.response.http")
        .split_once("\n\n")
        .map(|(_, body)| body)
        .expect("a body");
    assert!(expected.contains(' ') && expected.contains(':'));
    let (status, headers, body) = validate(&app, query).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(String::from_utf8_lossy(&body), expected);
    assert_eq!(body, expected.as_bytes(), "byte for byte");

    // `+` is a space, `%2B` a plus, `%3A` a colon; nothing is re-encoded or quoted.
    let (status, _, body) = validate(&app, "validationToken=a%2Bb+c%3Ad%20e%3Cscript%3E").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"a+b c:d e<script>");
    assert_eq!(drain(&mut rx), [], "a validation is no notification");
}

#[tokio::test]
async fn valid_notifications_are_signalled_and_accepted_at_once() {
    let (app, mut rx) = hooked(8).await;
    let (status, _, body) = notify(&app, fixture!("changeNotification.users.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, Value::String(String::new()), "an empty body");
    assert_eq!(
        drain(&mut rx),
        [
            WebhookSignal::Changed {
                tenant_id: CONTOSO.into(),
                resource: "Users/6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98".into(),
            },
            WebhookSignal::Changed {
                tenant_id: CONTOSO.into(),
                resource: "Users/3f6b2d8e-4c1a-4f0b-9e7d-5a2c8b1f6e30".into(),
            },
        ]
    );
    let (status, _, _) = notify(&app, fixture!("changeNotification.groups.members.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        drain(&mut rx),
        [WebhookSignal::Changed {
            tenant_id: CONTOSO.into(),
            resource: "Groups/6e8a0c2e-4f5b-4d7c-9e9a-3b5d7f9b1d49".into(),
        }]
    );
}

#[tokio::test]
async fn lifecycle_notifications_become_lifecycle_signals() {
    let (app, mut rx) = hooked(8).await;
    let (status, _, _) = notify(&app, fixture!("lifecycle.reauthorizationRequired.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        drain(&mut rx),
        [WebhookSignal::Lifecycle {
            tenant_id: CONTOSO.into(),
            subscription_id: "4c6e8a0c-2d3f-4b5a-9c7e-1f3a5c7e9b46".into(),
            event: "reauthorizationRequired".into(),
        }]
    );
}

#[tokio::test]
async fn a_wrong_client_state_is_refused_and_not_signalled() {
    let (app, mut rx) = hooked(8).await;
    let (status, headers, body) =
        notify(&app, fixture!("changeNotification.badClientState.json")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(!body.to_string().contains(CLIENT_STATE), "{body}");
    assert!(!body.to_string().contains("not-the-secret"), "{body}");
    // A missing clientState, and a near miss of the right one's length.
    let mut missing: Value =
        serde_json::from_str(fixture!("changeNotification.users.json")).expect("json");
    for n in missing["value"].as_array_mut().expect("value") {
        n.as_object_mut().expect("object").remove("clientState");
    }
    let (status, _, _) = notify(&app, &missing.to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let prefix = fixture!("changeNotification.users.json")
        .replace(CLIENT_STATE, &CLIENT_STATE[..CLIENT_STATE.len() - 1]);
    let (status, _, _) = notify(&app, &prefix).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = notify(&app, r#"{"value": []}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(drain(&mut rx), []);

    let (_, _, metrics) = get(&app, "/metrics").await;
    let text = metrics.as_str().expect("text");
    assert!(
        text.contains("aoc_webhook_notifications_total{outcome=\"rejected\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn a_mixed_batch_signals_only_the_valid_notification() {
    let (app, mut rx) = hooked(8).await;
    let good: Value =
        serde_json::from_str(fixture!("changeNotification.groups.members.json")).expect("json");
    let bad: Value =
        serde_json::from_str(fixture!("changeNotification.badClientState.json")).expect("json");
    let batch = serde_json::json!({"value": [bad["value"][0], good["value"][0]]});
    let (status, _, _) = notify(&app, &batch.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        drain(&mut rx),
        [WebhookSignal::Changed {
            tenant_id: CONTOSO.into(),
            resource: "Groups/6e8a0c2e-4f5b-4d7c-9e9a-3b5d7f9b1d49".into(),
        }]
    );
}

#[tokio::test]
async fn a_full_queue_never_holds_the_answer_back() {
    let (app, mut rx) = hooked(1).await;
    let (status, _, _) = notify(&app, fixture!("changeNotification.users.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(drain(&mut rx).len(), 1, "the second did not fit");
    drop(rx);
    // The scheduler is gone: still 202, the notification is only a hint.
    let (status, _, _) = notify(&app, fixture!("changeNotification.users.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn bodies_that_are_not_notification_collections_are_400() {
    let (app, mut rx) = hooked(8).await;
    for body in [
        "{not json",
        "",
        "[]",
        r#"{"value": {}}"#,
        r#"{"values": []}"#,
    ] {
        let (status, headers, problem) = notify(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {problem}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(problem["type"], "/problems/invalid-body");
    }
    assert_eq!(drain(&mut rx), []);
}

#[tokio::test]
async fn without_a_webhook_the_endpoint_is_off() {
    let app = app_with(store().await, ApiSettings::default()).await;
    let (status, headers, _) = notify(&app, fixture!("changeNotification.users.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let (status, headers, body) = validate(&app, "validationToken=hello").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(!String::from_utf8_lossy(&body).contains("hello"));
}

#[tokio::test]
async fn the_body_limit_is_the_configured_one() {
    let (tx, _rx) = mpsc::channel(8);
    let small = ApiSettings {
        max_body_bytes: 1024,
        ..ApiSettings::default()
    };
    let app = router(AppState {
        query_cache: Default::default(),
        webhook: Some(Arc::new(GraphWebhook::new(CLIENT_STATE.into(), tx))),
        ..state_with(store().await, small)
    });
    let (status, _, _) = notify(&app, fixture!("changeNotification.users.json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Larger than axum's own 2 MiB default, within the configured 4 MiB.
    let (tx, mut rx) = mpsc::channel(8);
    let large = ApiSettings {
        max_body_bytes: 4 << 20,
        ..ApiSettings::default()
    };
    let app = router(AppState {
        query_cache: Default::default(),
        webhook: Some(Arc::new(GraphWebhook::new(CLIENT_STATE.into(), tx))),
        ..state_with(store().await, large)
    });
    let mut batch: Value =
        serde_json::from_str(fixture!("changeNotification.groups.members.json")).expect("json");
    batch["padding"] = Value::String("x".repeat(3 << 20));
    let (status, _, _) = notify(&app, &batch.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(drain(&mut rx).len(), 1);
}
