//! The investigation routes in-process, sign-in off (the local caller holds every role):
//! filters, aggregations, export, tags, comments and AOC's own audit trail.

use serde_json::json;

use super::*;

/// A store with the fixture events plus one whose cells look like spreadsheet formulas.
async fn investigation_app() -> (Router, Vec<aoc_model::Event>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let mut events = fixture_events();
    let mut hostile = events[0].clone();
    hostile.summary = "=HYPERLINK(\"http://evil.example\",\"click\")".into();
    hostile.actor.upn = Some("+attacker@contoso.com".into());
    hostile.dedupe_key = aoc_model::DedupeKey::new("formula-test");
    hostile.refresh_id();
    events.push(hostile);
    store.insert_events(&events).await.expect("insert");
    (
        app_with(Arc::new(store), ApiSettings::default()).await,
        events,
    )
}

async fn send_json(
    app: &Router,
    method: &str,
    uri: &str,
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    send(
        app,
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
    )
    .await
}

async fn raw(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    (
        status,
        headers,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

/// Every event matching `query` through the list route, following cursors.
async fn all_ids(app: &Router, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/api/events?{query}&page_size=7&cursor={c}"),
            None => format!("/api/events?{query}&page_size=7"),
        };
        let (status, _, body) = get(app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        ids.extend(
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned)),
        );
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

/// The ids of `events` that `f` keeps, sorted: what a correct filter returns.
fn ids_where(events: &[aoc_model::Event], f: &dyn Fn(&aoc_model::Event) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .filter(|e| f(e))
        .map(|e| e.id.to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn new_filters_narrow_the_result_like_the_reference() {
    let (app, events) = investigation_app().await;
    let want = |f: &dyn Fn(&aoc_model::Event) -> bool| ids_where(&events, f);
    let got = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let some_op = events[0].operation.clone();
    let prefix: String = some_op.chars().take(4).collect();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            format!("operation={}*", urlencode(&prefix)),
            want(&|e| e.operation.starts_with(&prefix)),
        ),
        (
            "ip=203.0.113.0%2F24".into(),
            want(&|e| {
                e.client_ip
                    .is_some_and(|ip| ip.to_string().starts_with("203.0.113."))
            }),
        ),
        (
            "country=us".into(),
            want(&|e| {
                e.location
                    .as_ref()
                    .and_then(|l| l.country.as_deref())
                    .is_some_and(|c| c.eq_ignore_ascii_case("us"))
            }),
        ),
    ];
    for (query, want) in cases {
        assert!(!want.is_empty(), "{query} should match something");
        assert_eq!(got(all_ids(&app, &query).await), want, "{query}");
    }
    let target = events
        .iter()
        .flat_map(|e| &e.targets)
        .find_map(|t| t.name.clone())
        .expect("a target");
    let ids = all_ids(
        &app,
        &format!("target={}", urlencode(&target.to_uppercase())),
    )
    .await;
    assert!(!ids.is_empty(), "target {target}");
    for (query, name) in [
        ("ip=10.0.0.0%2F33", "ip"),
        ("ip=10.0.0.0%2Fx", "ip"),
        ("operation=*", "operation"),
        ("target=a%1Fb", "target"),
        ("country=%0A", "country"),
        ("tag=Not%20A%20Tag!", "tag"),
    ] {
        let (status, _, body) = get(&app, &format!("/api/events?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["invalid_params"][0]["name"], name, "{query}: {body}");
    }
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn aggregations_count_what_the_list_returns() {
    let (app, events) = investigation_app().await;
    let (status, _, body) = get(&app, "/api/events/aggregations?service=Exchange&top=2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exchange = events.iter().filter(|e| e.service == "Exchange").count() as u64;
    assert_eq!(body["total"], exchange);
    let timeline_sum: u64 = body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(timeline_sum, exchange);
    assert!(body["top_operations"].as_array().expect("top").len() <= 2);
    let (_, _, all) = get(&app, "/api/events/aggregations?interval=1h").await;
    assert_eq!(all["total"], events.len() as u64);
    assert_eq!(all["interval_seconds"], 3600);
    let failures = events
        .iter()
        .filter(|e| e.result == aoc_model::EventResult::Failure)
        .count() as u64;
    assert_eq!(all["failures"], failures);
    for (query, name) in [
        ("interval=1w", "interval"),
        ("interval=1s", "interval"),
        ("top=0", "top"),
        ("top=1000", "top"),
        ("page_size=5", "page_size"),
        ("interval=1m&from=2000-01-01&to=2025-01-01", "interval"),
    ] {
        let (status, _, body) = get(&app, &format!("/api/events/aggregations?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["invalid_params"][0]["name"], name, "{query}: {body}");
    }
}

#[tokio::test]
async fn exports_hold_every_matching_event_and_defuse_formulas() {
    let (app, events) = investigation_app().await;
    let (status, headers, text) = raw(&app, "/api/events/export?format=csv&from=2020-01-01").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"aoc-events_20200101T000000Z_")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header_row = reader.headers().expect("header").clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), events.len());
    let summary = header_row
        .iter()
        .position(|h| h == "summary")
        .expect("summary");
    let actor = header_row.iter().position(|h| h == "actor").expect("actor");
    let hostile = rows
        .iter()
        .find(|r| r[summary].contains("HYPERLINK"))
        .expect("the formula row");
    assert_eq!(
        &hostile[summary],
        "'=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(&hostile[actor], "'+attacker@contoso.com");
    assert!(
        rows.iter()
            .all(|r| !r.iter().any(|cell| cell.starts_with(['=', '+', '-', '@'])))
    );

    let (_, headers, text) = raw(&app, "/api/events/export?format=ndjson&service=Exchange").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(
        lines.len(),
        events.iter().filter(|e| e.service == "Exchange").count()
    );
    assert!(
        lines
            .iter()
            .all(|e| e["service"] == "Exchange" && e["raw"].is_object())
    );

    let (_, _, text) = raw(&app, "/api/events/export?format=json").await;
    let array: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
    assert_eq!(array.len(), events.len());

    let (status, _, body) = get(&app, "/api/events/export?format=xlsx").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["invalid_params"][0]["name"], "format");
}

#[tokio::test]
async fn the_row_cap_stops_an_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cap.db").display());
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let events = fixture_events();
    store.insert_events(&events).await.expect("insert");
    let app = app_with(
        Arc::new(store),
        ApiSettings {
            export_max_rows: 3,
            ..ApiSettings::default()
        },
    )
    .await;
    let (_, headers, text) = raw(&app, "/api/events/export?format=ndjson").await;
    assert_eq!(headers["x-aoc-row-cap"], "3");
    assert_eq!(text.lines().count(), 3);
}

#[tokio::test]
async fn tags_and_comments_are_kept_listed_and_filterable() {
    let (app, events) = investigation_app().await;
    let id = events[1].id.to_string();
    let (status, _, tags) = send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/tags"),
        json!({"tag": " Escalated "}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tags}");
    assert_eq!(tags[0]["tag"], "escalated");
    assert_eq!(tags[0]["by"]["id"], "local");
    let (status, _, _) = send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/tags"),
        json!({"tag": "escalated"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "adding again is harmless");
    for (body, status) in [
        (json!({"tag": "bad tag!"}), StatusCode::BAD_REQUEST),
        (json!({"label": "x"}), StatusCode::BAD_REQUEST),
        (json!("escalated"), StatusCode::BAD_REQUEST),
    ] {
        let (got, _, problem) =
            send_json(&app, "POST", &format!("/api/events/{id}/tags"), body).await;
        assert_eq!(got, status, "{problem}");
    }
    let unknown = "00000000-0000-8000-8000-000000000000";
    let (status, _, _) = send_json(
        &app,
        "POST",
        &format!("/api/events/{unknown}/tags"),
        json!({"tag": "escalated"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(all_ids(&app, "tag=escalated").await, vec![id.clone()]);
    let (_, _, listed) = get(&app, "/api/tags").await;
    let escalated = listed
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == "escalated")
        .expect("listed");
    assert_eq!(escalated["events"], 1);
    assert!(
        listed
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t["tag"] == "false_positive" && t["events"] == 0)
    );

    let (status, _, comment) = send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/comments"),
        json!({"body": "Checked with the user: <b>not</b> them. 'quote' %_\\"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let comment_id = comment["id"].as_str().expect("id").to_owned();
    let (status, _, edited) = send_json(
        &app,
        "PATCH",
        &format!("/api/comments/{comment_id}"),
        json!({"body": "Escalated to the SOC."}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert!(edited["updated_at"].is_string());
    let (status, _, detail) = get(&app, &format!("/api/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["id"], id.as_str());
    assert!(detail["raw"].is_object());
    assert_eq!(detail["tags"][0]["tag"], "escalated");
    assert_eq!(detail["comments"][0]["body"], "Escalated to the SOC.");
    let (status, _, _) = send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/comments"),
        json!({"body": "   "}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let delete = |uri: String| {
        let app = app.clone();
        async move {
            send(
                &app,
                Request::delete(uri).body(Body::empty()).expect("request"),
            )
            .await
            .0
        }
    };
    assert_eq!(
        delete(format!("/api/comments/{comment_id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(format!("/api/comments/{comment_id}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(format!("/api/events/{id}/tags/escalated")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(format!("/api/events/{id}/tags/escalated")).await,
        StatusCode::NOT_FOUND
    );
    assert!(all_ids(&app, "tag=escalated").await.is_empty());
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what() {
    let (app, events) = investigation_app().await;
    let id = events[2].id.to_string();
    let (status, _, _) = get(&app, "/api/events?service=Exchange&q=inbox").await;
    assert_eq!(status, StatusCode::OK);
    get(&app, &format!("/api/events/{id}")).await;
    send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/tags"),
        json!({"tag": "investigating"}),
    )
    .await;
    send_json(
        &app,
        "POST",
        &format!("/api/events/{id}/comments"),
        json!({"body": "looking"}),
    )
    .await;
    raw(&app, "/api/events/export?format=csv&service=Exchange").await;
    get(&app, "/api/events?ip=bad").await;

    // The export's completion entry is written when its stream ends: wait for it.
    let mut trail = Value::Null;
    for _ in 0..50 {
        let (status, _, body) = get(&app, "/api/audit-trail?page_size=100").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        trail = body;
        let done = trail["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "events.export.completed");
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let items = trail["items"].as_array().expect("items").clone();
    let find = |action: &str| {
        items
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {items:#?}"))
            .clone()
    };
    assert_eq!(find("user.first_request")["actor"]["id"], "local");
    let search = items
        .iter()
        .find(|e| e["action"] == "events.search" && e["status"] == 200)
        .expect("the search")
        .clone();
    assert_eq!(search["details"]["service"], "Exchange");
    assert_eq!(search["details"]["q"], "inbox");
    assert_eq!(search["outcome"], "success");
    assert!(search["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(find("events.view")["target"], id.as_str());
    assert_eq!(find("tag.add")["details"]["tag"], "investigating");
    assert_eq!(find("comment.add")["target"], id.as_str());
    assert_eq!(find("events.export")["details"]["format"], "csv");
    let exchange = events.iter().filter(|e| e.service == "Exchange").count();
    assert_eq!(find("events.export.completed")["details"]["rows"], exchange);
    let failed = items
        .iter()
        .find(|e| e["action"] == "events.search" && e["status"] == 400)
        .expect("the failed search");
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(
        items
            .iter()
            .filter(|e| e["action"] == "user.first_request")
            .count(),
        1
    );
    // Filters on the trail itself.
    let (_, _, only) = get(&app, "/api/audit-trail?action=tag.&outcome=success").await;
    let only = only["items"].as_array().expect("items");
    assert!(
        !only.is_empty()
            && only
                .iter()
                .all(|e| e["action"].as_str().is_some_and(|a| a.starts_with("tag.")))
    );
    let (status, _, body) = get(&app, "/api/audit-trail?outcome=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["invalid_params"][0]["name"], "outcome");
}

#[tokio::test]
async fn expensive_routes_are_rate_limited_per_caller() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("limit.db").display());
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let app = app_with(
        Arc::new(store),
        ApiSettings {
            expensive_per_minute: 2,
            ..ApiSettings::default()
        },
    )
    .await;
    assert_eq!(
        get(&app, "/api/events/aggregations").await.0,
        StatusCode::OK
    );
    assert_eq!(raw(&app, "/api/events/export").await.0, StatusCode::OK);
    let (status, headers, body) = get(&app, "/api/events/aggregations").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=31).contains(&wait), "{wait}");
    assert_eq!(
        raw(&app, "/api/events/export").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Cheap routes are not counted.
    assert_eq!(get(&app, "/api/events").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_query_language_filters_counts_and_points_at_its_errors() {
    let (app, events) = investigation_app().await;
    let want = |f: &dyn Fn(&aoc_model::Event) -> bool| ids_where(&events, f);
    let failed = |e: &aoc_model::Event| e.result == aoc_model::EventResult::Failure;
    let exchange = |e: &aoc_model::Event| e.service == "Exchange";
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "service:exchange OR result:failure",
            want(&|e| exchange(e) || failed(e)),
        ),
        (
            "service:EXCHANGE -operation:set-mailbox",
            want(&|e| exchange(e) && e.operation != "Set-Mailbox"),
        ),
        (
            "NOT (service:exchange OR result:failure)",
            want(&|e| !exchange(e) && !failed(e)),
        ),
        (
            "operation:\"Set-Mailbox\" OR operation:new-inbox*",
            want(&|e| e.operation == "Set-Mailbox" || e.operation == "New-InboxRule"),
        ),
    ];
    for (q, want) in cases {
        assert!(!want.is_empty(), "{q} should match something");
        let query = format!("q={}", urlencode(q));
        let mut got = all_ids(&app, &query).await;
        got.sort();
        assert_eq!(got, want, "{q}");
        // The figures count what the list returns.
        let (status, _, body) = get(&app, &format!("/api/events/aggregations?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(body["total"], want.len() as u64, "{q}");
    }
    // The form's fields and the typed query hold together.
    let mut got = all_ids(
        &app,
        &format!(
            "service=exchange&q={}",
            urlencode("result:failure OR result:success")
        ),
    )
    .await;
    got.sort();
    assert_eq!(
        got,
        want(&|e| exchange(e)
            && e.result != aoc_model::EventResult::Unknown
            && e.result != aoc_model::EventResult::Partial)
    );
    for (q, at) in [
        ("actor:ravi (a OR b", 12),
        ("operaton:Set-Mailbox", 1),
        ("result:maybe", 8),
        ("a OR", 3),
        ("after:2026-12-02 before:2026-12-01", 0),
    ] {
        let (status, _, body) = get(&app, &format!("/api/events?q={}", urlencode(q))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(body["invalid_params"][0]["name"], "q", "{q}: {body}");
        let reason = body["invalid_params"][0]["reason"]
            .as_str()
            .expect("reason");
        if at > 0 {
            assert!(
                reason.starts_with(&format!("at character {at}: ")),
                "{q}: {reason}"
            );
        }
    }
}
