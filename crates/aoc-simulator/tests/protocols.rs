//! The simulator over real HTTP: tokens, Graph paging and filters, the reports limit, the
//! Management Activity API, change notifications, ground truth.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aoc_normalize::{Context, RecordKind, detect_kind, normalize};
use aoc_simulator::{SimulatorConfig, TenantBehaviour};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use common::*;
use serde_json::{Value, json};

fn config(records_per_hour: u32) -> SimulatorConfig {
    SimulatorConfig {
        seed: 11,
        records_per_hour,
        ..Default::default()
    }
}

#[tokio::test]
async fn tokens_are_issued_and_bad_requests_refused() {
    let sim = start(SimulatorConfig {
        required_client_secret: Some("s3cret".into()),
        token_lifetime: std::time::Duration::from_secs(600),
        ..config(120)
    })
    .await;
    let tenant = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    let form = |secret: &'static str, scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", scope),
            ("client_secret", secret),
        ]
    };

    let ok = sim.token_response(tenant, &form("s3cret", GRAPH)).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["ext_expires_in"], 600);
    let graph_token = body["access_token"].as_str().expect("token").to_string();

    let wrong = sim.token_response(tenant, &form("nope", GRAPH)).await;
    assert_eq!(wrong.status(), 401);
    let error: Value = wrong.json().await.expect("json");
    assert_eq!(error["error"], "invalid_client");
    assert_eq!(error["error_codes"], json!([7000215]));
    assert!(
        error["error_description"]
            .as_str()
            .expect("description")
            .starts_with("AADSTS7000215: Invalid client secret provided")
    );
    for key in ["timestamp", "trace_id", "correlation_id"] {
        assert!(error[key].is_string(), "{key}");
    }

    // A certificate assertion is refused while a secret is required.
    let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let assertion = format!(
        "{}.{}.{}",
        enc(json!({"alg": "PS256", "typ": "JWT"})),
        enc(
            json!({"aud": format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
                   "iss": CLIENT, "sub": CLIENT, "exp": Utc::now().timestamp() + 300})
        ),
        URL_SAFE_NO_PAD.encode(b"sig")
    );
    let cert_form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("scope", MANAGE),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    assert_eq!(sim.token_response(tenant, &cert_form).await.status(), 401);

    for (tenant_path, form, status, code) in [
        ("common", form("s3cret", GRAPH), 400, "invalid_request"),
        (
            "organizations",
            form("s3cret", GRAPH),
            400,
            "invalid_request",
        ),
        (
            tenant,
            form(
                "s3cret",
                "https://graph.microsoft.com/.default https://manage.office.com/.default",
            ),
            400,
            "invalid_scope",
        ),
        (
            tenant,
            form("s3cret", "https://graph.microsoft.com/User.Read"),
            400,
            "invalid_scope",
        ),
        (
            tenant,
            form("s3cret", "https://monitor.azure.com/.default"),
            400,
            "invalid_resource",
        ),
    ] {
        let r = sim.token_response(tenant_path, &form).await;
        assert_eq!(r.status(), status, "{tenant_path} {form:?}");
        let e: Value = r.json().await.expect("json");
        assert_eq!(e["error"], code);
    }
    let no_credentials = sim
        .token_response(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(no_credentials.status(), 401);

    // Tokens are checked on every call.
    let url = "/v1.0/deviceManagement/auditEvents?$top=1";
    sim.get_json(url, &graph_token, 200).await;
    for bad in ["", "sim.e30.AAAA", "garbage", &format!("{graph_token}x")] {
        let e = sim.get_json(url, bad, 401).await;
        assert_eq!(e["error"]["code"], "InvalidAuthenticationToken");
    }
    // A Graph token is not a Management API token.
    let e = sim
        .get_json(
            &format!("/api/v1.0/{tenant}/activity/feed/subscriptions/list?PublisherIdentifier={PUBLISHER}"),
            &graph_token,
            401,
        )
        .await;
    assert!(e["error"]["code"].is_string());

    // Without a required secret, any secret and a well-formed assertion pass.
    let open = start(config(120)).await;
    assert_eq!(open.token_response(tenant, &cert_form).await.status(), 200);
    assert_eq!(
        open.token_response("contoso.onmicrosoft.com", &form("x", MANAGE))
            .await
            .status(),
        200
    );
    let stats = sim.sim.stats();
    assert!(stats.token_requests >= 9);
    assert_eq!(stats.tokens_issued, 1);
}

#[tokio::test]
async fn graph_paging_covers_exactly_the_ground_truth() {
    let sim = start(config(600)).await;
    let to = minutes_ago(3 * 60);

    // One tenant per collection: directoryAudits and signIns share the reports limit.
    for (tenant, path, field, kind) in [
        (
            "1b6f0c52-93c0-4a77-8f56-0d2b1e7a4c10",
            "auditLogs/directoryAudits",
            "activityDateTime",
            RecordKind::DirectoryAudit,
        ),
        (
            "1b6f0c52-93c0-4a77-8f56-0d2b1e7a4c11",
            "auditLogs/signIns",
            "createdDateTime",
            RecordKind::SignIn,
        ),
        (
            "1b6f0c52-93c0-4a77-8f56-0d2b1e7a4c12",
            "deviceManagement/auditEvents",
            "activityDateTime",
            RecordKind::IntuneAudit,
        ),
    ] {
        let token = sim.token(tenant, GRAPH).await;
        // A window with a few records whatever the time of day (volume follows local hours).
        let mut hours = 1;
        let (from, truth) = loop {
            let from = to - Duration::hours(hours);
            let truth = sim.sim.ground_truth(tenant, from, to);
            let count = truth.iter().filter(|r| detect_kind(r) == kind).count();
            if count >= 6 || hours >= 48 {
                break (from, truth);
            }
            hours *= 2;
        };
        let want: Vec<&Value> = truth.iter().filter(|r| detect_kind(r) == kind).collect();
        assert!(
            want.len() >= 6 && want.len() <= 3000,
            "{path}: {} records",
            want.len()
        );
        // Small pages, but at most 4 requests (the reports limit is 5 per 10 s).
        let top = want.len() / 3 + 1;
        let filter = format!("{field} ge {} and {field} lt {}", iso(from), iso(to));
        let url = format!("/v1.0/{path}?$filter={filter}&$top={top}&$orderby={field} asc");
        let (got, pages) = sim.graph_all(&url, &token).await;
        assert!((2..=4).contains(&pages), "{path}: {pages} pages");
        let got_refs: Vec<&Value> = got.iter().collect();
        assert_eq!(
            got_refs, want,
            "{path}: ascending pages equal the ground truth"
        );
        // Default order: newest first.
        if kind == RecordKind::IntuneAudit {
            let url = format!("/v1.0/{path}?$filter={filter}&$top=2");
            let (mut newest_first, _) = sim.graph_all(&url, &token).await;
            newest_first.reverse();
            assert_eq!(newest_first.iter().collect::<Vec<_>>(), want);
        }
    }
}

#[tokio::test]
async fn graph_filters_are_validated() {
    let sim = start(config(120)).await;
    let tenant = "2c7a1d63-04d1-4b88-9067-1e3c2f8b5d21";
    let token = sim.token(tenant, GRAPH).await;
    let base = "/v1.0/deviceManagement/auditEvents";
    for query in [
        "$filter=category eq 'Device'",
        "$filter=activityDateTime ge '2025-03-01T00:00:00Z'",
        "$filter=activityDateTime ge 2025-03-01T00:00:00Z or activityDateTime le 2025-03-02",
        "$filter=startswith(activityType,'wipe')",
        "$filter=activityDateTime ge",
        "$top=0",
        "$top=many",
        "$orderby=displayName",
        "$skiptoken=not-a-token",
    ] {
        let e = sim.get_json(&format!("{base}?{query}"), &token, 400).await;
        assert_eq!(e["error"]["code"], "BadRequest", "{query}");
        assert!(e["error"]["message"].is_string());
        assert!(e["error"]["innerError"]["request-id"].is_string());
    }
    for query in [
        "$filter=activityDateTime ge 2025-03-01",
        "$filter=activityDateTime gt 2025-03-01T00:00:00.5Z and activityDateTime le 2025-03-01T06:00:00%2B01:00",
        "$filter=activityDateTime eq 2025-03-01T00:00:00Z",
        "$top=5000&$orderby=activityDateTime desc",
    ] {
        sim.get_json(&format!("{base}?{query}"), &token, 200).await;
    }
    // The other spellings and collections answer too.
    for path in [
        "/v1.0/auditLogs/directoryaudits?$top=1",
        "/v1.0/auditLogs/signins?$top=1&$filter=createdDateTime ge 2025-03-01",
    ] {
        sim.get_json(path, &token, 200).await;
    }
    let e = sim
        .get_json(
            "/v1.0/auditLogs/signIns?$filter=activityDateTime ge 2025-03-01",
            &token,
            400,
        )
        .await;
    assert_eq!(e["error"]["code"], "BadRequest");
}

#[tokio::test]
async fn identity_reports_are_limited_to_five_requests_per_ten_seconds() {
    let sim = start(config(120)).await;
    let tenant = "3d8b2e74-15e2-4c99-a178-2f4d3a9c6e32";
    let token = sim.token(tenant, GRAPH).await;
    for i in 0..5 {
        let path = if i % 2 == 0 {
            "/v1.0/auditLogs/directoryAudits?$top=1"
        } else {
            "/v1.0/auditLogs/signIns?$top=1"
        };
        assert_eq!(sim.get(path, &token).await.status(), 200, "request {i}");
    }
    let throttled = sim.get("/v1.0/auditLogs/signIns?$top=1", &token).await;
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=10).contains(&wait));
    let e: Value = throttled.json().await.expect("json");
    assert_eq!(e["error"]["code"], "activityLimitReached");
    // Intune is not an identity report; another tenant has its own budget.
    for _ in 0..7 {
        assert_eq!(
            sim.get("/v1.0/deviceManagement/auditEvents?$top=1", &token)
                .await
                .status(),
            200
        );
    }
    let other = sim
        .token("4e9c3f85-26f3-4daa-b289-3a5e4b0d7f43", GRAPH)
        .await;
    assert_eq!(
        sim.get("/v1.0/auditLogs/signIns?$top=1", &other)
            .await
            .status(),
        200
    );
    let stats = sim.sim.stats();
    assert_eq!(stats.limit_throttles, 1);
    assert!(stats.faults_injected.is_empty());
}

#[tokio::test]
async fn management_api_subscriptions_listing_and_blobs() {
    let sim = start(config(600)).await;
    let tenant = "5fad4096-37a4-4ebb-83aa-4b6f5c1e8054";
    let token = sim.token(tenant, MANAGE).await;
    let root = format!("/api/v1.0/{tenant}/activity/feed");
    let publisher = format!("PublisherIdentifier={PUBLISHER}");

    // Subscriptions.
    let start_url = format!("{root}/subscriptions/start?contentType=Audit.SharePoint&{publisher}");
    let started = sim.post(&start_url, &token, None).await;
    assert_eq!(started.status(), 200);
    let body: Value = started.json().await.expect("json");
    assert_eq!(
        body,
        json!({"contentType": "Audit.SharePoint", "status": "enabled", "webhook": null})
    );
    let again: Value = sim
        .post(&start_url, &token, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["error"]["code"], "AF20024");
    let with_hook = sim
        .post(
            &format!("{root}/subscriptions/start?contentType=Audit.Exchange&{publisher}"),
            &token,
            Some(json!({"webhook": {"address": "https://aoc.example/hooks/o365", "authId": "x", "expiration": ""}})),
        )
        .await;
    assert_eq!(with_hook.status(), 200);
    let list = sim
        .get_json(
            &format!("{root}/subscriptions/list?{publisher}"),
            &token,
            200,
        )
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let exchange = list
        .as_array()
        .and_then(|l| l.iter().find(|s| s["contentType"] == "Audit.Exchange"))
        .expect("Audit.Exchange listed");
    assert_eq!(exchange["status"], "enabled");
    assert_eq!(
        exchange["webhook"]["address"],
        "https://aoc.example/hooks/o365"
    );

    let error = |code: &'static str| move |v: Value| assert_eq!(v["error"]["code"], code, "{v}");
    let now = Utc::now();
    let content = |ct: &str, start: String, end: String| {
        format!(
            "{root}/subscriptions/content?contentType={ct}&startTime={start}&endTime={end}&{publisher}"
        )
    };
    let hour_ago = api(now - Duration::hours(1));
    let now_text = api(now);
    for (url, check) in [
        (
            content("Audit.General", hour_ago.clone(), now_text.clone()),
            error("AF20022"),
        ),
        (
            content("Audit.Nope", hour_ago.clone(), now_text.clone()),
            error("AF20020"),
        ),
        (
            content(
                "Audit.SharePoint",
                api(now - Duration::hours(25)),
                now_text.clone(),
            ),
            error("AF20030"),
        ),
        (
            content(
                "Audit.SharePoint",
                api(now - Duration::days(8)),
                api(now - Duration::days(8) + Duration::hours(1)),
            ),
            error("AF20030"),
        ),
        (
            content("Audit.SharePoint", now_text.clone(), hour_ago.clone()),
            error("AF20055"),
        ),
        (
            content("Audit.SharePoint", "yesterday".into(), now_text.clone()),
            error("AF20002"),
        ),
        (
            format!(
                "{root}/subscriptions/content?contentType=Audit.SharePoint&startTime={hour_ago}&{publisher}"
            ),
            error("AF20030"),
        ),
        (
            format!(
                "{}&nextPage=bogus",
                content("Audit.SharePoint", hour_ago.clone(), now_text.clone())
            ),
            error("AF20031"),
        ),
        (
            format!(
                "{root}/audit/20250301110512345000017$1$audit_sharepoint$Audit_SharePoint$x?{publisher}"
            ),
            error("AF20050"),
        ),
        (
            format!(
                "/api/v1.0/6a0b5107-48b5-4fcc-94bb-5c706d2f9165/activity/feed/subscriptions/list?{publisher}"
            ),
            error("AF20010"),
        ),
    ] {
        check(sim.get_json(&url, &token, 400).await);
    }
    // Minute precision, a trailing Z, fractions and no bounds at all are accepted.
    for (s, e) in [
        (
            api(now - Duration::hours(2))[..16].to_string(),
            api(now)[..16].to_string(),
        ),
        (
            format!("{}Z", api(now - Duration::hours(2))),
            format!("{}.500Z", api(now)),
        ),
    ] {
        sim.get_json(&content("Audit.SharePoint", s, e), &token, 200)
            .await;
    }
    sim.get_json(
        &format!("{root}/subscriptions/content?contentType=Audit.SharePoint&{publisher}"),
        &token,
        200,
    )
    .await;

    // A 21.5-hour listing: several pages via NextPageUri, then every blob.
    let event_from = minutes_ago(22 * 60);
    let event_to = minutes_ago(3 * 60);
    let list_to = minutes_ago(30);
    let url = content("Audit.SharePoint", api(event_from), api(list_to));
    let (blobs, pages) = sim.content_all(&url, &token).await;
    assert!(pages >= 3, "{pages} pages");
    let mut ids = BTreeSet::new();
    let mut last = String::new();
    for blob in &blobs {
        assert!(ids.insert(blob["contentId"].as_str().expect("id").to_string()));
        let created = blob["contentCreated"]
            .as_str()
            .expect("created")
            .to_string();
        assert!(created >= last, "oldest first");
        assert!(created.ends_with('Z') && created.len() == 24, "{created}");
        assert!(created.as_str() >= iso(event_from).trim_end_matches('Z'));
        last = created;
        assert_eq!(blob["contentType"], "Audit.SharePoint");
        assert!(blob["contentExpiration"].is_string());
    }
    let mut served: BTreeMap<String, Value> = BTreeMap::new();
    for blob in &blobs {
        let uri = format!("{}?{publisher}", blob["contentUri"].as_str().expect("uri"));
        assert!(uri.starts_with(&sim.base));
        let records = sim.get_json(&uri, &token, 200).await;
        for r in records.as_array().expect("array") {
            served.insert(id_of(r), r.clone());
        }
    }
    let truth: Vec<Value> = sim
        .sim
        .ground_truth(tenant, event_from, event_to)
        .into_iter()
        .filter(|r| r["RecordType"] == 6 || r["RecordType"] == 14)
        .collect();
    assert!(!truth.is_empty());
    let from_text = api(event_from);
    let to_text = api(event_to);
    let in_window: BTreeMap<String, Value> = served
        .into_iter()
        .filter(|(_, r)| {
            let t = r["CreationTime"].as_str().expect("CreationTime");
            t >= from_text.as_str() && t < to_text.as_str()
        })
        .collect();
    assert_eq!(in_window.len(), truth.len());
    for r in &truth {
        assert_eq!(in_window.get(&id_of(r)), Some(r));
    }

    // Stop, disabled types, and the missing PublisherIdentifier count.
    let before = sim.sim.stats().requests_without_publisher_identifier;
    sim.get_json(&format!("{root}/subscriptions/list"), &token, 200)
        .await;
    assert_eq!(
        sim.sim.stats().requests_without_publisher_identifier,
        before + 1
    );
    let stop = sim
        .post(
            &format!("{root}/subscriptions/stop?contentType=Audit.SharePoint&{publisher}"),
            &token,
            None,
        )
        .await;
    assert_eq!(stop.status(), 200);
    error("AF20022")(
        sim.get_json(
            &content("Audit.SharePoint", hour_ago.clone(), now_text.clone()),
            &token,
            400,
        )
        .await,
    );
    sim.sim.set_tenant_behaviour(
        tenant,
        TenantBehaviour {
            disabled_content_types: vec!["DLP.All".into()],
            ..Default::default()
        },
    );
    let disabled: Value = sim
        .post(
            &format!("{root}/subscriptions/start?contentType=DLP.All&{publisher}"),
            &token,
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(disabled["error"]["code"], "AF20023");
}

#[tokio::test]
async fn tenant_behaviour_gates_sign_ins_and_intune() {
    let sim = start(config(120)).await;
    let tenant = "6a0b5107-48b5-4fcc-94bb-5c706d2f9165";
    let token = sim.token(tenant, GRAPH).await;
    let put = sim
        .http
        .put(format!("{}/_simulator/tenants/{tenant}", sim.base))
        .json(&json!({"sign_ins_premium": false, "intune_permission": false}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let e = sim
        .get_json("/v1.0/auditLogs/signIns?$top=1", &token, 403)
        .await;
    assert_eq!(
        e["error"]["code"],
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    );
    assert_eq!(
        e["error"]["message"],
        "Neither tenant is B2C or tenant doesn't have premium license"
    );
    let e = sim
        .get_json("/v1.0/deviceManagement/auditEvents?$top=1", &token, 403)
        .await;
    assert_eq!(e["error"]["code"], "Authorization_RequestDenied");
    sim.get_json("/v1.0/auditLogs/directoryAudits?$top=1", &token, 200)
        .await;
    let shown = sim
        .get_json(&format!("/_simulator/tenants/{tenant}"), "", 200)
        .await;
    assert_eq!(shown["behaviour"]["sign_ins_premium"], false);
    assert_eq!(shown["users"].as_array().map(Vec::len), Some(15));
}

#[tokio::test]
async fn ground_truth_is_deterministic_and_matches_the_events_endpoint() {
    let tenant = "7b1c6218-59c6-4add-a5cc-6d817e3a0276";
    let from = Utc::now() - Duration::days(3);
    let to = from + Duration::hours(12);
    let a = start(config(120)).await;
    let b = start(config(120)).await;
    let c = start(SimulatorConfig {
        seed: 12,
        ..config(120)
    })
    .await;
    let ta = a.sim.ground_truth(tenant, from, to);
    assert!(ta.len() > 50, "{}", ta.len());
    assert_eq!(ta, b.sim.ground_truth(tenant, from, to));
    let tc = c.sim.ground_truth(tenant, from, to);
    assert_ne!(ta, tc);
    let ids_a: BTreeSet<String> = ta.iter().map(id_of).collect();
    assert_eq!(ids_a.len(), ta.len(), "ids are unique");
    assert!(tc.iter().all(|r| !ids_a.contains(&id_of(r))));
    // Another tenant of the same seed has other data.
    let other = a
        .sim
        .ground_truth("8c2d7329-6ad7-4bee-b6dd-7e928f4b1387", from, to);
    assert_ne!(ta, other);

    let response = a
        .http
        .get(format!(
            "{}/_simulator/events?tenant={tenant}&from={}&to={}",
            a.base,
            from.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            to.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        ))
        .send()
        .await
        .expect("events");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("type"),
        "application/x-ndjson"
    );
    let text = response.text().await.expect("text");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines, ta);
    let bad = a
        .http
        .get(format!(
            "{}/_simulator/events?tenant={tenant}&from=x&to=y",
            a.base
        ))
        .send()
        .await
        .expect("events");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn every_record_normalizes_into_its_family() {
    let sim = start(config(300)).await;
    let tenant = "9d3e843a-7be8-4cff-87ee-8fa3905c2498";
    let from = minutes_ago(17 * 60);
    let to = minutes_ago(5 * 60);
    let truth = sim.sim.ground_truth(tenant, from, to);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut services: BTreeSet<String> = BTreeSet::new();
    for record in &truth {
        let kind = detect_kind(record);
        assert_ne!(kind, RecordKind::Unknown, "{record}");
        let event = normalize(record.clone(), &Context::new("simulator")).expect("normalizes");
        assert!(event.timestamp >= from && event.timestamp < to);
        *kinds.entry(kind.family().to_string()).or_default() += 1;
        services.insert(event.service.clone());
    }

    // Each path's records are of the family that path implies.
    let graph = sim.token(tenant, GRAPH).await;
    let window = |field: &str| {
        format!(
            "$filter={field} ge {} and {field} lt {}&$top=1000",
            iso(from),
            iso(to)
        )
    };
    for (path, field, family) in [
        (
            "auditLogs/directoryAudits",
            "activityDateTime",
            "graph.directory_audits",
        ),
        ("auditLogs/signIns", "createdDateTime", "graph.sign_ins"),
        (
            "deviceManagement/auditEvents",
            "activityDateTime",
            "graph.intune_audit",
        ),
    ] {
        let (records, _) = sim
            .graph_all(&format!("/v1.0/{path}?{}", window(field)), &graph)
            .await;
        assert_eq!(
            records.len(),
            kinds.get(family).copied().unwrap_or(0),
            "{path}"
        );
        for r in records {
            assert_eq!(detect_kind(&r).family(), family);
        }
    }
    let manage = sim.token(tenant, MANAGE).await;
    let root = format!("/api/v1.0/{tenant}/activity/feed");
    let mut unified = BTreeSet::new();
    for ct in [
        "Audit.AzureActiveDirectory",
        "Audit.Exchange",
        "Audit.SharePoint",
        "Audit.General",
        "DLP.All",
    ] {
        sim.post(
            &format!("{root}/subscriptions/start?contentType={ct}&PublisherIdentifier={PUBLISHER}"),
            &manage,
            None,
        )
        .await;
        let url = format!(
            "{root}/subscriptions/content?contentType={ct}&startTime={}&endTime={}&PublisherIdentifier={PUBLISHER}",
            api(from),
            api(to + Duration::hours(2) + Duration::minutes(10))
        );
        let (blobs, _) = sim.content_all(&url, &manage).await;
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
                assert_eq!(detect_kind(r), RecordKind::UnifiedAudit);
                let event = normalize(r.clone(), &Context::new("o365")).expect("normalizes");
                if event.timestamp >= from && event.timestamp < to {
                    unified.insert(id_of(r));
                }
            }
        }
    }
    assert_eq!(unified.len(), kinds.get("o365").copied().unwrap_or(0));
    for service in ["Entra ID", "Exchange", "SharePoint", "Intune"] {
        assert!(
            services.contains(service),
            "{service} missing from {services:?}"
        );
    }
    assert_eq!(sim.sim.stats().requests_without_publisher_identifier, 0);
}

#[tokio::test]
async fn change_notification_subscriptions_validate_endpoints() {
    let sim = start(config(120)).await;
    let tenant = "0e4f954b-8cf9-4d00-98ff-90b4a16d35a9";
    let token = sim.token(tenant, GRAPH).await;
    let (good, good_seen) = receiver(Answer::Correct).await;
    let (wrong, _) = receiver(Answer::WrongBody).await;
    let (json_type, _) = receiver(Answer::Json).await;
    let expiration = (Utc::now() + Duration::days(2)).to_rfc3339();
    let request = |url: &str, lifecycle: Option<&str>, resource: &str| {
        json!({
            "changeType": "updated,deleted",
            "notificationUrl": format!("{url}?tenant={tenant}"),
            "lifecycleNotificationUrl": lifecycle,
            "resource": resource,
            "expirationDateTime": expiration,
            "clientState": "aoc-cs-Zk3P9vR2qT8mW1xY",
            "latestSupportedTlsVersion": "v1_2"
        })
    };

    let created = sim
        .post(
            "/v1.0/subscriptions",
            &token,
            Some(request(&good, Some(&good), "users")),
        )
        .await;
    assert_eq!(created.status(), 201);
    let sub: Value = created.json().await.expect("json");
    let id = sub["id"].as_str().expect("id").to_string();
    assert_eq!(sub["resource"], "users");
    assert_eq!(sub["clientState"], "aoc-cs-Zk3P9vR2qT8mW1xY");
    assert_eq!(sub["applicationId"], CLIENT);
    assert!(sub["@odata.context"].is_string());
    {
        let seen = good_seen.lock().expect("lock");
        assert_eq!(seen.validations.len(), 2, "notification and lifecycle URLs");
        for token in &seen.validations {
            assert!(token.starts_with("Validation: Testing client application reachability"));
            assert!(token.contains(' ') && token.contains(':'));
        }
    }
    for (url, resource) in [
        (&wrong, "users"),
        (&json_type, "groups"),
        (&good, "auditLogs/directoryAudits"),
    ] {
        let r = sim
            .post(
                "/v1.0/subscriptions",
                &token,
                Some(request(url, None, resource)),
            )
            .await;
        assert_eq!(r.status(), 400, "{url} {resource}");
    }
    let mut unreachable = request("http://127.0.0.1:9/hook", None, "users");
    unreachable["changeType"] = json!("updated");
    assert_eq!(
        sim.post("/v1.0/subscriptions", &token, Some(unreachable))
            .await
            .status(),
        400
    );

    let list = sim.get_json("/v1.0/subscriptions", &token, 200).await;
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    let renewed = sim
        .http
        .patch(format!("{}/v1.0/subscriptions/{id}", sim.base))
        .bearer_auth(&token)
        .json(&json!({"expirationDateTime": (Utc::now() + Duration::days(20)).to_rfc3339()}))
        .send()
        .await
        .expect("patch");
    assert_eq!(renewed.status(), 200);

    // Lifecycle notification on request.
    let sent = sim
        .http
        .post(format!(
            "{}/_simulator/subscriptions/{id}/lifecycle?event=reauthorizationRequired",
            sim.base
        ))
        .send()
        .await
        .expect("lifecycle");
    assert_eq!(sent.status(), 200);
    {
        let seen = good_seen.lock().expect("lock");
        let note = seen.notifications.last().expect("lifecycle notification");
        let item = &note["value"][0];
        assert_eq!(item["lifecycleEvent"], "reauthorizationRequired");
        assert_eq!(item["subscriptionId"], id.as_str());
        assert_eq!(item["clientState"], "aoc-cs-Zk3P9vR2qT8mW1xY");
        assert_eq!(item["tenantId"], tenant);
        assert!(
            item["subscriptionExpirationDateTime"]
                .as_str()
                .expect("time")
                .ends_with("+00:00")
        );
    }
    let reauthorized = sim
        .post(
            &format!("/v1.0/subscriptions/{id}/reauthorize"),
            &token,
            None,
        )
        .await;
    assert_eq!(reauthorized.status(), 204);
    let deleted = sim
        .http
        .delete(format!("{}/v1.0/subscriptions/{id}", sim.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let e = sim
        .get_json(&format!("/v1.0/subscriptions/{id}"), &token, 404)
        .await;
    assert_eq!(e["error"]["code"], "itemNotFound");
    // Two for the created subscription, one for each refused endpoint reached.
    assert_eq!(sim.sim.stats().validation_requests, 5);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let sim = start(SimulatorConfig {
        token_lifetime: std::time::Duration::from_secs(1),
        ..config(120)
    })
    .await;
    let tenant = "1f5a065c-9d0a-4e11-a900-a1c5b27e46ba";
    let graph = sim.token(tenant, GRAPH).await;
    let manage = sim.token(tenant, MANAGE).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let e = sim
        .get_json("/v1.0/deviceManagement/auditEvents?$top=1", &graph, 401)
        .await;
    assert_eq!(e["error"]["code"], "InvalidAuthenticationToken");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("expired")
    );
    let response = sim
        .get(
            &format!("/api/v1.0/{tenant}/activity/feed/subscriptions/list?PublisherIdentifier={PUBLISHER}"),
            &manage,
        )
        .await;
    assert_eq!(response.status(), 401);
}
