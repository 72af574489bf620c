//! Shared helpers: a simulator on 127.0.0.1:0, tokens, JSON requests, a tiny receiver.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aoc_simulator::{Simulator, SimulatorConfig};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

pub const GRAPH: &str = "https://graph.microsoft.com/.default";
pub const MANAGE: &str = "https://manage.office.com/.default";
pub const CLIENT: &str = "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36";
pub const PUBLISHER: &str = "2d7e9b14-6a3f-4c85-b0e2-91f4c7d8a653";

/// A running simulator; stops when dropped.
pub struct Running {
    pub base: String,
    pub sim: Simulator,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start(config: SimulatorConfig) -> Running {
    let sim = Simulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = sim.clone();
    tokio::spawn(async move {
        let _ = serving
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await;
    });
    Running {
        base,
        sim,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Running {
    /// Requests a token; the raw answer.
    pub async fn token_response(&self, tenant: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.base))
            .form(form)
            .send()
            .await
            .expect("token request")
    }

    /// A token for `scope` with any secret.
    pub async fn token(&self, tenant: &str, scope: &str) -> String {
        let response = self
            .token_response(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT),
                    ("scope", scope),
                    ("client_secret", "anything"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn get(&self, url: &str, token: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        self.http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, url: &str, token: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{url}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// GETs and parses JSON, asserting the status.
    pub async fn get_json(&self, url: &str, token: &str, status: u16) -> Value {
        let response = self.get(url, token).await;
        assert_eq!(response.status(), status, "{url}");
        response.json().await.expect("json body")
    }

    /// Follows `@odata.nextLink` from `url`; all records and the number of pages.
    pub async fn graph_all(&self, url: &str, token: &str) -> (Vec<Value>, usize) {
        let mut records = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            let page = self.get_json(&url, token, 200).await;
            assert!(page["@odata.context"].is_string());
            pages += 1;
            records.extend(page["value"].as_array().expect("value").iter().cloned());
            next = page["@odata.nextLink"].as_str().map(str::to_string);
            if let Some(link) = &next {
                assert!(link.starts_with(&self.base), "{link}");
            }
        }
        (records, pages)
    }

    /// Lists Management API content following `NextPageUri`; blobs and pages.
    pub async fn content_all(&self, url: &str, token: &str) -> (Vec<Value>, usize) {
        let mut blobs = Vec::new();
        let mut next = Some(format!("{}{url}", self.base));
        let mut pages = 0;
        while let Some(url) = next {
            let response = self.get(&url, token).await;
            assert_eq!(response.status(), 200, "{url}");
            next = response
                .headers()
                .get("NextPageUri")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let page: Value = response.json().await.expect("json");
            blobs.extend(page.as_array().expect("array").iter().cloned());
            pages += 1;
        }
        (blobs, pages)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `YYYY-MM-DDTHH:MM:SS` (Management API).
pub fn api(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Whole minutes before now (stable windows).
pub fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    let now = Utc::now();
    let t = now - Duration::minutes(minutes);
    t - Duration::seconds(t.timestamp() % 60)
        - Duration::nanoseconds(t.timestamp_subsec_nanos() as i64)
}

/// A record's id (Graph `id`, unified log `Id`).
pub fn id_of(record: &Value) -> String {
    record
        .get("id")
        .or_else(|| record.get("Id"))
        .and_then(Value::as_str)
        .expect("record id")
        .to_string()
}

/// What a tiny receiver saw.
#[derive(Default)]
pub struct Received {
    pub validations: Vec<String>,
    pub notifications: Vec<Value>,
}

/// How a receiver answers validations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Correct,
    WrongBody,
    Json,
}

#[derive(Clone)]
struct Receiver {
    answer: Answer,
    seen: Arc<Mutex<Received>>,
}

async fn receive(
    State(r): State<Receiver>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    if let Some(token) = query.get("validationToken") {
        r.seen.lock().expect("lock").validations.push(token.clone());
        return match r.answer {
            Answer::Correct => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                token.clone(),
            )
                .into_response(),
            Answer::WrongBody => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                format!("\"{token}\""),
            )
                .into_response(),
            Answer::Json => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                token.clone(),
            )
                .into_response(),
        };
    }
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    r.seen.lock().expect("lock").notifications.push(value);
    StatusCode::ACCEPTED.into_response()
}

/// A receiver on 127.0.0.1:0 at `/hook`; its URL and what it sees.
pub async fn receiver(answer: Answer) -> (String, Arc<Mutex<Received>>) {
    let seen = Arc::new(Mutex::new(Received::default()));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Receiver {
            answer,
            seen: seen.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}
