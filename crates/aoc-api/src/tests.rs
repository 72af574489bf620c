//! The router driven in-process (no socket) against real stores.

mod ask;
mod ask_reading;
mod auth;
mod collection;
mod dashboard;
mod investigation;
mod openapi;
mod query_cache;
mod webhooks;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::Value;
use tower::ServiceExt;

use aoc_normalize::{Context, normalize};
use aoc_store::{EventStore, Store};
use aoc_store_sqlite::SqliteStore;

use crate::{ApiSettings, AppState, router};

/// One recorder per test process: the `metrics` facade is process-wide.
fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("recorder")
        })
        .clone()
}

fn fixture_events() -> Vec<aoc_model::Event> {
    let text = include_str!("../../../fixtures/o365mgmt/content.blob.Audit.Exchange.json");
    let more = include_str!("../../../fixtures/graph/signIns.json");
    let mut records: Vec<Value> = serde_json::from_str(text).expect("json");
    let page: Value = serde_json::from_str(more).expect("json");
    records.extend(page["value"].as_array().cloned().unwrap_or_default());
    records
        .into_iter()
        .map(|r| normalize(r, &Context::new("import")).expect("normalizes"))
        .collect()
}

/// The state of a server without collection or webhook.
fn state_with(store: Arc<dyn Store>, settings: ApiSettings) -> AppState {
    AppState {
        query_cache: Default::default(),
        jobs: Arc::clone(&store) as Arc<dyn aoc_store::JobQueue>,
        store,
        metrics: metrics(),
        settings: Arc::new(settings),
        collection: None,
        webhook: None,
        auth: None,
        ai: None,
    }
}

async fn app_with(store: Arc<dyn Store>, settings: ApiSettings) -> Router {
    router(state_with(store, settings))
}

async fn app() -> (Router, Vec<aoc_model::Event>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("api.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let events = fixture_events();
    store.insert_events(&events).await.expect("insert");
    (
        app_with(Arc::new(store), ApiSettings::default()).await,
        events,
    )
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 10 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, body)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
    send(app, Request::get(uri).body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn events_page_has_items_and_a_cursor() {
    let (app, events) = app().await;
    let (status, _, body) = get(&app, "/api/events?page_size=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(3));
    let cursor = body["next_cursor"].as_str().expect("a next page");
    // Follow the cursors to the end: every event exactly once.
    let mut seen = body["items"].as_array().cloned().unwrap_or_default();
    let mut next = Some(cursor.to_owned());
    while let Some(cursor) = next {
        let (status, _, body) =
            get(&app, &format!("/api/events?page_size=3&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(body["items"].as_array().cloned().unwrap_or_default());
        next = body["next_cursor"].as_str().map(str::to_owned);
    }
    let mut ids: Vec<&str> = seen.iter().filter_map(|e| e["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len());
    assert_eq!(seen.len(), events.len());
}

#[tokio::test]
async fn filters_narrow_the_page() {
    let (app, _) = app().await;
    let (_, _, body) = get(&app, "/api/events?service=Exchange&page_size=500").await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|e| e["service"] == "Exchange"));
    let (_, _, body) = get(
        &app,
        "/api/events?result=failure&actor=DANA.PARK%40contoso.com",
    )
    .await;
    let items = body["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|e| e["result"] == "failure" && e["actor"]["upn"] == "dana.park@contoso.com")
    );
    let (_, _, body) = get(
        &app,
        "/api/events?ip=%5B%3A%3Affff%3A203.0.113.201%5D%3A443",
    )
    .await;
    assert!(
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["client_ip"] == "203.0.113.201")
    );
    let (_, _, body) = get(
        &app,
        "/api/events?q=fabrikam&from=2025-03-01&to=2025-03-02T00:00:00Z",
    )
    .await;
    assert!(!body["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn bad_parameters_get_problem_json_naming_them() {
    let (app, _) = app().await;
    let long = "x".repeat(10_000);
    for (query, name) in [
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page_size=ten", "page_size"),
        ("cursor=garbage", "cursor"),
        ("from=yesterday", "from"),
        ("from=2025-03-02&to=2025-03-01", "from"),
        ("ip=300.1.1.1", "ip"),
        ("result=maybe", "result"),
        ("q=%25%25", "q"),
        (&format!("q={long}"), "q"),
        (&format!("operation={long}"), "operation"),
        ("q=%ED%A0%80", "q"),
        ("actor=", "actor"),
        ("hours=0", "hours"),
        ("order=sideways", "order"),
        ("colour=blue", "colour"),
        ("service=a&service=b", "service"),
    ] {
        let (status, headers, body) = get(&app, &format!("/api/events?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{query}"
        );
        assert_eq!(body["status"], 400);
        assert_eq!(body["invalid_params"][0]["name"], name, "{query}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.starts_with(name)),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn hostile_values_are_answered_not_crashed() {
    let (app, events) = app().await;
    for value in [
        "%27%3B%20DROP%20TABLE%20events%3B%20--",
        "%25",
        "_",
        "%22",
        "kim%22%20OR%20%221",
        "NEAR(a%20b)",
        "%5C",
    ] {
        for name in ["q", "operation", "actor", "service", "tenant", "source"] {
            let (status, _, _) = get(&app, &format!("/api/events?{name}={value}")).await;
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{name}={value}: {status}"
            );
        }
    }
    let (_, _, body) = get(&app, "/api/events?page_size=500").await;
    assert_eq!(
        body["items"].as_array().map(Vec::len),
        Some(events.len()),
        "nothing changed"
    );
}

#[tokio::test]
async fn one_event_by_id() {
    let (app, events) = app().await;
    let id = events[0].id;
    let (status, _, body) = get(&app, &format!("/api/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["raw"], events[0].raw);
    let (status, headers, body) =
        get(&app, "/api/events/00000000-0000-8000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["status"], 404);
    let (status, _, body) = get(&app, "/api/events/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["invalid_params"][0]["name"], "id");
    // Other paths are the dashboard's; an unknown API route is a problem.
    let (status, headers, _) = get(&app, "/api/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn request_ids_are_accepted_generated_and_sanitized() {
    let (app, _) = app().await;
    let (_, headers, _) = get(&app, "/health").await;
    let generated = headers["x-request-id"].to_str().expect("ascii");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let request = Request::get("/api/events")
        .header("x-request-id", "case-4711.retry:2")
        .body(Body::empty());
    let (_, headers, _) = send(&app, request.expect("request")).await;
    assert_eq!(headers["x-request-id"], "case-4711.retry:2");
    let hostile = Request::get("/api/events")
        .header("x-request-id", "a b\"c")
        .body(Body::empty());
    let (_, headers, _) = send(&app, hostile.expect("request")).await;
    assert_ne!(headers["x-request-id"], "a b\"c");
    // Errors carry one too.
    let (_, headers, _) = get(&app, "/api/events?page_size=0").await;
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn health_reports_each_dependency() {
    let (app, _) = app().await;
    let (status, _, body) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["database"]["engine"], "sqlite");
    // A PostgreSQL nobody listens for: the store is down, health says so with 503.
    let down =
        aoc_store_postgres::PostgresStore::connect("postgres://aoc@127.0.0.1:1/aoc").expect("url");
    let app = app_with(Arc::new(down), ApiSettings::default()).await;
    let (status, _, body) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"]["database"]["status"], "down");
    let (status, headers, body) = get(&app, "/api/events").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(
        !body.to_string().contains("127.0.0.1:1"),
        "no connection details leak: {body}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let (app, _) = app().await;
    get(&app, "/api/events?page_size=2").await;
    get(&app, "/api/events?page_size=0").await;
    let (status, _, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().expect("text");
    assert!(text.contains("aoc_http_requests_total{"), "{text}");
    assert!(text.contains("route=\"/api/events\""), "{text}");
    assert!(text.contains("status=\"400\""), "{text}");
    assert!(text.contains("aoc_http_request_duration_seconds"), "{text}");
}

#[tokio::test]
async fn cors_follows_the_configured_origins() {
    let (app, events) = app().await;
    let _ = events;
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/events")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .expect("request")
    };
    // No origins configured: no CORS headers at all.
    let (_, headers, _) = send(&app, preflight("https://evil.example")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    let listed = ApiSettings {
        cors_origins: vec!["https://aoc.contoso.com".into()],
        ..ApiSettings::default()
    };
    let app = app_with(Arc::clone(&store), listed).await;
    let (_, headers, _) = send(&app, preflight("https://aoc.contoso.com")).await;
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://aoc.contoso.com"
    );
    let (_, headers, _) = send(&app, preflight("https://evil.example")).await;
    assert_ne!(
        headers
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://evil.example"[..])
    );

    let any = ApiSettings {
        cors_origins: vec!["*".into()],
        ..ApiSettings::default()
    };
    let app = app_with(store, any).await;
    let (_, headers, _) = send(&app, preflight("https://anyone.example")).await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(!headers.contains_key("access-control-allow-credentials"));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (app, _) = app().await;
    let body = vec![b'x'; 2 * 1024 * 1024];
    let request = Request::post("/api/events")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request");
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
