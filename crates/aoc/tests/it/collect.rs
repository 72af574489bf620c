//! The real collectors against the Microsoft 365 simulator over real HTTP, on both engines:
//! completeness under faults, crash safety, idempotence, leases, and errors as admins see them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use aoc_model::{EventId, EventQuery, TenantId};
use aoc_normalize::{Context, normalize};
use aoc_simulator::{FaultKind, Simulator, SimulatorConfig, TenantBehaviour};
use aoc_sources::m365::{
    AppIdentity, AzureCloud, CollectSettings, Collector, ContentType, Credential, Endpoints,
    HttpPolicy, NoProgress, RunRequest, RunStatus, Secret, SourceKind, SourceRun, TenantConfig,
};
use aoc_store::Store;

use crate::support::{ENGINES, Engine, TestDb};

const CLIENT_ID: &str = "0a1b2c3d-0000-4000-8000-000000000001";

/// A simulator on a loopback port of its own.
pub struct Sim {
    pub simulator: Simulator,
    pub base: String,
}

impl Sim {
    pub async fn start(config: SimulatorConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let simulator = Simulator::new(config);
        let serving = simulator.clone();
        tokio::spawn(async move {
            serving
                .serve(listener, std::future::pending())
                .await
                .expect("simulator");
        });
        Self { simulator, base }
    }

    /// The simulator's records with event time in `[from, to)`, as AOC ids, each with a line
    /// that describes it when it goes missing.
    pub fn truth(
        &self,
        tenant: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BTreeMap<EventId, String> {
        let ctx = Context::new("truth").with_tenant(TenantId::new(tenant));
        let records = self.simulator.ground_truth(tenant, from, to);
        let count = records.len();
        let truth: BTreeMap<EventId, String> = records
            .into_iter()
            .map(|r| {
                let event = normalize(r, &ctx).expect("ground truth normalizes");
                let line = format!(
                    "{} {} {} ({})",
                    event.timestamp,
                    event.operation,
                    event.dedupe_key.as_str(),
                    event.service
                );
                (event.id, line)
            })
            .collect();
        assert_eq!(truth.len(), count, "ground truth lists each record once");
        truth
    }
}

/// Faults on at `rate`, every kind that does not lose data by design (expired content does).
pub fn faulty(rate: f64, records_per_hour: u32) -> SimulatorConfig {
    let mut config = SimulatorConfig {
        seed: 7,
        records_per_hour,
        ..SimulatorConfig::default()
    };
    config.faults.rate = rate;
    config.faults.kinds = FaultKind::all()
        .into_iter()
        .filter(|k| *k != FaultKind::Expired)
        .collect();
    config.faults.retry_after = Duration::from_millis(200);
    config.faults.slow = Duration::from_millis(2500);
    config
}

pub fn tenant(id: &str, secret: &str) -> TenantConfig {
    TenantConfig {
        id: TenantId::new(id),
        name: None,
        app: AppIdentity {
            tenant_id: id.into(),
            client_id: CLIENT_ID.into(),
            credential: Credential::Secret(Secret::new(secret)),
        },
        sources: SourceKind::ALL.to_vec(),
        publisher_id: id.into(),
    }
}

/// Fast retries, and a timeout shorter than the simulator's slow answers.
fn policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_attempts: 10,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        max_retry_after: Duration::from_secs(2),
    }
}

fn collector(
    store: Arc<dyn Store>,
    sim: &Sim,
    tenants: Vec<TenantConfig>,
    holder: &str,
) -> Collector {
    let endpoints = Endpoints::new(
        AzureCloud::Public,
        Some(&sim.base),
        Some(&sim.base),
        Some(&sim.base),
    )
    .expect("endpoints");
    let settings = CollectSettings {
        page_size: 200,
        ..CollectSettings::default()
    };
    Collector::new(store, endpoints, policy(), settings, tenants, holder.into()).expect("collector")
}

/// AOC's API over `store` and `collector`, on a loopback port.
async fn serve_api(store: Arc<dyn Store>, collector: Collector) -> String {
    let app = aoc_api::router(aoc_api::AppState {
        query_cache: Default::default(),
        store: Arc::clone(&store),
        metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle(),
        settings: Arc::new(aoc_api::ApiSettings::default()),
        collection: Some(Arc::new(collector)),
        webhook: None,
        auth: None,
        ai: None,
        jobs: Arc::clone(&store) as Arc<dyn aoc_store::JobQueue>,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The stored events of `tenant` with event time in `[from, to)`.
async fn in_window(
    store: &dyn Store,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<aoc_model::Event> {
    let query = EventQuery {
        tenant: Some(TenantId::new(tenant)),
        from: Some(from),
        to: Some(to),
        ..EventQuery::default()
    };
    aoc_store::testsuite::collect_pages(store, &query).await
}

/// Every stored event of `tenant` with event time in `[from, to)`.
async fn stored(
    store: &dyn Store,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeSet<EventId> {
    let events = in_window(store, tenant, from, to).await;
    // An activity another path delivered too is one event; its other records count as stored.
    let tenant = TenantId::new(tenant);
    let ids: Vec<EventId> = events
        .iter()
        .flat_map(|e| {
            std::iter::once(e.id).chain(
                e.also_seen_via
                    .iter()
                    .map(|s| EventId::derive(&tenant, &s.dedupe_key)),
            )
        })
        .collect();
    let set: BTreeSet<EventId> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "an event is stored twice");
    set
}

/// The simulator writes most sign-ins and directory changes to both Graph and the unified log:
/// each such activity is one event seen via both paths, and no activity key is left on two
/// events of different paths.
async fn assert_one_event_per_activity(
    store: &dyn Store,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    use aoc_model::activity::{activity_key, path_of};
    let events = in_window(store, tenant, from, to).await;
    let joined = events
        .iter()
        .filter(|e| !e.also_seen_via.is_empty())
        .count();
    assert!(joined > 50, "only {joined} events seen via two paths");
    let mut paths_by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &events {
        if let Some(key) = activity_key(event) {
            paths_by_key
                .entry(key)
                .or_default()
                .push(path_of(event.dedupe_key.as_str()).to_owned());
        }
    }
    let split: Vec<_> = paths_by_key
        .iter()
        .filter(|(_, paths)| {
            let mut distinct = (*paths).clone();
            distinct.sort();
            distinct.dedup();
            distinct.len() > 1
        })
        .take(3)
        .collect();
    assert!(
        split.is_empty(),
        "activities stored as two events: {split:?}"
    );
}

/// The window a 24-hour backfill started at `now` must hold completely: records can be up to
/// two hours late and the run stops two minutes before now.
///
/// Both ends fall on whole minutes: unified-log times have second precision, so a record whose
/// simulated time is 10:00:00.8 is stored at 10:00:00 and must sit on the same side of the edge.
pub fn checked_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::DurationRound;
    let minute = |t: DateTime<Utc>| {
        t.duration_trunc(chrono::Duration::minutes(1))
            .expect("in range")
    };
    (
        minute(now - chrono::Duration::hours(23)),
        minute(now - chrono::Duration::minutes(135)),
    )
}

pub fn assert_same(stored: &BTreeSet<EventId>, truth: &BTreeMap<EventId, String>, what: &str) {
    let missing: Vec<&String> = truth
        .iter()
        .filter(|(id, _)| !stored.contains(id))
        .map(|(_, line)| line)
        .collect();
    let extra = stored.iter().filter(|id| !truth.contains_key(id)).count();
    assert!(
        missing.is_empty() && extra == 0,
        "{what}: {} of {} ground-truth records missing (first: {:?}), {extra} stored records not in the ground truth",
        missing.len(),
        truth.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        truth.len() > 100,
        "{what}: the window should hold many records"
    );
}

fn by_source(runs: &[SourceRun]) -> HashMap<String, &SourceRun> {
    runs.iter().map(|r| (r.source.clone(), r)).collect()
}

async fn backfill_with_faults(engine: Engine, name: &str) {
    let db = TestDb::new(engine, name).await;
    let store = db.store().await;
    let sim = Sim::start(faulty(0.2, 60)).await;
    let t = "11111111-0000-4000-8000-000000000001";
    let now = Utc::now();
    let c = collector(Arc::clone(&store), &sim, vec![tenant(t, "any")], "test");
    let runs = c.run(&RunRequest::default(), &NoProgress).await;
    assert_eq!(runs.len(), SourceKind::ALL.len());
    for run in &runs {
        assert_eq!(run.status, RunStatus::Ok, "{run:?}");
    }
    let stats = sim.simulator.stats();
    let stats = serde_json::to_value(&stats).expect("stats");
    let injected: u64 = stats["faults_injected"]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    let requests = request_count(&sim);
    assert!(
        injected * 10 >= requests,
        "at least 10 % of requests should fail: {injected} of {requests} ({stats})"
    );
    assert_eq!(stats["requests_without_publisher_identifier"], 0, "{stats}");
    let (from, to) = checked_window(now);
    let truth = sim.truth(t, from, to);
    assert_same(
        &stored(store.as_ref(), t, from, to).await,
        &truth,
        "backfill under faults",
    );
    assert_one_event_per_activity(store.as_ref(), t, from, to).await;

    // A second run over the same window stores nothing new. The window ends where every record
    // had arrived before the first run; later ones still arrive, as in a real tenant.
    let again = c
        .run(
            &RunRequest {
                hours: Some(24),
                until: Some(to),
                ..RunRequest::default()
            },
            &NoProgress,
        )
        .await;
    for run in &again {
        assert_eq!(run.status, RunStatus::Ok, "{run:?}");
        assert_eq!(run.new, 0, "second run stored new events: {run:?}");
    }
    // Coverage accounts for what was stored.
    let coverage = store
        .coverage(&aoc_store::CoverageQuery::default())
        .await
        .expect("coverage");
    let stored_total: u64 = coverage.iter().map(|row| row.records_stored).sum();
    assert_eq!(stored_total, store.count_events().await.expect("count"));
    assert!(coverage.iter().any(|row| row.content_fetched > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_under_faults_stores_exactly_the_ground_truth_sqlite() {
    backfill_with_faults(Engine::Sqlite, "backfill_faults").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_under_faults_stores_exactly_the_ground_truth_postgres() {
    backfill_with_faults(Engine::Postgres, "backfill_faults").await;
}

/// Errors show per source with Microsoft's code, and the other sources keep collecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_errors_carry_microsofts_code_and_spare_other_sources() {
    let bad_secret = "22222222-0000-4000-8000-000000000001";
    let restricted = "22222222-0000-4000-8000-000000000002";
    let mut config = faulty(0.0, 30);
    config.required_client_secret = Some("right".into());
    config.tenants.insert(
        restricted.into(),
        TenantBehaviour {
            sign_ins_premium: false,
            intune_permission: false,
            disabled_content_types: vec!["Audit.General".into()],
        },
    );
    let sim = Sim::start(config).await;
    for engine in ENGINES {
        let db = TestDb::new(engine, "source_errors").await;
        let store = db.store().await;
        let c = collector(
            Arc::clone(&store),
            &sim,
            vec![tenant(bad_secret, "wrong"), tenant(restricted, "right")],
            "test",
        );
        let runs = c.run(&RunRequest::default(), &NoProgress).await;
        // What an admin sees: /api/sources over HTTP, with Microsoft's codes.
        let api = serve_api(Arc::clone(&store), c).await;
        let sources: serde_json::Value = reqwest::get(format!("{api}/api/sources"))
            .await
            .expect("sources")
            .json()
            .await
            .expect("json");
        let code_of = |t: &str, s: SourceKind| {
            sources["sources"]
                .as_array()
                .and_then(|list| {
                    list.iter()
                        .find(|e| e["tenant_id"] == t && e["source"] == s.name())
                })
                .map(|e| (e["status"].clone(), e["last_error"]["code"].clone()))
                .unwrap_or_else(|| panic!("{t} {s} missing from {sources}"))
        };
        assert_eq!(
            code_of(bad_secret, SourceKind::DirectoryAudits).1,
            "AADSTS7000215"
        );
        assert_eq!(
            code_of(restricted, SourceKind::IntuneAudit).1,
            "Authorization_RequestDenied"
        );
        assert_eq!(
            code_of(restricted, SourceKind::Management(ContentType::General)).1,
            "AF20023"
        );
        assert_eq!(
            code_of(restricted, SourceKind::SignIns).1,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
        );
        assert_eq!(code_of(restricted, SourceKind::DirectoryAudits).0, "ok");
        let states = store.source_states().await.expect("states");
        let state = |t: &str, s: SourceKind| {
            states
                .iter()
                .find(|st| st.tenant_id.as_str() == t && st.source == s.name())
                .unwrap_or_else(|| panic!("no state for {t} {s}"))
                .clone()
        };
        for kind in SourceKind::ALL {
            let st = state(bad_secret, kind);
            let error = st.last_error.expect("wrong secret is an error");
            assert_eq!(
                error.code.as_deref(),
                Some("AADSTS7000215"),
                "{kind}: {error:?}"
            );
            assert!(st.last_success.is_none());
            assert!(
                !error.message.contains("wrong"),
                "the secret leaked: {}",
                error.message
            );
        }
        let expect_code = |kind: SourceKind, code: &str, words: &str| {
            let st = state(restricted, kind);
            let error = st
                .last_error
                .unwrap_or_else(|| panic!("{kind} should fail"));
            assert_eq!(error.code.as_deref(), Some(code), "{kind}: {error:?}");
            assert!(error.message.contains(words), "{kind}: {}", error.message);
        };
        expect_code(
            SourceKind::SignIns,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "o365.Audit.AzureActiveDirectory",
        );
        expect_code(
            SourceKind::IntuneAudit,
            "Authorization_RequestDenied",
            "DeviceManagementApps.Read.All",
        );
        expect_code(
            SourceKind::Management(ContentType::General),
            "AF20023",
            "disabled",
        );
        let restricted_runs: Vec<SourceRun> = runs
            .into_iter()
            .filter(|r| r.tenant_id.as_str() == restricted)
            .collect();
        let runs = by_source(&restricted_runs);
        for kind in [
            SourceKind::DirectoryAudits,
            SourceKind::Management(ContentType::Exchange),
            SourceKind::Management(ContentType::SharePoint),
            SourceKind::Management(ContentType::AzureActiveDirectory),
        ] {
            let run = runs[kind.name()];
            assert_eq!(run.status, RunStatus::Ok, "{run:?}");
            assert!(run.new > 0, "{kind} collected nothing");
        }
    }
}

/// A certificate credential (a signed client assertion) gets tokens and collects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_credentials_collect() {
    let sim = Sim::start(faulty(0.0, 60)).await;
    let db = TestDb::new(Engine::Sqlite, "certificate").await;
    let store = db.store().await;
    let t = "99999999-0000-4000-8000-000000000001";
    let pem = std::fs::read_to_string(crate::support::fixture("auth/test-certificate.pem"))
        .expect("test certificate");
    let mut tenant = tenant(t, "unused");
    tenant.app.credential = Credential::Certificate(Arc::new(
        aoc_sources::m365::Certificate::from_pem(
            &pem,
            aoc_sources::m365::AssertionStyle::default(),
        )
        .expect("pem"),
    ));
    tenant.sources = vec![
        SourceKind::DirectoryAudits,
        SourceKind::Management(ContentType::Exchange),
    ];
    let c = collector(Arc::clone(&store), &sim, vec![tenant], "test");
    for run in c.run(&RunRequest::default(), &NoProgress).await {
        assert_eq!(run.status, RunStatus::Ok, "{run:?}");
        assert!(run.new > 0, "{run:?}");
    }
}

/// An expired content blob is a recorded gap, not a failed run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_content_is_a_recorded_gap() {
    let mut config = faulty(1.0, 30);
    config.faults.kinds = vec![FaultKind::Expired];
    let sim = Sim::start(config).await;
    let db = TestDb::new(Engine::Sqlite, "expired_content").await;
    let store = db.store().await;
    let t = "33333333-0000-4000-8000-000000000001";
    let mut tenant = tenant(t, "any");
    tenant.sources = vec![SourceKind::Management(ContentType::Exchange)];
    let c = collector(Arc::clone(&store), &sim, vec![tenant], "test");
    let runs = c.run(&RunRequest::default(), &NoProgress).await;
    assert_eq!(runs[0].status, RunStatus::Ok, "{:?}", runs[0]);
    let problem = runs[0].problem.as_ref().expect("the gap is reported");
    assert_eq!(problem.code.as_deref(), Some("AF20051"), "{problem:?}");
    let states = store.source_states().await.expect("states");
    assert!(states[0].last_success.is_some() && states[0].last_error.is_some());
    let coverage = store
        .coverage(&aoc_store::CoverageQuery::default())
        .await
        .expect("coverage");
    assert!(coverage.iter().map(|r| r.content_expired).sum::<u64>() > 0);
    assert!(
        states[0].watermark.is_some(),
        "the run completed its window"
    );
}

/// A source whose lease another process holds is skipped; once released it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_skips_the_source() {
    let sim = Sim::start(faulty(0.0, 30)).await;
    for engine in ENGINES {
        let db = TestDb::new(engine, "held_lease").await;
        let store = db.store().await;
        let t = "44444444-0000-4000-8000-000000000001";
        let mut tenant = tenant(t, "any");
        tenant.sources = vec![SourceKind::DirectoryAudits];
        let lease = format!("fetch:{t}:graph.directory_audits");
        assert!(
            store
                .try_acquire_lease(&lease, "other-process", Duration::from_secs(60))
                .await
                .expect("lease")
        );
        let c = collector(Arc::clone(&store), &sim, vec![tenant], "this-process");
        let runs = c.run(&RunRequest::default(), &NoProgress).await;
        assert_eq!(runs[0].status, RunStatus::Skipped);
        assert_eq!(store.count_events().await.expect("count"), 0);
        store
            .release_lease(&lease, "other-process")
            .await
            .expect("release");
        let runs = c.run(&RunRequest::default(), &NoProgress).await;
        assert_eq!(runs[0].status, RunStatus::Ok, "{:?}", runs[0]);
        assert!(runs[0].new > 0);
    }
}

/// Records that arrive after the watermark passed their time are still collected: the next run
/// re-reads the overlap, and the watermark is never "the newest event seen".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermark_is_the_window_end_and_tokens_are_reused() {
    let sim = Sim::start(faulty(0.0, 30)).await;
    let db = TestDb::new(Engine::Sqlite, "watermark").await;
    let store = db.store().await;
    let t = "55555555-0000-4000-8000-000000000001";
    let c = collector(Arc::clone(&store), &sim, vec![tenant(t, "any")], "test");
    let before = Utc::now();
    c.run(&RunRequest::default(), &NoProgress).await;
    c.run(&RunRequest::default(), &NoProgress).await;
    for state in store.source_states().await.expect("states") {
        let wm = state.watermark.expect("watermark");
        // now - settle (2 min), not the newest event time.
        assert!(wm >= before - chrono::Duration::minutes(3), "{state:?}");
        assert!(wm <= Utc::now() - chrono::Duration::minutes(1), "{state:?}");
    }
    let stats = serde_json::to_value(sim.simulator.stats()).expect("stats");
    assert_eq!(
        stats["token_requests"], 2,
        "one token per resource, reused across runs: {stats}"
    );
    assert_eq!(
        stats["limit_throttles"], 0,
        "Graph pacing kept under the limit: {stats}"
    );
}

/// `aoc fetch`, killed with SIGKILL at five points of a backfill under faults and run again
/// each time, ends with exactly the ground truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_killed_at_five_points_still_stores_the_ground_truth() {
    for engine in ENGINES {
        let sim = Sim::start(faulty(0.1, 60)).await;
        let db = TestDb::new(engine, "fetch_killed").await;
        let t = "66666666-0000-4000-8000-000000000001";
        let now = Utc::now();
        let fetch = || {
            let mut command = db.aoc();
            command
                .args(["fetch", "--json"])
                .env("TENANT_ID", t)
                .env("CLIENT_ID", CLIENT_ID)
                .env("CLIENT_SECRET", "any")
                .env("LOGIN_BASE_URL", &sim.base)
                .env("GRAPH_BASE_URL", &sim.base)
                .env("MANAGEMENT_BASE_URL", &sim.base)
                .env("HTTP_TIMEOUT_SECONDS", "2")
                .env("HTTP_MAX_ATTEMPTS", "10")
                .env("FETCH_LEASE_SECONDS", "3")
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            command
        };
        let mut killed = 0;
        for kill_after in [5_u64, 20, 45, 90, 150] {
            let seen = request_count(&sim);
            let mut child = fetch().spawn().expect("spawn");
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            loop {
                if child.try_wait().expect("wait").is_some() {
                    break;
                }
                if request_count(&sim) >= seen + kill_after {
                    child.kill().expect("SIGKILL");
                    child.wait().expect("reap");
                    killed += 1;
                    // The dead process's leases lapse before the next one starts.
                    tokio::time::sleep(Duration::from_millis(3500)).await;
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "fetch hung");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert!(killed >= 5, "only {killed} kills landed mid-run");
        let output = fetch().output().expect("final fetch");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        let store = db.store().await;
        let (from, to) = checked_window(now);
        assert_same(
            &stored(store.as_ref(), t, from, to).await,
            &sim.truth(t, from, to),
            &format!("{engine:?} after five kills"),
        );
    }
}

/// API requests the simulator has answered (token requests included).
fn request_count(sim: &Sim) -> u64 {
    sim.simulator.stats().requests_by_endpoint.values().sum()
}

/// Two `aoc serve` replicas on one PostgreSQL database, collecting the same tenant on the same
/// schedule, fetch each content blob once: the lease lets one of them run each source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_fetch_each_blob_once() {
    let sim = Sim::start(faulty(0.0, 60)).await;
    let db = TestDb::new(Engine::Postgres, "two_replicas").await;
    let t = "77777777-0000-4000-8000-000000000001";
    let env = [
        ("TENANT_ID", t),
        ("CLIENT_ID", CLIENT_ID),
        ("CLIENT_SECRET", "any"),
        ("LOGIN_BASE_URL", sim.base.as_str()),
        ("GRAPH_BASE_URL", sim.base.as_str()),
        ("MANAGEMENT_BASE_URL", sim.base.as_str()),
        ("FETCH_INTERVAL_SECONDS", "10"),
    ];
    let (mut a, port) = crate::serve::start_serve(&db, &[], &env, Stdio::null()).await;
    let (mut b, port_b) = crate::serve::start_serve(&db, &[], &env, Stdio::null()).await;
    let client = reqwest::Client::new();
    // Both replicas tick at least twice (10 s ± 10 %), racing for every source each time.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let sources: serde_json::Value = client
            .get(format!("http://127.0.0.1:{port}/api/sources"))
            .send()
            .await
            .expect("sources")
            .json()
            .await
            .expect("json");
        let done = sources["sources"].as_array().is_some_and(|list| {
            list.len() == SourceKind::ALL.len() && list.iter().all(|s| !s["last_success"].is_null())
        });
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replicas did not collect: {sources}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(25)).await;
    // Collection figures reach /metrics: lateness per source and stage, lag per source.
    // Each replica reports what it collected itself.
    let mut metrics = String::new();
    for p in [port, port_b] {
        metrics += &client
            .get(format!("http://127.0.0.1:{p}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
    }
    for needle in [
        "aoc_source_lateness_seconds_bucket{source=\"o365.Audit.Exchange\",stage=\"available\"",
        "aoc_source_lateness_seconds_bucket{source=\"graph.sign_ins\",stage=\"stored\"",
        "aoc_source_lag_seconds{",
        "aoc_source_requests_total{source=\"o365.Audit.Exchange\",status=\"200\"}",
        "aoc_source_requests_total{source=\"token\",status=\"200\"}",
        "aoc_events_ingested_total{source=\"graph.sign_ins\"}",
    ] {
        assert!(metrics.contains(needle), "/metrics lacks {needle}");
    }
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    let stats = sim.simulator.stats();
    let blob_gets = stats
        .requests_by_endpoint
        .get("mgmt.audit")
        .copied()
        .unwrap_or(0);
    let store = db.store().await;
    let fetched: u64 = store
        .coverage(&aoc_store::CoverageQuery::default())
        .await
        .expect("coverage")
        .iter()
        .map(|row| row.content_fetched)
        .sum();
    assert!(fetched > 0);
    assert_eq!(
        blob_gets, fetched,
        "each content blob is fetched exactly once across replicas"
    );
}
