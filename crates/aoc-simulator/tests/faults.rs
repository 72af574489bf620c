//! Every fault kind at rate 1.0 (request faults) or switched on (data properties).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration as StdDuration, Instant};

use aoc_normalize::{RecordKind, detect_kind};
use aoc_simulator::{FaultKind, Faults, SimulatorConfig};
use common::*;
use serde_json::{Value, json};

fn config(records_per_hour: u32, kinds: Vec<FaultKind>) -> SimulatorConfig {
    SimulatorConfig {
        seed: 5,
        records_per_hour,
        faults: Faults {
            rate: 0.0,
            kinds,
            retry_after: StdDuration::from_millis(200),
            slow: StdDuration::from_millis(400),
        },
        ..Default::default()
    }
}

fn all_requests_fail(kind: FaultKind) -> Faults {
    Faults {
        rate: 1.0,
        kinds: vec![kind],
        retry_after: StdDuration::from_millis(200),
        slow: StdDuration::from_millis(400),
    }
}

/// Tokens for both APIs and an enabled SharePoint subscription, before faults are switched on.
async fn prepare(sim: &Running, tenant: &str) -> (String, String) {
    let graph = sim.token(tenant, GRAPH).await;
    let manage = sim.token(tenant, MANAGE).await;
    let started = sim
        .post(
            &format!("/api/v1.0/{tenant}/activity/feed/subscriptions/start?contentType=Audit.SharePoint&PublisherIdentifier={PUBLISHER}"),
            &manage,
            None,
        )
        .await;
    assert_eq!(started.status(), 200);
    (graph, manage)
}

fn list_url(tenant: &str) -> String {
    format!("/api/v1.0/{tenant}/activity/feed/subscriptions/list?PublisherIdentifier={PUBLISHER}")
}

fn intune_url() -> String {
    let from = minutes_ago(5 * 60);
    let to = minutes_ago(3 * 60);
    format!(
        "/v1.0/deviceManagement/auditEvents?$filter=activityDateTime ge {} and activityDateTime lt {}&$top=1000",
        iso(from),
        iso(to)
    )
}

async fn token_status(sim: &Running, tenant: &str) -> reqwest::Response {
    sim.token_response(
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", GRAPH),
            ("client_secret", "x"),
        ],
    )
    .await
}

#[tokio::test]
async fn throttle_answers_429_or_af429_with_retry_after() {
    let sim = start(config(120, Vec::new())).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000001";
    let (graph, manage) = prepare(&sim, tenant).await;
    sim.sim.set_faults(all_requests_fail(FaultKind::Throttle));

    for path in [
        "/v1.0/auditLogs/signIns?$top=1",
        "/v1.0/deviceManagement/auditEvents",
    ] {
        let r = sim.get(path, &graph).await;
        assert_eq!(r.status(), 429, "{path}");
        assert_eq!(r.headers()["Retry-After"], "1");
        assert!(r.headers().contains_key("request-id"));
        let e: Value = r.json().await.expect("json");
        assert_eq!(e["error"]["code"], "activityLimitReached");
    }
    let mut statuses = BTreeSet::new();
    for _ in 0..12 {
        let r = sim.get(&list_url(tenant), &manage).await;
        statuses.insert(r.status().as_u16());
        let e: Value = r.json().await.expect("json");
        assert_eq!(e["error"]["code"], "AF429");
    }
    assert!(
        statuses.is_subset(&BTreeSet::from([403, 429])),
        "{statuses:?}"
    );
    let r = token_status(&sim, tenant).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("Retry-After"));
    let e: Value = r.json().await.expect("json");
    assert!(e["error"].is_string() && e["error_codes"].is_array());

    let stats = sim.sim.stats();
    assert_eq!(stats.faults_injected.get("throttle"), Some(&15));
    assert_eq!(stats.limit_throttles, 0);
}

#[tokio::test]
async fn server_errors_answer_500_or_503() {
    let sim = start(config(120, Vec::new())).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000002";
    let (graph, manage) = prepare(&sim, tenant).await;
    sim.sim
        .set_faults(all_requests_fail(FaultKind::ServerError));
    for _ in 0..6 {
        let r = sim.get("/v1.0/deviceManagement/auditEvents", &graph).await;
        let status = r.status().as_u16();
        assert!(status == 500 || status == 503, "{status}");
        if status == 503 {
            assert!(r.headers().contains_key("Retry-After"));
        }
        let e: Value = r.json().await.expect("json");
        assert!(e["error"]["code"].is_string());
        let r = sim.get(&list_url(tenant), &manage).await;
        assert!(matches!(r.status().as_u16(), 500 | 503));
        let e: Value = r.json().await.expect("json");
        assert_eq!(e["error"]["code"], "AF50000");
        assert!(matches!(
            token_status(&sim, tenant).await.status().as_u16(),
            500 | 503
        ));
    }
    assert_eq!(
        sim.sim.stats().faults_injected.get("server_error"),
        Some(&18)
    );
}

#[tokio::test]
async fn slow_answers_come_late_but_complete() {
    let sim = start(config(120, Vec::new())).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000003";
    let (graph, manage) = prepare(&sim, tenant).await;
    sim.sim.set_faults(all_requests_fail(FaultKind::Slow));
    let started = Instant::now();
    sim.get_json(&intune_url(), &graph, 200).await;
    sim.get_json(&list_url(tenant), &manage, 200).await;
    assert!(started.elapsed() >= StdDuration::from_millis(800));
    // The token endpoint is never slow.
    let started = Instant::now();
    assert_eq!(token_status(&sim, tenant).await.status(), 200);
    assert!(started.elapsed() < StdDuration::from_millis(400));
    assert_eq!(sim.sim.stats().faults_injected.get("slow"), Some(&2));
}

#[tokio::test]
async fn truncated_answers_are_half_a_json_body() {
    let sim = start(config(600, Vec::new())).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000004";
    let (graph, manage) = prepare(&sim, tenant).await;
    let full = sim
        .get(&intune_url(), &graph)
        .await
        .text()
        .await
        .expect("text");
    assert!(serde_json::from_str::<Value>(&full).is_ok());
    // Switch faults on through the operator endpoint.
    let put = sim
        .http
        .put(format!("{}/_simulator/faults", sim.base))
        .json(&json!({"rate": 1.0, "kinds": ["truncated"]}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let r = sim.get(&intune_url(), &graph).await;
    assert_eq!(r.status(), 200);
    let half = r.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&half).is_err());
    assert_eq!(half.len(), full.len() / 2);
    assert!(full.starts_with(&half));
    let r = sim.get(&list_url(tenant), &manage).await;
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.expect("text")).is_err());
    // Errors are not truncated.
    let e = sim
        .get_json("/v1.0/deviceManagement/auditEvents?$top=0", &graph, 400)
        .await;
    assert_eq!(e["error"]["code"], "BadRequest");
    assert_eq!(sim.sim.stats().faults_injected.get("truncated"), Some(&2));
}

#[tokio::test]
async fn expired_blobs_stay_expired() {
    let sim = start(config(600, Vec::new())).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000005";
    let (graph, manage) = prepare(&sim, tenant).await;
    let url = format!(
        "/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType=Audit.SharePoint&startTime={}&endTime={}&PublisherIdentifier={PUBLISHER}",
        api(minutes_ago(6 * 60)),
        api(minutes_ago(3 * 60))
    );
    let (blobs, _) = sim.content_all(&url, &manage).await;
    assert!(blobs.len() >= 2);
    let uri = |i: usize| {
        format!(
            "{}?PublisherIdentifier={PUBLISHER}",
            blobs[i]["contentUri"].as_str().expect("uri")
        )
    };

    sim.sim.set_faults(all_requests_fail(FaultKind::Expired));
    let e = sim.get_json(&uri(0), &manage, 400).await;
    assert_eq!(e["error"]["code"], "AF20051");
    // Only blob GETs expire.
    sim.get_json(&url, &manage, 200).await;
    sim.get_json(&intune_url(), &graph, 200).await;

    sim.sim.set_faults(Faults::default());
    let e = sim.get_json(&uri(0), &manage, 400).await;
    assert_eq!(
        e["error"]["code"], "AF20051",
        "still expired without faults"
    );
    let records = sim.get_json(&uri(1), &manage, 200).await;
    assert!(records.as_array().is_some_and(|a| !a.is_empty()));
    let stats = sim.sim.stats();
    assert_eq!(stats.faults_injected.get("expired"), Some(&1));
    assert_eq!(
        stats.expired_content_ids,
        vec![blobs[0]["contentId"].as_str().expect("id").to_string()]
    );
}

#[tokio::test]
async fn duplicates_repeat_records_across_pages_and_blobs() {
    let sim = start(config(600, vec![FaultKind::Duplicate])).await;
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000006";
    let (graph, manage) = prepare(&sim, tenant).await;
    let from = minutes_ago(22 * 60);
    let to = minutes_ago(3 * 60);
    let truth = sim.sim.ground_truth(tenant, from, to);

    // Graph: the last record of a page is the first of the next.
    let mut pages: Vec<Vec<Value>> = Vec::new();
    let mut next = Some(format!(
        "/v1.0/deviceManagement/auditEvents?$filter=activityDateTime ge {} and activityDateTime lt {}&$top=4&$orderby=activityDateTime asc",
        iso(from),
        iso(to)
    ));
    while let Some(url) = next {
        let page = sim.get_json(&url, &graph, 200).await;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
        pages.push(page["value"].as_array().expect("value").clone());
    }
    assert!(pages.len() >= 3);
    for pair in pages.windows(2) {
        assert_eq!(pair[0].last(), pair[1].first());
    }
    let mut seen = Vec::new();
    for r in pages.iter().flatten() {
        if seen.last() != Some(r) {
            seen.push(r.clone());
        }
    }
    let want: Vec<Value> = truth
        .iter()
        .filter(|r| detect_kind(r) == RecordKind::IntuneAudit)
        .cloned()
        .collect();
    assert_eq!(seen, want);

    // Unified log: some records are in two blobs.
    let url = format!(
        "/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType=Audit.SharePoint&startTime={}&endTime={}&PublisherIdentifier={PUBLISHER}",
        api(from),
        api(minutes_ago(20))
    );
    let (blobs, _) = sim.content_all(&url, &manage).await;
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut records: BTreeMap<String, Value> = BTreeMap::new();
    for blob in blobs {
        let uri = format!(
            "{}?PublisherIdentifier={PUBLISHER}",
            blob["contentUri"].as_str().expect("uri")
        );
        for r in sim
            .get_json(&uri, &manage, 200)
            .await
            .as_array()
            .expect("array")
        {
            *copies.entry(id_of(r)).or_default() += 1;
            records.insert(id_of(r), r.clone());
        }
    }
    assert!(copies.values().any(|n| *n == 2));
    assert!(copies.values().all(|n| *n <= 2));
    let (from_text, to_text) = (api(from), api(to));
    let sharepoint: BTreeSet<String> = truth
        .iter()
        .filter(|r| r["RecordType"] == 6 || r["RecordType"] == 14)
        .map(id_of)
        .collect();
    let served: BTreeSet<String> = records
        .iter()
        .filter(|(_, r)| {
            let t = r["CreationTime"].as_str().expect("time");
            t >= from_text.as_str() && t < to_text.as_str()
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(served, sharepoint, "ground truth lists each record once");
}

async fn sign_in_ids(
    sim: &Running,
    token: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> BTreeSet<String> {
    let url = format!(
        "/v1.0/auditLogs/signIns?$filter=createdDateTime ge {} and createdDateTime lt {}&$top=1000",
        iso(from),
        iso(to)
    );
    let (records, _) = sim.graph_all(&url, token).await;
    records.iter().map(id_of).collect()
}

#[tokio::test]
async fn late_records_arrive_within_two_hours() {
    let late = start(config(6000, vec![FaultKind::Late])).await;
    let punctual = start(config(6000, Vec::new())).await;

    // 65–105 minutes ago: punctual records are all visible, some late ones are not yet. Volume
    // follows each tenant's local hours, so take the busiest of a few tenants.
    let (from, to) = (minutes_ago(105), minutes_ago(65));
    let tenant = (0..5)
        .map(|i| format!("a1f0c5d2-1111-4a2b-8c3d-00000000010{i}"))
        .max_by_key(|tenant| {
            late.sim
                .ground_truth(tenant, to - chrono::Duration::minutes(5), to)
                .len()
        })
        .expect("candidates");
    let truth: BTreeSet<String> = late
        .sim
        .ground_truth(&tenant, from, to)
        .iter()
        .filter(|r| detect_kind(r) == RecordKind::SignIn)
        .map(id_of)
        .collect();
    let late_token = late.token(&tenant, GRAPH).await;
    let punctual_token = punctual.token(&tenant, GRAPH).await;
    assert_eq!(
        sign_in_ids(&punctual, &punctual_token, from, to).await,
        truth
    );
    let visible = sign_in_ids(&late, &late_token, from, to).await;
    assert!(visible.is_subset(&truth));
    assert!(visible.len() < truth.len(), "some records are late");
    assert!(
        visible.len() * 100 >= truth.len() * 80,
        "most records are not"
    );

    // A window ending 2 h 15 min ago is complete even with late records (another tenant, so
    // the reports limit of 5 requests per 10 s is not reached).
    let tenant = "a1f0c5d2-1111-4a2b-8c3d-000000000008";
    let late_token = late.token(tenant, GRAPH).await;
    let (from, to) = (minutes_ago(180), minutes_ago(135));
    let truth: BTreeSet<String> = late
        .sim
        .ground_truth(tenant, from, to)
        .iter()
        .filter(|r| detect_kind(r) == RecordKind::SignIn)
        .map(id_of)
        .collect();
    assert_eq!(sign_in_ids(&late, &late_token, from, to).await, truth);
}
