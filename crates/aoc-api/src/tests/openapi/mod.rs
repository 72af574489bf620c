//! The OpenAPI document against the router that serves it: every route is in it and every
//! operation in it is served; real requests against a SQLite store with the fixture events get
//! answers whose status, media type, headers and body are the documented ones; each route
//! enforces the role it documents; and the docs page works with no internet.

mod check;
mod docs_page;
mod roles;

use std::collections::BTreeSet;

use serde_json::json;
use tokio::sync::mpsc;

use aoc_model::TenantId;
use aoc_sources::m365::{ContentType, SourceKind};
use aoc_store::{ContentRef, FetchCommit, FetchStateStore, RunRecord, SourceProblem};

use crate::webhook::{GraphWebhook, WebhookSignal};

use self::check::{Answer, Document, METHODS, component};
use super::*;

/// Every (method, path) the router serves and documents. A route added to the router shows up
/// in the document by construction (`routes!`); this table makes the test say which.
const ROUTES: [(&str, &str); 26] = [
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/api/client-config"),
    ("GET", "/api/me"),
    ("GET", "/api/events"),
    ("GET", "/api/events/aggregations"),
    ("GET", "/api/events/facets"),
    ("GET", "/api/saved-searches"),
    ("POST", "/api/saved-searches"),
    ("DELETE", "/api/saved-searches/{id}"),
    ("GET", "/api/events/export"),
    ("GET", "/api/events/{id}"),
    ("POST", "/api/events/{id}/tags"),
    ("DELETE", "/api/events/{id}/tags/{tag}"),
    ("POST", "/api/events/{id}/comments"),
    ("PATCH", "/api/comments/{id}"),
    ("DELETE", "/api/comments/{id}"),
    ("GET", "/api/tags"),
    ("GET", "/api/sources"),
    ("GET", "/api/sources/coverage"),
    ("POST", "/api/fetch-audit-logs"),
    ("POST", "/api/ask"),
    ("POST", "/api/events/{id}/explain"),
    ("GET", "/api/jobs/{job_id}"),
    ("GET", "/api/audit-trail"),
    ("POST", "/api/webhooks/graph"),
];

/// Served, and deliberately not in the document: the document itself and its UI.
const UNDOCUMENTED: [(&str, &str); 2] = [("GET", "/openapi.json"), ("GET", "/docs/")];

const UNKNOWN_ID: &str = "00000000-0000-8000-8000-000000000000";
const CLIENT_STATE: &str = "aoc-cs-Zk3P9vR2qT8mW1xY";
const CONTOSO: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

/// A path template with its parameters filled in.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", UNKNOWN_ID)
        .replace("{tag}", "investigating")
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        headers,
        bytes,
    }
}

fn request(method: &str, uri: &str, body: Option<&Value>, bearer: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

async fn document(app: &Router) -> Document {
    let answer = call(app, request("GET", "/openapi.json", None, None)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.media_type().as_deref(), Some("application/json"));
    let doc: Value = serde_json::from_slice(&answer.bytes).expect("the document is JSON");
    Document(doc)
}

/// A store with the fixture events, coverage figures and the health of two sources.
async fn seeded_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("openapi.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let contoso = TenantId::new(CONTOSO);
    let source = "o365.Audit.Exchange";
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&chrono::Utc)
    };
    store
        .list_content(
            &contoso,
            source,
            &[ContentRef {
                id: "blob-1".into(),
                created: at("2025-03-01T11:10:00Z"),
                expires: None,
            }],
        )
        .await
        .expect("listed");
    store
        .record_run(
            &contoso,
            source,
            &RunRecord::Started {
                at: at("2025-03-01T11:15:00Z"),
            },
        )
        .await
        .expect("started");
    store
        .commit_fetch(&FetchCommit {
            tenant: &contoso,
            source,
            events: &fixture_events(),
            available_at: Some(at("2025-03-01T11:10:00Z")),
            content_id: Some("blob-1"),
            watermark: Some(at("2025-03-01T12:00:00Z")),
        })
        .await
        .expect("commit");
    store
        .record_run(
            &contoso,
            source,
            &RunRecord::Succeeded {
                at: at("2025-03-01T11:16:00Z"),
                fetched: 5,
                new: 5,
                problem: None,
            },
        )
        .await
        .expect("succeeded");
    store
        .record_run(
            &contoso,
            "graph.sign_ins",
            &RunRecord::Failed {
                fetched: 0,
                new: 0,
                problem: SourceProblem {
                    at: at("2025-03-01T11:17:00Z"),
                    code: Some("Authorization_RequestDenied".into()),
                    message: "Insufficient privileges to complete the operation.".into(),
                },
            },
        )
        .await
        .expect("failed");
    Arc::new(store)
}

/// A server with collection (its Microsoft endpoints a closed port) and the Graph webhook on,
/// and one with neither, over the same store.
struct Servers {
    full: Router,
    bare: Router,
    _signals: mpsc::Receiver<WebhookSignal>,
}

async fn servers() -> Servers {
    let store = seeded_store().await;
    let (tx, signals) = mpsc::channel(64);
    let collection = super::collection::unreachable_collector(
        Arc::clone(&store),
        vec![
            SourceKind::SignIns,
            SourceKind::Management(ContentType::Exchange),
        ],
    );
    let full = router(AppState {
        query_cache: Default::default(),
        collection: Some(collection),
        webhook: Some(Arc::new(GraphWebhook::new(CLIENT_STATE.into(), tx))),
        ..state_with(Arc::clone(&store), ApiSettings::default())
    });
    let bare = router(state_with(store, ApiSettings::default()));
    Servers {
        full,
        bare,
        _signals: signals,
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_complete() {
    let (app, _) = app().await;
    let doc = document(&app).await;
    let version = doc.0["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(doc.0["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        doc.0["info"]["title"]
            .as_str()
            .is_some_and(|t| t.contains("AOC"))
    );
    assert!(
        doc.0["info"]["description"]
            .as_str()
            .is_some_and(|d| d.len() > 200)
    );
    let scheme = &doc.0["components"]["securitySchemes"]["entra"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    let roles = ["AOC.Reader", "AOC.Analyst", "AOC.Admin"];
    let mut operation_ids = BTreeSet::new();
    for (method, path) in doc.operations() {
        let operation = doc.operation(&method, &path);
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(
            operation_ids.insert(id.to_owned()),
            "operationId {id} twice"
        );
        for field in ["summary", "description"] {
            assert!(
                operation[field].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: no {field}"
            );
        }
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()));
        // Every route says who may call it; the description says it in words.
        let security = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: no security"));
        assert!(!security.is_empty());
        let description = operation["description"].as_str().unwrap_or_default();
        if security == &[json!({})] {
            assert!(description.contains("**Sign-in:** none"), "{method} {path}");
            // Open under /api: Graph's webhook, and what the dashboard reads before sign-in.
            assert!(
                !path.starts_with("/api/")
                    || path == "/api/webhooks/graph"
                    || path == "/api/client-config",
                "{method} {path} is open"
            );
        } else {
            assert!(path.starts_with("/api/"), "{method} {path}");
            assert!(
                description.contains("**Role:**") || description.contains("**Sign-in:**"),
                "{method} {path}"
            );
            for requirement in security {
                let requirement = requirement.as_object().expect("object");
                assert_eq!(requirement.keys().collect::<Vec<_>>(), ["entra"]);
                for role in requirement["entra"].as_array().expect("roles") {
                    assert!(roles.contains(&role.as_str().unwrap_or_default()), "{role}");
                }
            }
            let responses = &operation["responses"];
            for status in ["401", "503"] {
                assert!(
                    responses.get(status).is_some(),
                    "{method} {path}: no {status}"
                );
            }
        }
        // Every answer carries X-Request-ID, and every error is problem+json.
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let response = doc.resolve(response);
            assert!(
                response["headers"].get("X-Request-ID").is_some(),
                "{method} {path} {status}: no X-Request-ID"
            );
            let content = response["content"].as_object();
            if status.starts_with('4') || status.starts_with('5') {
                if path == "/health" {
                    continue;
                }
                let content = content.unwrap_or_else(|| panic!("{method} {path} {status}"));
                assert_eq!(
                    content["application/problem+json"]["schema"],
                    component("Problem"),
                    "{method} {path} {status}"
                );
            }
        }
    }
    // Every reference resolves, and every component schema is a valid JSON Schema.
    let text = doc.0.to_string();
    assert!(
        !text.contains("[`"),
        "a Rust intra-doc link in a description"
    );
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap_or_default();
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(
            doc.0.pointer(pointer).is_some(),
            "{target} does not resolve"
        );
    }
    for (name, schema) in doc.0["components"]["schemas"].as_object().expect("schemas") {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "{name} is not a valid JSON Schema"
        );
    }
    // The schema of an error is exactly what the error mapping writes.
    let problem = component("Problem");
    let problem = doc.resolve(&problem);
    let mut keys: Vec<&String> = problem["properties"]
        .as_object()
        .expect("props")
        .keys()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["detail", "invalid_params", "status", "title", "type"]
    );
    assert_eq!(
        problem["required"],
        json!(["type", "title", "status", "detail"])
    );
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let Servers { full: app, .. } = servers().await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = doc.operations().into_iter().collect();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented.difference(&table).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in the table"
    );
    assert_eq!(
        table.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in the table but not documented"
    );
    for (method, path) in &documented {
        let answer = call(&app, request(method, &concrete(path), None, None)).await;
        let json = answer.json();
        assert!(
            answer.status != 405 && !(answer.status == 404 && json["detail"] == "no such route"),
            "{method} {path} is documented but not served: {} {json}",
            answer.status
        );
        // And no other method on the path.
        for other in METHODS.map(str::to_ascii_uppercase) {
            if documented.contains(&(other.clone(), path.clone())) {
                continue;
            }
            let answer = call(&app, request(&other, &concrete(path), None, None)).await;
            assert_eq!(answer.status, 405, "{other} {path} answers");
        }
    }
    for (method, path) in UNDOCUMENTED {
        let answer = call(&app, request(method, path, None, None)).await;
        assert_eq!(answer.status, 200, "{method} {path}");
    }
    // Routes reach the router only through `routes!`, which documents them: a plain
    // `.route(…)` there would be served without being in the document.
    let router_source = include_str!("../../router.rs");
    for plain in [".route(", ".route_service(", ".nest_service("] {
        assert!(!router_source.contains(plain), "router.rs uses {plain}");
    }
}

/// Answers judged against the document, and which (operation, status) were seen.
struct Judge {
    doc: Document,
    seen: BTreeSet<(String, String, u16)>,
}

impl Judge {
    async fn expect(
        &mut self,
        app: &Router,
        (method, template): (&str, &str),
        uri: &str,
        body: Option<&Value>,
        status: u16,
    ) -> Answer {
        self.send(
            app,
            (method, template),
            request(method, uri, body, None),
            status,
        )
        .await
    }

    async fn send(
        &mut self,
        app: &Router,
        (method, template): (&str, &str),
        request: Request<Body>,
        status: u16,
    ) -> Answer {
        let uri = request.uri().to_string();
        let answer = call(app, request).await;
        assert_eq!(
            answer.status,
            status,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&answer.bytes)
        );
        if let Err(problem) = self.doc.check(method, template, &answer) {
            panic!("{uri}: {problem}");
        }
        self.seen
            .insert((method.to_owned(), template.to_owned(), answer.status));
        answer
    }

    /// A request body must fit the documented request schema when the route accepts it.
    fn request_fits(&self, (method, template): (&str, &str), body: &Value) {
        let operation = self.doc.operation(method, template);
        let schema =
            &self.doc.resolve(&operation["requestBody"])["content"]["application/json"]["schema"];
        let problems = self.doc.misfits(schema, body);
        assert!(
            problems.is_empty(),
            "{method} {template} request: {problems:?}"
        );
    }
}

#[tokio::test]
async fn every_documented_route_answers_as_documented() {
    let Servers { full, bare, .. } = servers().await;
    let doc = document(&full).await;
    let mut judge = Judge {
        doc,
        seen: BTreeSet::new(),
    };
    let events = fixture_events();
    let id = events[0].id.to_string();
    let ev = |rest: &str| format!("/api/events/{id}{rest}");

    // Service.
    judge
        .expect(&full, ("GET", "/health"), "/health", None, 200)
        .await;
    judge
        .expect(&full, ("GET", "/metrics"), "/metrics", None, 200)
        .await;
    let me = judge
        .expect(&full, ("GET", "/api/me"), "/api/me", None, 200)
        .await;
    assert_eq!(me.json()["auth"], "off");
    let client = ("GET", "/api/client-config");
    let config = judge
        .expect(&full, client, "/api/client-config", None, 200)
        .await;
    assert_eq!(config.json()["auth"], "off");
    assert!(config.json()["sign_in"].is_null());

    // Events.
    let list = ("GET", "/api/events");
    let page = judge
        .expect(&full, list, "/api/events?page_size=2", None, 200)
        .await;
    assert!(page.json()["next_cursor"].is_string());
    let last = judge
        .expect(
            &full,
            list,
            "/api/events?page_size=500&order=oldest",
            None,
            200,
        )
        .await;
    assert!(last.json()["next_cursor"].is_null());
    judge
        .expect(&full, list, "/api/events?page_size=0", None, 400)
        .await;
    judge
        .expect(&full, list, "/api/events?colour=blue", None, 400)
        .await;
    let aggregations = ("GET", "/api/events/aggregations");
    let figures = judge
        .expect(
            &full,
            aggregations,
            "/api/events/aggregations?interval=1h&top=3",
            None,
            200,
        )
        .await;
    assert!(
        figures.json()["timeline"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    judge
        .expect(
            &full,
            aggregations,
            "/api/events/aggregations?interval=1w",
            None,
            400,
        )
        .await;

    let facets = ("GET", "/api/events/facets");
    let broken_down = judge
        .expect(
            &full,
            facets,
            "/api/events/facets?fields=operation,source&top=3&not_result=failure",
            None,
            200,
        )
        .await;
    assert!(
        broken_down.json()["facets"]["operation"]
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.len() <= 3)
    );
    judge
        .expect(&full, facets, "/api/events/facets?fields=colour", None, 400)
        .await;

    // Saved searches: saved, listed, refused when the query is no search, deleted once.
    let save = ("POST", "/api/saved-searches");
    let search =
        json!({"name": "Failures today", "query": "range=today&result=failure", "shared": true});
    judge.request_fits(save, &search);
    let saved = judge
        .expect(&full, save, "/api/saved-searches", Some(&search), 201)
        .await;
    let saved_id = saved.json()["id"].as_str().expect("id").to_owned();
    let bad = json!({"name": "Bad", "query": "colour=blue"});
    judge
        .expect(&full, save, "/api/saved-searches", Some(&bad), 400)
        .await;
    let listed = judge
        .expect(
            &full,
            ("GET", "/api/saved-searches"),
            "/api/saved-searches",
            None,
            200,
        )
        .await;
    assert!(listed.json().as_array().is_some_and(|l| l.len() == 1));
    let delete = ("DELETE", "/api/saved-searches/{id}");
    let path = format!("/api/saved-searches/{saved_id}");
    judge.expect(&full, delete, &path, None, 204).await;
    judge.expect(&full, delete, &path, None, 404).await;

    // Annotations, then the event that carries them.
    let add_tag = ("POST", "/api/events/{id}/tags");
    let tag = json!({"tag": " Investigating "});
    judge.request_fits(add_tag, &tag);
    judge
        .expect(&full, add_tag, &ev("/tags"), Some(&tag), 201)
        .await;
    judge
        .expect(&full, add_tag, &ev("/tags"), Some(&tag), 200)
        .await;
    judge
        .expect(
            &full,
            add_tag,
            &ev("/tags"),
            Some(&json!({"tag": "two words"})),
            400,
        )
        .await;
    judge
        .expect(
            &full,
            add_tag,
            &ev("/tags"),
            Some(&json!({"label": "x"})),
            400,
        )
        .await;
    let unknown_tags = format!("/api/events/{UNKNOWN_ID}/tags");
    judge
        .expect(&full, add_tag, &unknown_tags, Some(&tag), 404)
        .await;
    let add_comment = ("POST", "/api/events/{id}/comments");
    let text = json!({"body": "Forwarding to an outside address.\nAsked Lee."});
    judge.request_fits(add_comment, &text);
    let comment = judge
        .expect(&full, add_comment, &ev("/comments"), Some(&text), 201)
        .await
        .json();
    let comment_uri = format!("/api/comments/{}", comment["id"].as_str().expect("id"));
    judge
        .expect(
            &full,
            add_comment,
            &ev("/comments"),
            Some(&json!({"body": " "})),
            400,
        )
        .await;
    let unknown_comments = format!("/api/events/{UNKNOWN_ID}/comments");
    judge
        .expect(&full, add_comment, &unknown_comments, Some(&text), 404)
        .await;
    let edit = ("PATCH", "/api/comments/{id}");
    let edited = json!({"body": "Confirmed with Lee: a mistake."});
    judge
        .expect(&full, edit, &comment_uri, Some(&edited), 200)
        .await;
    judge
        .expect(&full, edit, "/api/comments/42", Some(&edited), 400)
        .await;
    let unknown_comment = format!("/api/comments/{UNKNOWN_ID}");
    judge
        .expect(&full, edit, &unknown_comment, Some(&edited), 404)
        .await;
    let detail = ("GET", "/api/events/{id}");
    let event = judge.expect(&full, detail, &ev(""), None, 200).await.json();
    assert_eq!(event["tags"].as_array().map(Vec::len), Some(1));
    assert!(event["comments"][0]["updated_at"].is_string());
    judge
        .expect(
            &full,
            detail,
            &format!("/api/events/{UNKNOWN_ID}"),
            None,
            404,
        )
        .await;
    judge
        .expect(&full, detail, "/api/events/not-a-uuid", None, 400)
        .await;
    judge
        .expect(&full, ("GET", "/api/tags"), "/api/tags", None, 200)
        .await;
    judge
        .expect(&full, ("GET", "/api/tags"), "/api/tags?top=1", None, 400)
        .await;
    let remove_tag = ("DELETE", "/api/events/{id}/tags/{tag}");
    judge
        .expect(&full, remove_tag, &ev("/tags/investigating"), None, 204)
        .await;
    judge
        .expect(&full, remove_tag, &ev("/tags/investigating"), None, 404)
        .await;
    judge
        .expect(&full, remove_tag, &ev("/tags/two%20words"), None, 400)
        .await;
    let delete = ("DELETE", "/api/comments/{id}");
    judge.expect(&full, delete, &comment_uri, None, 204).await;
    judge.expect(&full, delete, &comment_uri, None, 404).await;
    judge
        .expect(&full, delete, "/api/comments/42", None, 400)
        .await;

    // Collection.
    let sources = judge
        .expect(&full, ("GET", "/api/sources"), "/api/sources", None, 200)
        .await
        .json();
    assert!(sources["sources"].as_array().is_some_and(|s| s.len() >= 2));
    judge
        .expect(
            &full,
            ("GET", "/api/sources"),
            "/api/sources?tenant=x",
            None,
            400,
        )
        .await;
    let coverage = ("GET", "/api/sources/coverage");
    let hours = judge
        .expect(
            &full,
            coverage,
            "/api/sources/coverage?from=2025-03-01&to=2025-03-02",
            None,
            200,
        )
        .await
        .json();
    assert!(hours["hours"].as_array().is_some_and(|h| !h.is_empty()));
    judge
        .expect(
            &full,
            coverage,
            "/api/sources/coverage?from=2025-03-02&to=2025-03-01",
            None,
            400,
        )
        .await;
    let fetch = ("POST", "/api/fetch-audit-logs");
    let report = judge
        .expect(&full, fetch, "/api/fetch-audit-logs?hours=1", None, 200)
        .await
        .json();
    assert!(report["runs"].as_array().is_some_and(|r| !r.is_empty()));
    judge
        .expect(&full, fetch, "/api/fetch-audit-logs?hours=0", None, 400)
        .await;
    judge
        .expect(&bare, fetch, "/api/fetch-audit-logs", None, 409)
        .await;

    // Ask: off on these servers (404); on, without a model, over the same data.
    let ask = ("POST", "/api/ask");
    let question = json!({ "question": "How many events since 2025-01-01?" });
    judge
        .expect(&full, ask, "/api/ask", Some(&question), 404)
        .await;
    let with_ai = router(AppState {
        query_cache: Default::default(),
        ai: Some(Arc::new(aoc_ai::Assistant {
            llm: None,
            cache: Arc::new(aoc_ai::cache::MemoryCache::default()),
            ask_ttl: std::time::Duration::from_secs(60),
            explain_ttl: std::time::Duration::from_secs(86_400),
            sample_tokens: 1_000,
            sample_max: 10,
            after_hours_scan: 1_000,
            budget: aoc_ai::budget::TokenBudget::new(0),
        })),
        ..state_with(seeded_store().await, ApiSettings::default())
    });
    let answer = judge
        .expect(&with_ai, ask, "/api/ask", Some(&question), 200)
        .await
        .json();
    assert_eq!(answer["read_by"], "parser");
    judge
        .expect(
            &with_ai,
            ask,
            "/api/ask",
            Some(&json!({ "question": "" })),
            400,
        )
        .await;
    // In the background: a job, then its status (no worker runs here: it stays queued).
    let accepted = judge
        .expect(
            &with_ai,
            ask,
            "/api/ask",
            Some(&json!({ "question": "How many events since 2025-01-01?", "async": true })),
            202,
        )
        .await
        .json();
    let job = ("GET", "/api/jobs/{job_id}");
    let status_url = accepted["status_url"].as_str().expect("status_url");
    let queued = judge
        .expect(&with_ai, job, status_url, None, 200)
        .await
        .json();
    assert_eq!(queued["status"], "queued");
    judge
        .expect(&with_ai, job, "/api/jobs/not-a-job", None, 400)
        .await;
    judge
        .expect(
            &with_ai,
            job,
            &format!("/api/jobs/{}", aoc_store::JobId::new()),
            None,
            404,
        )
        .await;
    let explain = ("POST", "/api/events/{id}/explain");
    judge
        .expect(&full, explain, &ev("/explain"), None, 404)
        .await;
    let explained = judge
        .expect(&with_ai, explain, &ev("/explain"), None, 200)
        .await
        .json();
    assert_eq!(explained["written_by"], "aoc");
    judge
        .expect(&with_ai, explain, "/api/events/nope/explain", None, 400)
        .await;

    // Export, in each format.
    let export = ("GET", "/api/events/export");
    let csv = judge
        .expect(&full, export, "/api/events/export", None, 200)
        .await;
    let csv_text = String::from_utf8(csv.bytes).expect("utf-8");
    let header_row = csv_text
        .strip_prefix('\u{feff}')
        .and_then(|t| t.lines().next())
        .expect("a byte-order mark and a header");
    assert_eq!(header_row, aoc_services::export::CSV_HEADER.join(","));
    let array = judge
        .expect(&full, export, "/api/events/export?format=json", None, 200)
        .await;
    assert_eq!(array.json().as_array().map(Vec::len), Some(events.len()));
    let lines = judge
        .expect(
            &full,
            export,
            "/api/events/export?format=ndjson&order=oldest",
            None,
            200,
        )
        .await;
    let lines = String::from_utf8(lines.bytes).expect("utf-8");
    assert_eq!(lines.lines().count(), events.len());
    for line in lines.lines() {
        let event: Value = serde_json::from_str(line).expect("one JSON event per line");
        let problems = judge.doc.misfits(&component("Event"), &event);
        assert!(problems.is_empty(), "an NDJSON line: {problems:?}");
    }
    judge
        .expect(&full, export, "/api/events/export?format=xlsx", None, 400)
        .await;

    // AOC's audit trail, which by now holds the requests above.
    let trail = ("GET", "/api/audit-trail");
    let entries = judge
        .expect(&full, trail, "/api/audit-trail?page_size=5", None, 200)
        .await
        .json();
    assert_eq!(entries["items"].as_array().map(Vec::len), Some(5));
    judge
        .expect(&full, trail, "/api/audit-trail?outcome=maybe", None, 400)
        .await;

    // The Graph webhook.
    let hook = ("POST", "/api/webhooks/graph");
    let validation = judge
        .expect(
            &full,
            hook,
            "/api/webhooks/graph?validationToken=Validation%3A+Testing",
            None,
            200,
        )
        .await;
    assert_eq!(validation.bytes, b"Validation: Testing");
    let notifications: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/notifications/changeNotification.users.json"
    )))
    .expect("fixture");
    judge.request_fits(hook, &notifications);
    let hook_uri = format!("/api/webhooks/graph?tenant={CONTOSO}");
    judge
        .expect(&full, hook, &hook_uri, Some(&notifications), 202)
        .await;
    let wrong =
        json!({"value": [{"clientState": "guess", "tenantId": CONTOSO, "resource": "Users/1"}]});
    judge
        .expect(&full, hook, &hook_uri, Some(&wrong), 403)
        .await;
    judge
        .expect(&full, hook, &hook_uri, Some(&json!({"values": []})), 400)
        .await;
    judge
        .expect(&bare, hook, &hook_uri, Some(&notifications), 404)
        .await;
    // Too large: refused on its Content-Length (plain text) or once read (problem+json).
    let large = vec![b' '; 2 << 20];
    let declared = Request::post(hook_uri.as_str())
        .header(header::CONTENT_LENGTH, large.len())
        .body(Body::from(large.clone()))
        .expect("request");
    let answer = judge.send(&full, hook, declared, 413).await;
    assert_eq!(answer.media_type().as_deref(), Some("text/plain"));
    let streamed = Request::post(hook_uri.as_str())
        .body(Body::from_stream(futures_util::stream::iter([Ok::<
            _,
            std::io::Error,
        >(
            large
        )])))
        .expect("request");
    let answer = judge.send(&full, hook, streamed, 413).await;
    assert_eq!(
        answer.media_type().as_deref(),
        Some("application/problem+json")
    );

    // A database that does not answer. (The 503 problem of the /api routes is judged in
    // `each_route_enforces_the_role_it_documents`, where sign-in is unavailable: asking a
    // store that is down takes the pool's whole acquire timeout.)
    let down =
        aoc_store_postgres::PostgresStore::connect("postgres://aoc@127.0.0.1:1/aoc").expect("url");
    let down = app_with(Arc::new(down), ApiSettings::default()).await;
    judge
        .expect(&down, ("GET", "/health"), "/health", None, 503)
        .await;

    // Every operation was called at least once.
    let called: BTreeSet<(String, String)> = judge
        .seen
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    for (method, path) in judge.doc.operations() {
        assert!(
            called.contains(&(method.clone(), path.clone())),
            "{method} {path} was never called"
        );
    }
}

/// Each documented query parameter is one the handler knows, and each it knows is documented:
/// a handler that refuses an unknown parameter lists the ones it takes. Documented values
/// (enumerations, examples, defaults) are accepted.
#[tokio::test]
async fn documented_query_parameters_are_the_ones_each_route_takes() {
    let Servers { bare: app, .. } = servers().await;
    let doc = document(&app).await;
    for (method, path) in doc.operations() {
        let documented: BTreeSet<String> = doc
            .query_params(&method, &path)
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        let uri = format!("{}?aoc_probe=1", concrete(&path));
        let answer = call(&app, request(&method, &uri, None, None)).await;
        let body = answer.json();
        let refused_probe =
            answer.status == 400 && body["invalid_params"][0]["name"] == "aoc_probe";
        if refused_probe {
            let reason = body["invalid_params"][0]["reason"]
                .as_str()
                .unwrap_or_default();
            let known: BTreeSet<String> = reason
                .strip_prefix("unknown parameter; known ones are ")
                .map(|list| list.split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            assert_eq!(documented, known, "{method} {path}: {reason}");
        } else if path == "/api/webhooks/graph" {
            assert_eq!(documented, BTreeSet::from(["validationToken".to_owned()]));
        } else {
            // The handler ignores the query string.
            assert!(
                documented.is_empty(),
                "{method} {path} documents {documented:?}"
            );
        }
        for param in doc.query_params(&method, &path) {
            let name = param["name"].as_str().expect("name");
            let schema = doc.resolve(&param["schema"]);
            let mut values: Vec<Value> = schema["enum"].as_array().cloned().unwrap_or_default();
            values.extend(
                [&param["example"], &schema["example"], &schema["default"]]
                    .into_iter()
                    .filter(|v| !v.is_null())
                    .cloned(),
            );
            for value in values {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
                let uri = format!("{}?{name}={encoded}", concrete(&path));
                let answer = call(&app, request(&method, &uri, None, None)).await;
                let body = answer.json();
                assert!(
                    !(answer.status == 400 && body["invalid_params"][0]["name"] == name),
                    "{method} {path}: documented {name}={text} is refused: {body}"
                );
            }
        }
    }
}
