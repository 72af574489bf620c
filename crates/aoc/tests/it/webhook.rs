//! Graph change notifications end to end: AOC's subscription manager subscribes at the
//! simulator, which performs the validation handshake against AOC's real webhook route and then
//! delivers notifications carrying the clientState; lifecycle notifications renew.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::mpsc;

use aoc_api::webhook::{GraphWebhook, WebhookSignal};
use aoc_api::{ApiSettings, AppState};
use aoc_sources::m365::{AzureCloud, CollectSettings, Collector, Endpoints, HttpPolicy, Secret};

use crate::collect::{Sim, faulty, tenant};
use crate::support::{Engine, TestDb};

const CLIENT_STATE: &str = "aoc-webhook-test-client-state-0001";

/// The next signal. Directory changes follow the simulated tenant's day: at its night one can take
/// a minute to appear, so the wait is generous (it returns as soon as one arrives).
async fn signal(rx: &mut mpsc::Receiver<WebhookSignal>, what: &str) -> WebhookSignal {
    tokio::time::timeout(Duration::from_secs(150), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 150 s"))
        .expect("channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_validate_notify_and_renew_through_the_real_route() {
    // Busy enough that new directory changes appear every few seconds by day (less often at the
    // simulated tenant's night: see `signal`).
    let sim = Sim::start(faulty(0.0, 40_000)).await;
    let db = TestDb::new(Engine::Sqlite, "webhook_e2e").await;
    let store = db.store().await;
    let t = "88888888-0000-4000-8000-000000000001";

    // AOC's API with the webhook on, on a loopback port.
    let (tx, mut rx) = mpsc::channel(64);
    let app = aoc_api::router(AppState {
        query_cache: Default::default(),
        store: Arc::clone(&store),
        metrics: PrometheusBuilder::new().build_recorder().handle(),
        settings: Arc::new(ApiSettings::default()),
        collection: None,
        webhook: Some(Arc::new(GraphWebhook::new(CLIENT_STATE.into(), tx))),
        auth: None,
        ai: None,
        jobs: Arc::clone(&store) as Arc<dyn aoc_store::JobQueue>,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let aoc = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let endpoints = Endpoints::new(
        AzureCloud::Public,
        Some(&sim.base),
        Some(&sim.base),
        Some(&sim.base),
    )
    .expect("endpoints");
    let collector = Collector::new(
        store,
        endpoints,
        HttpPolicy::default(),
        CollectSettings::default(),
        vec![tenant(t, "any")],
        "test".into(),
    )
    .expect("collector");
    let manager = collector.graph_subscriptions(
        format!("{aoc}/api/webhooks/graph"),
        Secret::new(CLIENT_STATE),
    );

    // Created (the simulator validated the endpoint first), then kept on the next check.
    let outcomes = manager.ensure().await;
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for o in &outcomes {
        assert!(o.error.is_none(), "{o:?}");
        assert_eq!(o.action, "create");
    }
    let stats = sim.simulator.stats();
    assert!(stats.validation_requests >= 2, "{stats:?}");
    let again = manager.ensure().await;
    assert!(
        again
            .iter()
            .all(|o| o.action == "keep" && o.error.is_none()),
        "{again:?}"
    );

    // New directory changes in the tenant arrive as notifications with the right clientState.
    match signal(&mut rx, "change notification").await {
        WebhookSignal::Changed {
            tenant_id,
            resource,
        } => {
            assert_eq!(tenant_id, t);
            assert!(
                resource.starts_with("Users/") || resource.starts_with("Groups/"),
                "{resource}"
            );
        }
        other => panic!("expected a change, got {other:?}"),
    }

    // A lifecycle notification: AOC renews the subscription it names.
    let client = reqwest::Client::new();
    let subscriptions = sim_subscriptions(&sim, t).await;
    let id = subscriptions[0]["id"].as_str().expect("id").to_owned();
    let before = subscriptions[0]["expirationDateTime"]
        .as_str()
        .expect("expiry")
        .to_owned();
    let status = client
        .post(format!(
            "{}/_simulator/subscriptions/{id}/lifecycle?event=reauthorizationRequired",
            sim.base
        ))
        .send()
        .await
        .expect("lifecycle")
        .status();
    assert!(status.is_success(), "{status}");
    let lifecycle = loop {
        if let WebhookSignal::Lifecycle {
            tenant_id,
            subscription_id,
            event,
        } = signal(&mut rx, "lifecycle notification").await
        {
            break (tenant_id, subscription_id, event);
        }
    };
    assert_eq!(
        lifecycle,
        (
            t.to_owned(),
            id.clone(),
            "reauthorizationRequired".to_owned()
        )
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    manager
        .lifecycle(&lifecycle.0, &lifecycle.1, &lifecycle.2)
        .await
        .expect("renewed");
    let after = sim_subscriptions(&sim, t).await;
    let renewed = after
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("still there");
    assert_ne!(
        renewed["expirationDateTime"].as_str(),
        Some(before.as_str()),
        "expiry moved"
    );
}

/// The tenant's subscriptions as Graph lists them (through a token like any client).
async fn sim_subscriptions(sim: &Sim, tenant: &str) -> Vec<serde_json::Value> {
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sim.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "0a1b2c3d-0000-4000-8000-000000000001"),
            ("client_secret", "any"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let list: serde_json::Value = client
        .get(format!("{}/v1.0/subscriptions", sim.base))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    list["value"].as_array().cloned().unwrap_or_default()
}
