//! `/api/sources`, `/api/sources/coverage` and `/api/fetch-audit-logs` against SQLite and
//! PostgreSQL, with a collector whose Microsoft endpoints are a closed port.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use aoc_model::TenantId;
use aoc_sources::m365::{
    AppIdentity, AzureCloud, CollectSettings, Collector, ContentType, Credential, Endpoints,
    HttpPolicy, Secret, SourceKind, TenantConfig,
};
use aoc_store::{ContentRef, FetchCommit, RunRecord, SourceProblem};

use super::*;

const CONTOSO: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
const FABRIKAM: &str = "1b2c3d4e-0000-4000-8000-00000000beef";
/// Nothing listens on the discard port.
const CLOSED: &str = "http://127.0.0.1:9";

#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// A migrated store of its own: a temp file, or a fresh schema of the PostgreSQL at
/// `AOC_TEST_DATABASE_URL` (a test fails, never skips, when it is unreachable).
async fn fresh_store(engine: Engine, name: &str) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("api.db").display());
            std::mem::forget(dir);
            Arc::new(SqliteStore::connect(&url).await.expect("open"))
        }
        Engine::Postgres => {
            let url = aoc_store_postgres::testing::fresh_schema(&format!("aoc_api_{name}")).await;
            Arc::new(aoc_store_postgres::PostgresStore::connect(&url).expect("url"))
        }
    };
    store.migrate().await.expect("migrate");
    store
}

/// A collector for Contoso whose every Microsoft endpoint is a closed port: one attempt per
/// call, so a run fails at once with a transport error.
pub(super) fn unreachable_collector(
    store: Arc<dyn Store>,
    sources: Vec<SourceKind>,
) -> Arc<Collector> {
    let endpoints = Endpoints::new(AzureCloud::Public, Some(CLOSED), Some(CLOSED), Some(CLOSED))
        .expect("endpoints");
    let policy = HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        max_attempts: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
        max_retry_after: Duration::from_millis(10),
    };
    let contoso = TenantConfig {
        id: TenantId::new(CONTOSO),
        name: Some("Contoso".into()),
        app: AppIdentity {
            tenant_id: CONTOSO.into(),
            client_id: "0a1b2c3d-0000-4000-8000-000000000001".into(),
            credential: Credential::Secret(Secret::new("not-a-real-secret")),
        },
        sources,
        publisher_id: CONTOSO.into(),
    };
    let collector = Collector::new(
        store,
        endpoints,
        policy,
        CollectSettings::default(),
        vec![contoso],
        "aoc-api-tests".into(),
    )
    .expect("collector");
    Arc::new(collector)
}

fn app_of(store: Arc<dyn Store>, collection: Option<Arc<Collector>>) -> Router {
    router(AppState {
        query_cache: Default::default(),
        collection,
        ..state_with(store, ApiSettings::default())
    })
}

async fn post(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
    send(
        app,
        Request::post(uri).body(Body::empty()).expect("request"),
    )
    .await
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

fn entry<'a>(body: &'a Value, tenant: &str, source: &str) -> &'a Value {
    body["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|e| e["tenant_id"] == tenant && e["source"] == source)
        .unwrap_or_else(|| panic!("no entry for {tenant} {source}: {body}"))
}

#[tokio::test]
async fn sources_merge_configured_and_stored_with_status_and_lag() {
    for engine in ENGINES {
        let store = fresh_store(engine, "sources").await;
        let contoso = TenantId::new(CONTOSO);
        let fabrikam = TenantId::new(FABRIKAM);
        let now = Utc::now();
        // Contoso sign-ins: ran and succeeded, watermark ten minutes old.
        let started = now - TimeDelta::minutes(3);
        store
            .record_run(
                &contoso,
                "graph.sign_ins",
                &RunRecord::Started { at: started },
            )
            .await
            .expect("started");
        let watermark = (now - TimeDelta::minutes(10))
            .duration_trunc(TimeDelta::seconds(1))
            .expect("trunc");
        store
            .commit_fetch(&FetchCommit {
                tenant: &contoso,
                source: "graph.sign_ins",
                events: &[],
                available_at: None,
                content_id: None,
                watermark: Some(watermark),
            })
            .await
            .expect("commit");
        let finished = now - TimeDelta::minutes(2);
        store
            .record_run(
                &contoso,
                "graph.sign_ins",
                &RunRecord::Succeeded {
                    at: finished,
                    fetched: 12,
                    new: 5,
                    problem: None,
                },
            )
            .await
            .expect("succeeded");
        // Fabrikam Exchange: no longer configured, and its last run failed.
        store
            .record_run(
                &fabrikam,
                "o365.Audit.Exchange",
                &RunRecord::Started { at: started },
            )
            .await
            .expect("started");
        store
            .record_run(
                &fabrikam,
                "o365.Audit.Exchange",
                &RunRecord::Failed {
                    fetched: 0,
                    new: 0,
                    problem: SourceProblem {
                        at: finished,
                        code: Some("AF20023".into()),
                        message: "The subscription was disabled".into(),
                    },
                },
            )
            .await
            .expect("failed");
        // Contoso directory audits: a first run under way.
        store
            .record_run(
                &contoso,
                "graph.directory_audits",
                &RunRecord::Started { at: started },
            )
            .await
            .expect("started");

        let collection = unreachable_collector(
            Arc::clone(&store),
            vec![
                SourceKind::SignIns,
                SourceKind::DirectoryAudits,
                SourceKind::Management(ContentType::Exchange),
            ],
        );
        let app = app_of(store, Some(collection));
        let (status, _, body) = get(&app, "/api/sources").await;
        assert_eq!(status, StatusCode::OK, "{engine:?}: {body}");
        let keys: Vec<(String, String)> = body["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .map(|e| {
                (
                    e["tenant_id"].as_str().unwrap_or_default().to_owned(),
                    e["source"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (FABRIKAM, "o365.Audit.Exchange"),
                (CONTOSO, "graph.directory_audits"),
                (CONTOSO, "graph.sign_ins"),
                (CONTOSO, "o365.Audit.Exchange"),
            ]
            .map(|(t, s)| (t.to_owned(), s.to_owned())),
            "{engine:?}: ordered by tenant, then source"
        );

        let ok = entry(&body, CONTOSO, "graph.sign_ins");
        assert_eq!(ok["configured"], true);
        assert_eq!(ok["tenant_name"], "Contoso");
        assert_eq!(ok["status"], "ok");
        assert_eq!(
            ok["watermark"],
            watermark.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
        assert!(ok["watermark"].as_str().is_some_and(|w| w.ends_with('Z')));
        let lag = ok["lag_seconds"].as_i64().expect("lag");
        assert!((600..660).contains(&lag), "{engine:?}: lag {lag}");
        assert_eq!(ok["last_run"]["fetched"], 12);
        assert_eq!(ok["last_run"]["new"], 5);
        assert_eq!(ok["last_error"], Value::Null);
        assert!(
            ok["last_success"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(ok["last_attempt"].as_str().is_some());

        let failed = entry(&body, FABRIKAM, "o365.Audit.Exchange");
        assert_eq!(failed["configured"], false);
        assert_eq!(failed["tenant_name"], Value::Null);
        assert_eq!(failed["status"], "error");
        assert_eq!(failed["last_error"]["code"], "AF20023");
        assert_eq!(
            failed["last_error"]["message"],
            "The subscription was disabled"
        );
        assert_eq!(failed["lag_seconds"], Value::Null);
        assert_eq!(failed["last_success"], Value::Null);

        let running = entry(&body, CONTOSO, "graph.directory_audits");
        assert_eq!(running["status"], "running");
        assert_eq!(running["last_run"], Value::Null);

        let never = entry(&body, CONTOSO, "o365.Audit.Exchange");
        assert_eq!(never["configured"], true);
        assert_eq!(never["status"], "never_run");
        assert_eq!(never["watermark"], Value::Null);
        assert_eq!(never["last_attempt"], Value::Null);

        // The same figures on /metrics.
        let (_, _, metrics) = get(&app, "/metrics").await;
        let text = metrics.as_str().expect("text");
        let line = |name: &str, tenant: &str, source: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with(&format!("{name}{{"))
                        && l.contains(&format!("tenant=\"{tenant}\""))
                        && l.contains(&format!("source=\"{source}\""))
                })
                .map(|l| l.rsplit(' ').next().unwrap_or_default().to_owned())
        };
        assert_eq!(
            line("aoc_source_up", CONTOSO, "graph.sign_ins").as_deref(),
            Some("1"),
            "{text}"
        );
        assert_eq!(
            line("aoc_source_up", FABRIKAM, "o365.Audit.Exchange").as_deref(),
            Some("0")
        );
        assert_eq!(
            line("aoc_source_last_run_events", CONTOSO, "graph.sign_ins").as_deref(),
            Some("12")
        );
        let lag: f64 = line("aoc_source_lag_seconds", CONTOSO, "graph.sign_ins")
            .expect("lag gauge")
            .parse()
            .expect("number");
        assert!(lag >= 600.0, "{lag}");
        let success: f64 = line(
            "aoc_source_last_success_timestamp_seconds",
            CONTOSO,
            "graph.sign_ins",
        )
        .expect("success gauge")
        .parse()
        .expect("number");
        assert!((success - finished.timestamp() as f64).abs() < 1.0);
    }
}

#[tokio::test]
async fn sources_without_collection_list_stored_states_only() {
    let store = fresh_store(Engine::Sqlite, "stored_only").await;
    let app = app_of(Arc::clone(&store), None);
    let (status, _, body) = get(&app, "/api/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"sources": []}));
    store
        .record_run(
            &TenantId::new(CONTOSO),
            "import",
            &RunRecord::Started { at: Utc::now() },
        )
        .await
        .expect("started");
    let (_, _, body) = get(&app, "/api/sources").await;
    assert_eq!(body["sources"][0]["configured"], false);
    assert_eq!(body["sources"][0]["source"], "import");
    let (status, _, body) = get(&app, "/api/sources?tenant=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["invalid_params"][0]["name"], "tenant");
}

#[tokio::test]
async fn coverage_filters_totals_and_defaults() {
    for engine in ENGINES {
        let store = fresh_store(engine, "coverage").await;
        let contoso = TenantId::new(CONTOSO);
        let source = "o365.Audit.Exchange";
        let events: Vec<aoc_model::Event> = fixture_events()
            .into_iter()
            .filter(|e| e.service == "Exchange")
            .collect();
        assert_eq!(
            events.len(),
            3,
            "the Exchange blob: one record at 10:58, two after 11:00"
        );
        let blob = |id: &str, created: &str| ContentRef {
            id: id.into(),
            created: at(created),
            expires: None,
        };
        store
            .list_content(
                &contoso,
                source,
                &[
                    blob("blob-1", "2025-03-01T11:10:00Z"),
                    blob("blob-2", "2025-03-01T11:20:00Z"),
                ],
            )
            .await
            .expect("listed");
        store
            .commit_fetch(&FetchCommit {
                tenant: &contoso,
                source,
                events: &events,
                available_at: Some(at("2025-03-01T11:10:00Z")),
                content_id: Some("blob-1"),
                watermark: Some(at("2025-03-01T12:00:00Z")),
            })
            .await
            .expect("commit");
        store
            .mark_content_expired(&contoso, source, "blob-2")
            .await
            .expect("expired");
        // Another tenant's hour, filtered out by `tenant`.
        store
            .commit_fetch(&FetchCommit {
                tenant: &TenantId::new(FABRIKAM),
                source,
                events: &events[..1],
                available_at: None,
                content_id: None,
                watermark: None,
            })
            .await
            .expect("commit");
        let app = app_of(store, None);

        let day = "from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z";
        let (status, _, body) = get(
            &app,
            &format!("/api/sources/coverage?tenant={CONTOSO}&source={source}&{day}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{engine:?}: {body}");
        assert_eq!(body["from"], "2025-03-01T00:00:00Z");
        assert_eq!(body["to"], "2025-03-02T00:00:00Z");
        let hours = body["hours"].as_array().expect("hours");
        let hour_starts: Vec<&str> = hours.iter().filter_map(|h| h["hour"].as_str()).collect();
        assert_eq!(
            hour_starts,
            ["2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z"],
            "{engine:?}: {body}"
        );
        assert!(
            hours
                .iter()
                .all(|h| h["tenant_id"] == CONTOSO && h["source"] == source)
        );
        assert_eq!(hours[0]["records_fetched"], 1);
        assert_eq!(hours[1]["records_fetched"], 2);
        let totals = &body["totals"];
        assert_eq!(totals["records_fetched"], 3, "{engine:?}: {body}");
        assert_eq!(totals["records_stored"], 3);
        assert_eq!(totals["content_fetched"], 1);
        assert_eq!(totals["content_expired"], 1);
        assert!(totals["content_listed"].as_u64().is_some());

        // Without the tenant filter Fabrikam's hour is there too.
        let (_, _, body) = get(&app, &format!("/api/sources/coverage?{day}")).await;
        assert_eq!(body["totals"]["records_fetched"], 4, "{engine:?}: {body}");
        // An hour range that leaves out 10:00 (the upper-case GUID is the same tenant).
        let (_, _, body) = get(
            &app,
            &format!(
                "/api/sources/coverage?tenant={}&from=2025-03-01T11:00:00Z&to=2025-03-01T12:00:00Z",
                CONTOSO.to_uppercase()
            ),
        )
        .await;
        assert_eq!(body["totals"]["records_fetched"], 2, "{engine:?}: {body}");
        // A source with nothing stored.
        let (status, _, body) = get(
            &app,
            &format!("/api/sources/coverage?source=graph.sign_ins&{day}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["hours"], serde_json::json!([]));
        assert_eq!(body["totals"]["records_fetched"], 0);
        // No range: the last 24 hours, which hold nothing of 2025.
        let (status, _, body) = get(&app, "/api/sources/coverage").await;
        assert_eq!(status, StatusCode::OK);
        let from = at(body["from"].as_str().expect("from"));
        let to = at(body["to"].as_str().expect("to"));
        assert_eq!(to - from, TimeDelta::hours(24));
        assert!(to > Utc::now() && to - Utc::now() <= TimeDelta::hours(1));
        assert_eq!(body["hours"], serde_json::json!([]));
    }
}

#[tokio::test]
async fn coverage_validation_names_the_parameter() {
    let store = fresh_store(Engine::Sqlite, "coverage_validation").await;
    let app = app_of(store, None);
    for (query, name) in [
        ("from=yesterday", "from"),
        ("to=soon", "to"),
        ("from=2025-03-02&to=2025-03-01", "from"),
        ("from=2025-03-01&to=2025-03-01", "from"),
        ("from=2025-01-01&to=2025-03-01", "from"),
        ("tenant=contoso", "tenant"),
        ("tenant=", "tenant"),
        ("source=", "source"),
        ("hours=24", "hours"),
        (
            "tenant=8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58&tenant=8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
            "tenant",
        ),
    ] {
        let (status, headers, body) = get(&app, &format!("/api/sources/coverage?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["invalid_params"][0]["name"], name, "{query}: {body}");
    }
    // Exactly 31 days is allowed.
    let (status, _, _) = get(&app, "/api/sources/coverage?from=2025-03-01&to=2025-04-01").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn fetch_validates_hours_and_needs_a_collection() {
    let store = fresh_store(Engine::Sqlite, "fetch_validation").await;
    let app = app_of(store, None);
    for (query, name) in [
        ("hours=0", "hours"),
        ("hours=169", "hours"),
        ("hours=abc", "hours"),
        ("hours=1.5", "hours"),
        ("hours=", "hours"),
        ("hours=1&hours=2", "hours"),
        ("tenant=x", "tenant"),
    ] {
        let (status, headers, body) = post(&app, &format!("/api/fetch-audit-logs?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["invalid_params"][0]["name"], name, "{query}: {body}");
    }
    let (status, headers, body) = post(&app, "/api/fetch-audit-logs?hours=24").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["type"], "/problems/collection-not-configured");
    let detail = body["detail"].as_str().expect("detail");
    for hint in [
        "TENANT_ID",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "AOC_TENANTS_FILE",
        "--demo",
    ] {
        assert!(detail.contains(hint), "{detail}");
    }
    let (status, _, _) = send(
        &app,
        Request::get("/api/fetch-audit-logs")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_fetch_against_a_closed_port_reports_failed_runs() {
    for engine in ENGINES {
        let store = fresh_store(engine, "fetch_closed").await;
        let collection = unreachable_collector(
            Arc::clone(&store),
            vec![
                SourceKind::SignIns,
                SourceKind::Management(ContentType::Exchange),
            ],
        );
        let app = app_of(store, Some(collection));
        let (status, _, body) = post(&app, "/api/fetch-audit-logs?hours=2").await;
        assert_eq!(status, StatusCode::OK, "{engine:?}: {body}");
        let runs = body["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "{body}");
        for run in runs {
            assert_eq!(run["tenant_id"], CONTOSO);
            assert_eq!(run["status"], "failed", "{body}");
            assert_eq!(run["problem"]["code"], "transport_error", "{body}");
        }
        assert_eq!(body["failed"], 2);
        assert_eq!(body["fetched"], 0);
        assert_eq!(body["new"], 0);
        assert!(
            !body.to_string().contains("not-a-real-secret"),
            "no credential leaks: {body}"
        );

        let (_, _, body) = get(&app, "/api/sources").await;
        for source in ["graph.sign_ins", "o365.Audit.Exchange"] {
            let e = entry(&body, CONTOSO, source);
            assert_eq!(e["status"], "error", "{engine:?}: {body}");
            assert_eq!(e["configured"], true);
            assert_eq!(e["last_error"]["code"], "transport_error");
            assert!(e["last_attempt"].as_str().is_some());
        }
        // Without `hours`: from the watermark (none yet), same outcome.
        let (status, _, body) = post(&app, "/api/fetch-audit-logs").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["failed"], 2, "{body}");
    }
}
