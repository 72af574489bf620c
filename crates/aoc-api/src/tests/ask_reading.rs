//! Ask reads a question honestly: people by partial UPN or by name, countries by name, MFA
//! denials only, "yesterday" in the asker's time zone, one count per activity however many
//! paths delivered it, what it understood and ignored listed, and questions that are not about
//! audit events declined — all through `POST /api/ask` with no model (the parser).

use aoc_model::{Event, EventQuery, TenantId};
use chrono::{DateTime, Duration, TimeZone, Utc};

use super::ask::assistant;
use super::*;

const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

/// The fixtures (Graph sign-ins, the unified log's Entra and Exchange records, as collected for
/// the fixtures' tenant), moved so they happened yesterday (UTC) at the same times of day.
fn yesterdays_events() -> Vec<Event> {
    let texts = [
        include_str!("../../../../fixtures/graph/signIns.json"),
        include_str!("../../../../fixtures/o365mgmt/content.blob.Audit.AzureActiveDirectory.json"),
        include_str!("../../../../fixtures/o365mgmt/content.blob.Audit.Exchange.json"),
    ];
    let fixtures_day = Utc
        .with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("day");
    let shift = yesterday() - fixtures_day;
    texts
        .iter()
        .flat_map(|text| {
            let value: Value = serde_json::from_str(text).expect("json");
            match value {
                Value::Array(items) => items,
                page => page["value"].as_array().cloned().unwrap_or_default(),
            }
        })
        .map(|raw| {
            let source = if raw.get("Workload").is_some() {
                "o365.Audit.AzureActiveDirectory"
            } else {
                "graph.sign_ins"
            };
            let context = Context {
                tenant: Some(TenantId::new(TENANT)),
                source: source.into(),
            };
            let mut event = normalize(raw, &context).expect("normalizes");
            event.timestamp += shift;
            event
        })
        .collect()
}

/// Yesterday's midnight, UTC.
fn yesterday() -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    Utc.from_utc_datetime(&today) - Duration::days(1)
}

async fn app_with_yesterday() -> (Router, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("ask.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let report = store
        .insert_events(&yesterdays_events())
        .await
        .expect("insert");
    assert_eq!(
        report.joined, 2,
        "Lee's sign-in and the role change come twice"
    );
    let store: Arc<dyn Store> = Arc::new(store);
    let app = router(AppState {
        query_cache: Default::default(),
        ai: Some(Arc::new(assistant(None))),
        ..state_with(Arc::clone(&store), ApiSettings::default())
    });
    (app, store)
}

async fn ask_in(app: &Router, question: &str, offset: Option<i32>) -> (StatusCode, Value) {
    let mut body = serde_json::json!({ "question": question });
    if let Some(offset) = offset {
        body["utc_offset_minutes"] = offset.into();
    }
    let request = Request::post("/api/ask")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, _, body) = send(app, request).await;
    (status, body)
}

async fn ask(app: &Router, question: &str) -> Value {
    let (status, body) = ask_in(app, question, Some(0)).await;
    assert_eq!(status, StatusCode::OK, "{question}: {body}");
    body
}

async fn store_count(store: &Arc<dyn Store>, query: EventQuery) -> u64 {
    let query = EventQuery {
        from: Some(yesterday()),
        to: Some(yesterday() + Duration::days(1)),
        ..query
    };
    let query = query.with_page_size(500).expect("page size");
    store.query_events(&query).await.expect("query").items.len() as u64
}

fn understood(answer: &Value) -> Vec<String> {
    answer["understood"]
        .as_array()
        .expect("understood")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_person_is_found_by_partial_upn_and_by_name() {
    let (app, store) = app_with_yesterday().await;
    let lee = store_count(
        &store,
        EventQuery {
            actor: Some("lee.gomez@contoso.com".into()),
            ..EventQuery::default()
        },
    )
    .await;
    assert!(lee >= 2, "Lee signed in twice yesterday ({lee})");

    let answer = ask(&app, "What did lee.gomez do yesterday?").await;
    assert_eq!(answer["figures"]["total"], lee, "{answer}");
    assert_eq!(answer["query"]["actor"], "lee.gomez", "{answer}");
    let read = understood(&answer);
    assert!(read.iter().any(|u| u.contains("lee.gomez")), "{read:?}");
    assert!(read.iter().any(|u| u.starts_with("time: from")), "{read:?}");

    let answer = ask(&app, "What did Lee Gomez do in the last 3 days?").await;
    assert_eq!(answer["query"]["actor"], "lee gomez", "{answer}");
    assert_eq!(
        answer["figures"]["total"], lee,
        "the name finds the same events: {answer}"
    );
    assert_eq!(answer["ignored"], serde_json::json!([]), "{answer}");
}

#[tokio::test]
async fn a_country_by_name_and_one_count_per_sign_in() {
    let (app, _) = app_with_yesterday().await;
    // Lee's failed sign-in from Bucharest came through Graph and the unified log: one.
    let answer = ask(&app, "How many failed sign-ins from Romania yesterday?").await;
    assert_eq!(answer["query"]["country"], "RO", "{answer}");
    assert_eq!(answer["figures"]["total"], 1, "{answer}");
    assert!(
        understood(&answer).iter().any(|u| u == "country: RO"),
        "{answer}"
    );
}

#[tokio::test]
async fn mfa_denials_only_not_every_failure() {
    let (app, store) = app_with_yesterday().await;
    let failures = store_count(
        &store,
        EventQuery {
            operation: Some("UserLoginFailed".into()),
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(
        failures, 3,
        "three failed sign-ins yesterday (one through two paths)"
    );
    let answer = ask(&app, "Which users had MFA denied yesterday?").await;
    assert_eq!(
        answer["figures"]["total"], 1,
        "Omar's MFA denial only: {answer}"
    );
    assert_eq!(answer["aggregation"], "top_actors", "{answer}");
    assert_eq!(
        answer["figures"]["top"][0]["value"], "omar.haddad@contoso.com",
        "{answer}"
    );
}

#[tokio::test]
async fn a_question_about_something_else_is_declined_and_ignored_words_are_named() {
    let (app, _) = app_with_yesterday().await;
    let answer = ask(&app, "what is the weather").await;
    assert_eq!(answer["declined"], true, "{answer}");
    assert_eq!(answer["figures"]["total"], 0, "{answer}");
    assert_eq!(answer["query"], serde_json::json!({}), "{answer}");
    assert!(
        answer["answer"]
            .as_str()
            .is_some_and(|a| a.contains("audit events")),
        "{answer}"
    );

    let answer = ask(&app, "How many failed sign-ins yesterday on the moon?").await;
    assert_eq!(answer["declined"], false, "{answer}");
    assert_eq!(answer["ignored"], serde_json::json!(["moon"]), "{answer}");
}

#[tokio::test]
async fn yesterday_is_the_askers_day() {
    let (app, _) = app_with_yesterday().await;
    // Ten hours west of UTC, yesterday starts at 10:00 UTC; fourteen hours east, at 10:00 the
    // day before.
    for (offset, start) in [(-600, Duration::hours(10)), (840, -Duration::hours(14))] {
        let (status, answer) = ask_in(&app, "What happened yesterday?", Some(offset)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let from = (yesterday() + start).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // "Yesterday" relative to the asker's now: their today may not be UTC's.
        let local_today = (Utc::now() + Duration::minutes(offset.into())).date_naive();
        let utc_today = Utc::now().date_naive();
        let days = (local_today - utc_today).num_days();
        let from = (chrono::DateTime::parse_from_rfc3339(&from).expect("time")
            + Duration::days(days))
        .with_timezone(&Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(answer["query"]["from"], from, "offset {offset}: {answer}");
    }
    let (status, body) = ask_in(&app, "What happened yesterday?", Some(900)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("utc_offset_minutes"), "{body}");
}

/// An export has one row per activity, however many paths delivered it.
#[tokio::test]
async fn an_export_counts_an_activity_once() {
    let (app, store) = app_with_yesterday().await;
    let stored = store.count_events().await.expect("count");
    assert_eq!(stored as usize, yesterdays_events().len() - 2);
    let response = app
        .clone()
        .oneshot(
            Request::get("/api/events/export?format=ndjson&hours=72")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let rows: Vec<Value> = String::from_utf8_lossy(&body)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(rows.len() as u64, stored, "one row per event");
    let twice = rows
        .iter()
        .filter(|r| r["also_seen_via"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert_eq!(
        twice, 2,
        "the sign-in and the role change, each seen via both paths"
    );
}
