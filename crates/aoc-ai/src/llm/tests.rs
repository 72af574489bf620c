//! The clients against local servers that speak each API and record what they were sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

const KEY: &str = "sk-test-0123456789-secret";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    headers: HeaderMap,
    body: Value,
}

/// What the server answers.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    body: String,
    delay: Duration,
}

#[derive(Clone)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Mutex<Answer>>,
}

async fn record(State(r): State<Recorder>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    r.seen.lock().expect("lock").push(Seen {
        uri: uri.to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let answer = r.answer.lock().expect("lock").clone();
    tokio::time::sleep(answer.delay).await;
    (
        answer.status,
        [("content-type", "application/json")],
        answer.body,
    )
        .into_response()
}

struct Server {
    base: url::Url,
    recorder: Recorder,
}

impl Server {
    async fn start(status: StatusCode, body: Value) -> Self {
        let recorder = Recorder {
            seen: Arc::default(),
            answer: Arc::new(Mutex::new(Answer {
                status,
                body: body.to_string(),
                delay: Duration::ZERO,
            })),
        };
        let app = Router::new().fallback(record).with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = url::Url::parse(&format!("http://{}", listener.local_addr().expect("addr")))
            .expect("url");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, recorder }
    }

    fn answer(&self, status: StatusCode, body: &str, delay: Duration) {
        *self.recorder.answer.lock().expect("lock") = Answer {
            status,
            body: body.to_owned(),
            delay,
        };
    }

    fn seen(&self) -> Vec<Seen> {
        self.recorder.seen.lock().expect("lock").clone()
    }

    fn settings(&self, provider: Provider, path: &str) -> LlmSettings {
        LlmSettings {
            provider,
            base_url: self.base.join(path).expect("base"),
            api_key: Some(ApiKey::new(KEY)),
            model: "model-under-test".into(),
            timeout: Duration::from_secs(2),
        }
    }
}

fn openai_reply(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "model-under-test",
        "choices": [{ "index": 0, "finish_reason": "stop",
                      "message": { "role": "assistant", "content": text } }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150 },
    })
}

fn anthropic_reply(text: &str) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "model-under-test",
        "content": [{ "type": "text", "text": text }],
        "stop_reason": "end_turn",
        "usage": { "input_tokens": 80, "output_tokens": 12 },
    })
}

fn question() -> ChatRequest {
    ChatRequest {
        system: "You turn questions into AOC queries.".into(),
        user: "How many failed sign-ins yesterday?".into(),
        json_schema: Some(("events_query".into(), json!({ "type": "object" }))),
        max_tokens: 400,
    }
}

#[tokio::test]
async fn openai_compatible_request_and_reply() {
    let server = Server::start(StatusCode::OK, openai_reply("{\"hours\": 24}")).await;
    let llm = provider(server.settings(Provider::OpenAi, "/v1")).expect("provider");
    let reply = llm.complete(&question()).await.expect("reply");
    assert_eq!(reply.text, "{\"hours\": 24}");
    assert_eq!((reply.input_tokens, reply.output_tokens), (120, 30));

    let [seen] = server.seen().try_into().expect("one request");
    assert_eq!(seen.uri, "/v1/chat/completions");
    assert_eq!(seen.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(seen.body["model"], "model-under-test");
    assert_eq!(seen.body["messages"][0]["role"], "system");
    assert_eq!(
        seen.body["messages"][1]["content"],
        "How many failed sign-ins yesterday?"
    );
    assert_eq!(seen.body["max_tokens"], 400);
    let format = &seen.body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "events_query");
    assert_eq!(format["json_schema"]["strict"], true);
}

#[tokio::test]
async fn azure_openai_names_the_deployment_and_version_and_sends_an_api_key_header() {
    let server = Server::start(StatusCode::OK, openai_reply("ok")).await;
    let azure = Provider::AzureOpenAi {
        deployment: "gpt-4o-aoc".into(),
        api_version: "2024-10-21".into(),
    };
    let llm = provider(server.settings(azure, "/")).expect("provider");
    llm.complete(&question()).await.expect("reply");
    let [seen] = server.seen().try_into().expect("one request");
    assert_eq!(
        seen.uri,
        "/openai/deployments/gpt-4o-aoc/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(seen.headers["api-key"], KEY);
    assert!(seen.headers.get("authorization").is_none());
}

#[tokio::test]
async fn anthropic_request_and_reply() {
    let server = Server::start(StatusCode::OK, anthropic_reply("{\"hours\": 24}")).await;
    let llm = provider(server.settings(Provider::Anthropic, "/")).expect("provider");
    let reply = llm.complete(&question()).await.expect("reply");
    assert_eq!(reply.text, "{\"hours\": 24}");
    assert_eq!((reply.input_tokens, reply.output_tokens), (80, 12));

    let [seen] = server.seen().try_into().expect("one request");
    assert_eq!(seen.uri, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], KEY);
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(seen.body["max_tokens"], 400);
    assert_eq!(seen.body["messages"][0]["role"], "user");
    // The schema travels in the instructions.
    let system = seen.body["system"].as_str().expect("system");
    assert!(system.starts_with("You turn questions into AOC queries."));
    assert!(system.contains("events_query"));
}

#[tokio::test]
async fn failures_are_told_apart_and_never_carry_the_key() {
    let server = Server::start(StatusCode::OK, openai_reply("ok")).await;
    let llm = provider(server.settings(Provider::OpenAi, "/v1")).expect("provider");

    server.answer(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"error":{"message":"Rate limit reached"}}"#,
        Duration::ZERO,
    );
    let e = llm.complete(&question()).await.expect_err("429");
    assert!(matches!(e, LlmError::Status { status: 429, .. }), "{e}");

    // A refusal that echoes the key: the error does not.
    server.answer(
        StatusCode::UNAUTHORIZED,
        &format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#),
        Duration::ZERO,
    );
    let e = llm.complete(&question()).await.expect_err("401");
    assert!(matches!(e, LlmError::Status { status: 401, .. }), "{e}");
    assert!(!e.to_string().contains(KEY), "{e}");

    server.answer(StatusCode::OK, "<html>proxy error</html>", Duration::ZERO);
    let e = llm.complete(&question()).await.expect_err("not JSON");
    assert!(matches!(e, LlmError::BadReply(_)), "{e}");

    server.answer(StatusCode::OK, r#"{"choices": []}"#, Duration::ZERO);
    let e = llm.complete(&question()).await.expect_err("no choice");
    assert!(matches!(e, LlmError::BadReply(_)), "{e}");

    // Slower than the timeout.
    server.answer(
        StatusCode::OK,
        &openai_reply("late").to_string(),
        Duration::from_secs(5),
    );
    let e = llm.complete(&question()).await.expect_err("slow");
    assert!(matches!(e, LlmError::Timeout(_)), "{e}");

    // Nobody listening.
    let mut gone = server.settings(Provider::OpenAi, "/v1");
    gone.base_url = url::Url::parse("http://127.0.0.1:9/v1").expect("url");
    let e = provider(gone)
        .expect("provider")
        .complete(&question())
        .await
        .expect_err("closed");
    assert!(matches!(e, LlmError::Unreachable(_)), "{e}");

    for e in [
        LlmError::Status {
            status: 401,
            detail: "no".into(),
        },
        LlmError::Unreachable("x".into()),
    ] {
        assert!(!e.to_string().contains(KEY));
    }
    assert_eq!(format!("{:?}", ApiKey::new(KEY)), "ApiKey(***)");
    assert!(!format!("{:?}", server.settings(Provider::Anthropic, "/")).contains(KEY));
}
