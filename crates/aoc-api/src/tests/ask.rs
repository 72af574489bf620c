//! `POST /api/ask` against the real SQLite store, with no model (the parser and the plain
//! summary) and with a local OpenAI-compatible server standing in for the model, which records
//! every request.

use std::sync::Mutex;
use std::time::Duration;

use aoc_ai::cache::MemoryCache;
use aoc_ai::{ApiKey, Assistant, LlmSettings, Provider};
use aoc_model::{AggregateSpec, EventQuery};
use axum::extract::State as AxState;

use super::*;

const LLM_KEY: &str = "sk-llm-test-key-never-in-a-prompt";

/// What the stand-in model answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// A good reading, then an answer citing the first event it was shown and an invented id.
    Good,
    /// Prose where JSON was asked for, then a normal answer.
    Nonsense,
    /// Slower than the client's timeout.
    Slow,
}

#[derive(Clone)]
struct Model {
    seen: Arc<Mutex<Vec<Value>>>,
    mode: Arc<Mutex<Mode>>,
}

async fn answer(
    AxState(model): AxState<Model>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    model.seen.lock().expect("lock").push(body.clone());
    let mode = *model.mode.lock().expect("lock");
    if mode == Mode::Slow {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let schema = body["response_format"]["json_schema"]["name"]
        .as_str()
        .unwrap_or_default();
    let text = if schema == "aoc_explanation" {
        serde_json::json!({
            "meaning": "A mailbox rule was created.",
            "why_it_matters": "It may forward mail.",
            "next_steps": ["Read the rule."],
        })
        .to_string()
    } else if body.get("response_format").is_some() {
        match mode {
            Mode::Nonsense => "Sure! Failed sign-ins are bad.".to_owned(),
            _ => serde_json::json!({
                "hours": null, "from": "2025-03-01T00:00:00Z", "to": null, "service": null,
                "operation": "UserLoginFailed", "actor": null, "ip": null, "result": null,
                "text": null, "aggregation": "count", "after_hours": false,
            })
            .to_string(),
        }
    } else {
        let prompt = body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let first = prompt
            .split("id=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("none")
            .to_owned();
        format!(
            "There were failed sign-ins, e.g. [{first}] and [00000000-0000-8000-8000-000000000000]."
        )
    };
    axum::Json(serde_json::json!({
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text } }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 5 },
    }))
    .into_response()
}

/// Serves a stand-in model on a loopback port; its base address.
async fn serve_stand_in(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn model(mode: Mode) -> (Model, LlmSettings) {
    let model = Model {
        seen: Arc::default(),
        mode: Arc::new(Mutex::new(mode)),
    };
    let app = Router::new().fallback(answer).with_state(model.clone());
    let base = format!("{}/v1", serve_stand_in(app).await);
    let settings = LlmSettings {
        provider: Provider::OpenAi,
        base_url: url::Url::parse(&base).expect("url"),
        api_key: Some(ApiKey::new(LLM_KEY)),
        model: "stand-in".into(),
        timeout: Duration::from_secs(1),
    };
    (model, settings)
}

pub(super) fn assistant(llm: Option<LlmSettings>) -> Assistant {
    Assistant {
        llm: llm.map(|s| aoc_ai::llm::provider(s).expect("provider")),
        cache: Arc::new(MemoryCache::default()),
        ask_ttl: Duration::from_secs(3600),
        explain_ttl: std::time::Duration::from_secs(86_400),
        sample_tokens: 2_000,
        sample_max: 20,
        after_hours_scan: 10_000,
        budget: aoc_ai::budget::TokenBudget::new(0),
    }
}

async fn app_with_ai(ai: Option<Assistant>) -> (Router, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("ask.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    store
        .insert_events(&fixture_events())
        .await
        .expect("insert");
    let store: Arc<dyn Store> = Arc::new(store);
    let app = router(AppState {
        query_cache: Default::default(),
        ai: ai.map(Arc::new),
        ..state_with(Arc::clone(&store), ApiSettings::default())
    });
    (app, store)
}

async fn ask(app: &Router, question: &str) -> (StatusCode, Value) {
    let request = Request::post("/api/ask")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({ "question": question }).to_string(),
        ))
        .expect("request");
    let (status, _, body) = send(app, request).await;
    (status, body)
}

/// The store's own count of failed sign-ins in the fixtures.
async fn failed_sign_ins(store: &Arc<dyn Store>) -> (u64, Vec<aoc_model::EventId>) {
    let query = EventQuery {
        operation: Some("UserLoginFailed".into()),
        ..EventQuery::default()
    };
    let totals = store
        .aggregate_events(
            &query,
            &AggregateSpec {
                interval_seconds: None,
                top: 10,
            },
        )
        .await
        .expect("aggregate");
    let ids = store
        .query_events(&query)
        .await
        .expect("query")
        .items
        .iter()
        .map(|e| e.id)
        .collect();
    (totals.total, ids)
}

#[tokio::test]
async fn with_the_ai_features_off_the_route_is_not_there() {
    let (app, _) = app_with_ai(None).await;
    let (status, body) = ask(&app, "How many failed sign-ins?").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "/problems/not-found");
}

#[tokio::test]
async fn without_a_model_the_parser_reads_and_the_figures_are_the_store_s() {
    let (app, store) = app_with_ai(Some(assistant(None))).await;
    let (status, body) = ask(&app, "How many failed sign-ins since 2025-03-01?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "parser");
    assert_eq!(body["written_by"], "summary");
    assert_eq!(body["aggregation"], "count");
    assert_eq!(body["query"]["operation"], "UserLoginFailed");
    assert_eq!(body["query"]["from"], "2025-03-01T00:00:00Z");
    let (total, ids) = failed_sign_ins(&store).await;
    assert_eq!(total, 3);
    assert_eq!(body["figures"]["total"], total);
    assert!(
        body["answer"]
            .as_str()
            .expect("answer")
            .starts_with("3 events match")
    );
    // Every cited event exists and matches the query.
    let cited = body["cited"].as_array().expect("cited");
    assert!(!cited.is_empty());
    for id in cited {
        let id: aoc_model::EventId = id.as_str().expect("id").parse().expect("uuid");
        assert!(ids.contains(&id), "{id} is not a failed sign-in");
    }

    // Bad input is a problem naming the field.
    for bad in [
        serde_json::json!({ "question": "" }),
        serde_json::json!({ "question": "x".repeat(501) }),
    ] {
        let request = Request::post("/api/ask")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bad.to_string()))
            .expect("request");
        let (status, _, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["invalid_params"][0]["name"], "question");
    }
    let request = Request::post("/api/ask")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"question": "hi", "sql": "drop"}"#))
        .expect("request");
    assert_eq!(send(&app, request).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_model_reads_and_words_but_cites_only_real_events_and_sees_no_secret() {
    let (model, settings) = model(Mode::Good).await;
    let (app, store) = app_with_ai(Some(assistant(Some(settings)))).await;
    let (status, body) = ask(&app, "How many sign-ins failed?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "model");
    assert_eq!(body["written_by"], "model");
    let (total, ids) = failed_sign_ins(&store).await;
    assert_eq!(body["figures"]["total"], total);
    // The answer cited one real event and one invented: only the real one is listed.
    let cited = body["cited"].as_array().expect("cited");
    assert_eq!(cited.len(), 1, "{body}");
    let id: aoc_model::EventId = cited[0].as_str().expect("id").parse().expect("uuid");
    assert!(ids.contains(&id));
    assert!(
        body["notes"].to_string().contains("not among the events"),
        "{body}"
    );

    let seen = model.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "a reading and an answer");
    for request in &seen {
        let text = request.to_string();
        assert!(!text.contains(LLM_KEY));
        // Normalized lines only: no raw record's field names.
        assert!(
            !text.contains("CreationTime") && !text.contains("createdDateTime"),
            "{text}"
        );
    }
    assert!(seen[0].get("response_format").is_some());
}

#[tokio::test]
async fn a_model_that_talks_nonsense_or_stalls_is_fallen_back_from() {
    let (model_a, settings) = model(Mode::Nonsense).await;
    let (app, store) = app_with_ai(Some(assistant(Some(settings)))).await;
    let (status, body) = ask(&app, "How many failed sign-ins since 2025-03-01?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "parser");
    assert_eq!(body["figures"]["total"], failed_sign_ins(&store).await.0);
    assert!(
        body["notes"][0]
            .as_str()
            .expect("note")
            .contains("not usable")
    );
    assert_eq!(model_a.seen.lock().expect("lock").len(), 2);

    let (_, slow) = model(Mode::Slow).await;
    let (app, store) = app_with_ai(Some(assistant(Some(slow)))).await;
    let (status, body) = ask(&app, "How many failed sign-ins since 2025-03-01?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "parser");
    assert_eq!(body["written_by"], "summary");
    assert_eq!(body["figures"]["total"], failed_sign_ins(&store).await.0);
    assert_eq!(body["notes"].as_array().expect("notes").len(), 2, "{body}");
}

#[tokio::test]
async fn a_second_identical_question_is_served_from_the_cache_without_the_model() {
    let (model, settings) = model(Mode::Good).await;
    let (app, _) = app_with_ai(Some(assistant(Some(settings)))).await;
    let (_, first) = ask(&app, "How many sign-ins failed?").await;
    assert_eq!(first["cached"], false);
    let calls = model.seen.lock().expect("lock").len();
    let (status, second) = ask(&app, "  how many SIGN-INS failed? ").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["cached"], true);
    assert_eq!(second["answer"], first["answer"]);
    // No model request at all.
    assert_eq!(model.seen.lock().expect("lock").len(), calls);

    // Another scope of data is another answer, read and worded anew.
    let (_, other) = ask(&app, "How many sign-ins failed since 2025-01-01?").await;
    assert_eq!(other["cached"], false);
    assert_eq!(model.seen.lock().expect("lock").len(), calls + 2);
}

async fn explain(app: &Router, id: &str) -> (StatusCode, Value) {
    let request = Request::post(format!("/api/events/{id}/explain"))
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(app, request).await;
    (status, body)
}

fn inbox_rule_id() -> String {
    fixture_events()
        .into_iter()
        .find(|e| e.operation == "New-InboxRule")
        .expect("a New-InboxRule fixture")
        .id
        .to_string()
}

#[tokio::test]
async fn explain_is_off_with_the_ai_features_and_checks_its_event() {
    let (app, _) = app_with_ai(None).await;
    assert_eq!(
        explain(&app, &inbox_rule_id()).await.0,
        StatusCode::NOT_FOUND
    );

    let (app, _) = app_with_ai(Some(assistant(None))).await;
    let (status, body) = explain(&app, "00000000-0000-8000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = explain(&app, "not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["invalid_params"][0]["name"], "id");
}

#[tokio::test]
async fn without_a_model_aoc_s_notes_explain_the_event() {
    let (app, _) = app_with_ai(Some(assistant(None))).await;
    let (status, body) = explain(&app, &inbox_rule_id()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["written_by"], "aoc");
    assert!(
        body["explanation"]["why_it_matters"]
            .as_str()
            .expect("why")
            .contains("forward")
    );
    assert!(
        !body["explanation"]["next_steps"]
            .as_array()
            .expect("steps")
            .is_empty()
    );
}

#[tokio::test]
async fn a_model_explains_from_the_normalized_event_once_then_the_cache_answers() {
    let (model, settings) = model(Mode::Good).await;
    let (app, _) = app_with_ai(Some(assistant(Some(settings)))).await;
    let id = inbox_rule_id();
    let (status, body) = explain(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["written_by"], "model");
    assert_eq!(
        body["explanation"]["meaning"],
        "A mailbox rule was created."
    );
    let seen = model.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let prompt = seen[0].to_string();
    assert!(prompt.contains(&id));
    assert!(!prompt.contains(LLM_KEY));
    assert!(!prompt.contains("CreationTime"), "{prompt}");

    let (_, again) = explain(&app, &id).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["explanation"], body["explanation"]);
    assert_eq!(model.seen.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_caller_whose_daily_budget_is_spent_gets_aoc_s_answers_without_the_model() {
    let (model, settings) = model(Mode::Good).await;
    // Each stand-in reply costs 15 tokens: the reading fits, the answer does not.
    let mut ai = assistant(Some(settings));
    ai.budget = aoc_ai::budget::TokenBudget::new(10);
    let (app, store) = app_with_ai(Some(ai)).await;
    let (status, body) = ask(&app, "How many sign-ins failed?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "model");
    assert_eq!(body["written_by"], "summary");
    assert!(body["notes"].to_string().contains("budget"), "{body}");
    assert_eq!(model.seen.lock().expect("lock").len(), 1);

    // The next question is read by the parser, and the model is not called at all.
    let (status, body) = ask(&app, "How many failed sign-ins since 2025-03-01?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["read_by"], "parser");
    assert_eq!(body["figures"]["total"], failed_sign_ins(&store).await.0);
    assert_eq!(model.seen.lock().expect("lock").len(), 1);
}

/// The value of one Prometheus series in this test process's `/metrics`, 0 when absent.
pub(super) fn series(app_metrics: &str, name: &str) -> f64 {
    app_metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

pub(super) async fn metrics_text(app: &Router) -> String {
    let (_, _, body) = get(app, "/metrics").await;
    body.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn answers_are_cached_in_valkey_counted_in_metrics_and_still_given_when_valkey_stops() {
    let redis =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let proxy = aoc_ai::testing::ValkeyProxy::start(&redis).await;
    let (model, settings) = model(Mode::Good).await;
    let namespace = format!("aoc-test-ask-{}:", uuid::Uuid::new_v4().simple());
    let ai = Assistant {
        cache: Arc::new(
            aoc_ai::cache::ValkeyCache::new(&proxy.url)
                .expect("url")
                .in_namespace(&namespace),
        ),
        ..assistant(Some(settings))
    };
    let (app, _) = app_with_ai(Some(ai)).await;
    let hits = r#"aoc_cache_requests_total{cache="ask",outcome="hit"}"#;
    let misses = r#"aoc_cache_requests_total{cache="ask",outcome="miss"}"#;
    let before = metrics_text(&app).await;

    let question = "How many sign-ins failed this week?";
    let (status, first) = ask(&app, question).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["cached"], false);
    let calls = model.seen.lock().expect("lock").len();
    let (_, second) = ask(&app, question).await;
    assert_eq!(second["cached"], true, "served from Valkey");
    assert_eq!(
        model.seen.lock().expect("lock").len(),
        calls,
        "no model request"
    );
    let after = metrics_text(&app).await;
    assert!(
        series(&after, hits) >= series(&before, hits) + 1.0,
        "{after}"
    );
    assert!(
        series(&after, misses) >= series(&before, misses) + 1.0,
        "{after}"
    );

    // Valkey stops: the same question is answered anew, in bounded time, without an error.
    proxy.stop();
    let answered = tokio::time::timeout(Duration::from_secs(20), ask(&app, question)).await;
    let (status, third) = answered.expect("answered in time");
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["cached"], false);
    assert_eq!(third["figures"], first["figures"]);
    assert!(
        model.seen.lock().expect("lock").len() > calls,
        "the model answered again"
    );
}

/// Each request the Anthropic stand-in received: its `x-api-key` header and its body.
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// An Anthropic Messages API stand-in: the reading comes back inside a code fence (as Claude
/// often writes it), the answer cites the first event it was shown.
async fn anthropic_messages(
    AxState(seen): AxState<Received>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    seen.lock().expect("lock").push((key, body.clone()));
    let text = if body["system"]
        .as_str()
        .unwrap_or_default()
        .contains("JSON schema")
    {
        format!(
            "```json\n{}\n```",
            serde_json::json!({
                "hours": null, "from": "2025-03-01T00:00:00Z", "to": null, "service": null,
                "operation": "UserLoginFailed", "actor": null, "ip": null, "result": null,
                "text": null, "aggregation": "count", "after_hours": false,
            })
        )
    } else {
        let prompt = body["messages"][0]["content"].as_str().unwrap_or_default();
        let first = prompt
            .split("id=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("none");
        format!("Failed sign-ins, for example [{first}].")
    };
    axum::Json(serde_json::json!({
        "id": "msg_stand_in", "type": "message", "role": "assistant",
        "content": [{ "type": "text", "text": text }],
        "usage": { "input_tokens": 12, "output_tokens": 7 },
    }))
}

#[tokio::test]
async fn an_anthropic_model_reads_and_words_the_answer_through_the_route() {
    let seen: Received = Arc::default();
    let app = Router::new()
        .fallback(anthropic_messages)
        .with_state(Arc::clone(&seen));
    let base = serve_stand_in(app).await;
    let settings = LlmSettings {
        provider: Provider::Anthropic,
        base_url: url::Url::parse(&base).expect("url"),
        api_key: Some(ApiKey::new(LLM_KEY)),
        model: "claude-stand-in".into(),
        timeout: Duration::from_secs(5),
    };
    let (app, store) = app_with_ai(Some(assistant(Some(settings)))).await;
    let (status, body) = ask(&app, "How many sign-ins failed?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["read_by"].as_str(), body["written_by"].as_str()),
        (Some("model"), Some("model"))
    );
    assert_eq!(body["query"]["operation"], "UserLoginFailed");
    let (total, ids) = failed_sign_ins(&store).await;
    assert_eq!(body["figures"]["total"], total);
    let cited = body["cited"].as_array().expect("cited");
    assert_eq!(cited.len(), 1, "{body}");
    let id: aoc_model::EventId = cited[0].as_str().expect("id").parse().expect("uuid");
    assert!(ids.contains(&id));

    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "a reading and an answer");
    for (key, request) in &seen {
        // The key travels in its header only, never in a prompt.
        assert_eq!(key.as_deref(), Some(LLM_KEY));
        assert!(!request.to_string().contains(LLM_KEY));
        assert_eq!(request["model"], "claude-stand-in");
    }
}
