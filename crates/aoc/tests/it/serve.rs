use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ENGINES, TestDb, stderr, stdout};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn wait_healthy(base: &str, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("aoc serve exited early: {status}");
        }
        if let Ok(response) = reqwest::get(format!("{base}/health")).await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("aoc serve did not become healthy");
}

/// Starts `aoc serve` with `args` on a free loopback port and waits until it is healthy.
pub(crate) async fn start_serve(
    db: &TestDb,
    args: &[&str],
    env: &[(&str, &str)],
    stderr: Stdio,
) -> (Child, u16) {
    let port = free_port();
    let mut command = db.aoc();
    command
        .arg("serve")
        .args(args)
        .args(["--bind", &format!("127.0.0.1:{port}")]);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stderr(stderr)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_healthy(&format!("http://127.0.0.1:{port}"), &mut child).await;
    (child, port)
}

fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// The README's run command: `serve --sample` shows events at once, logs each request once as
/// JSON, and stops cleanly on SIGTERM.
#[tokio::test]
async fn serve_with_the_sample_answers_and_stops_on_sigterm() {
    for engine in ENGINES {
        let db = TestDb::new(engine, "serve_sample").await;
        let (mut child, port) = start_serve(&db, &["--sample"], &[], Stdio::piped()).await;
        let base = format!("http://127.0.0.1:{port}");

        let page: Value = reqwest::get(format!("{base}/api/events?page_size=100"))
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let items = page["items"].as_array().expect("items");
        assert!(
            items.len() >= 20,
            "{engine:?}: the sample shows events: {}",
            items.len()
        );
        let id = items[0]["id"].as_str().expect("id");
        let one: Value = reqwest::get(format!("{base}/api/events/{id}"))
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(one["id"], id);
        let response = reqwest::Client::new()
            .get(format!("{base}/api/events?page_size=0"))
            .header("x-request-id", "it-req-1")
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["x-request-id"], "it-req-1");
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert!(metrics.contains("aoc_http_requests_total"), "{metrics}");
        assert!(
            metrics.contains("aoc_store_operation_duration_seconds"),
            "{metrics}"
        );

        sigterm(&child);
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "aoc serve did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "{engine:?}: exit {status}");

        // Logs are JSON lines; the failed request is logged once with its id, route and status.
        let logs: Vec<Value> = BufReader::new(child.stderr.take().expect("stderr"))
            .lines()
            .map_while(Result::ok)
            .map(|line| {
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
            })
            .collect();
        let request_logs: Vec<&Value> = logs
            .iter()
            .filter(|l| l["request_id"] == "it-req-1")
            .collect();
        assert_eq!(request_logs.len(), 1, "{request_logs:?}");
        let log = request_logs[0];
        assert_eq!(log["route"], "/api/events");
        assert_eq!(log["status"], 400);
        assert_eq!(log["method"], "GET");
        assert!(log["latency_ms"].as_f64().is_some());
        assert!(
            logs.iter().any(|l| l["message"] == "aoc serve stopped"),
            "clean stop logged"
        );
    }
}

/// A request in flight when SIGTERM arrives still gets its answer.
#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "graceful").await;
    let (mut child, port) = start_serve(&db, &["--sample"], &[], Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    // A request that has started (its first header line is in) when SIGTERM arrives.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /api/events?page_size=500 HTTP/1.1\r\nHost: aoc\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The server is draining: new connections are refused, the started request is answered.
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "a new connection was accepted while draining"
    );
    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .expect("finish the request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"items\""), "a complete body");
    let status = child.wait().expect("wait");
    assert!(status.success());
}

/// Retention runs when `serve` starts (and every hour after): collected events older than
/// RETENTION_DAYS go; events imported from files stay for RETENTION_DAYS from their import,
/// however old they are (an investigation imports last year's evidence).
#[tokio::test]
async fn serve_applies_the_retention_and_keeps_imported_evidence() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "retention").await;
    let store = db.store().await;
    // Last year's Purview export, imported today: its records happened in March 2025.
    let output = db
        .aoc()
        .args(["import", "--json"])
        .arg(crate::support::fixture("purview/audit_export.csv"))
        .env("RETENTION_DAYS", "30")
        .output()
        .expect("import");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(report["retention_days"], 30, "{report}");
    assert!(report["kept_until"].is_string(), "{report}");
    let imported =
        aoc_store::testsuite::collect_pages(&*store, &aoc_model::EventQuery::default()).await;
    assert!(imported.len() >= 4, "{report}");
    assert!(
        imported
            .iter()
            .all(|e| e.source == aoc_store::IMPORT_SOURCE)
    );
    // Collected events of the same days, and ten more collected an hour ago.
    let mut collected = aoc_store::testsuite::data::fixture_events();
    for event in &mut collected {
        event.source = "o365.Audit.General".into();
        event.tenant_id = aoc_model::TenantId::new("collected-tenant");
        event.refresh_id();
    }
    store.insert_events(&collected).await.expect("insert");
    let old = store.count_events().await.expect("count") - imported.len() as u64;
    let mut recent = aoc_store::testsuite::data::varied_events(10);
    for event in &mut recent {
        event.timestamp = chrono::Utc::now() - chrono::Duration::hours(1);
    }
    store.insert_events(&recent).await.expect("insert");
    let expected = imported.len() + recent.len();

    let (mut child, _) = start_serve(&db, &[], &[("RETENTION_DAYS", "30")], Stdio::null()).await;
    let start = Instant::now();
    let mut left = store.count_events().await.expect("count");
    while left > expected as u64 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = store.count_events().await.expect("count");
    }
    sigterm(&child);
    let _ = child.wait();
    let page = store
        .query_events(
            &aoc_model::EventQuery::default()
                .with_page_size(500)
                .expect("size"),
        )
        .await
        .expect("query");
    let ids: Vec<_> = page.items.iter().map(|e| e.id).collect();
    assert_eq!(
        ids.len(),
        expected,
        "the {old} old collected events are gone; the imported and recent ones stay"
    );
    assert!(recent.iter().all(|e| ids.contains(&e.id)));
    assert!(
        imported.iter().all(|e| ids.contains(&e.id)),
        "every imported record stays"
    );
}

/// The README's run command: `serve --demo` collects a live tenant from the built-in simulator.
#[tokio::test]
async fn serve_demo_collects_from_the_built_in_simulator() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "serve_demo").await;
    let (mut child, port) = start_serve(&db, &["--demo"], &[], Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let sources = loop {
        let sources: serde_json::Value = client
            .get(format!("{base}/api/sources"))
            .send()
            .await
            .expect("sources")
            .json()
            .await
            .expect("json");
        let list = sources["sources"].as_array().cloned().unwrap_or_default();
        if list.len() == 8 && list.iter().all(|s| s["status"] == "ok") {
            break list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "demo did not collect: {sources}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert!(
        sources
            .iter()
            .all(|s| s["last_run"]["new"].as_u64() > Some(0)),
        "{sources:?}"
    );
    let page: serde_json::Value = client
        .get(format!("{base}/api/events?page_size=5"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5), "{page}");
    // Loopback and nothing about sign-in configured: local mode, the caller holds every role.
    let me: serde_json::Value = client
        .get(format!("{base}/api/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["auth"], "off", "{me}");
    assert_eq!(
        me["roles"],
        serde_json::json!(["Reader", "Analyst", "Admin"])
    );
    sigterm(&child);
    assert!(child.wait().expect("wait").success());
}

/// With AUTH_TENANT_ID and AUTH_AUDIENCE, `/api` needs a token; `/health` stays open. (Entra ID
/// is a closed port here: a token would meet 503, no token meets 401.)
#[tokio::test]
async fn serve_with_sign_in_refuses_callers_without_a_token() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "serve_sign_in").await;
    let env = [
        ("AUTH_TENANT_ID", "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"),
        ("AUTH_AUDIENCE", "api://aoc"),
        ("AUTH_AUTHORITY", "http://127.0.0.1:9"),
    ];
    let (mut child, port) = start_serve(&db, &[], &env, Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for path in ["/api/events", "/api/me", "/api/sources"] {
        let response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{path}");
    }
    let response = client
        .get(format!("{base}/api/events"))
        .bearer_auth("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJ2ZXIiOiIyLjAifQ.c2ln")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 503, "no keys to check it with");
    let health = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    sigterm(&child);
    assert!(child.wait().expect("wait").success());
}
