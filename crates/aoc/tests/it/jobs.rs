//! Async questions across processes: `aoc serve` queues them in the real Valkey/Redis
//! (`AOC_TEST_REDIS_URL`) and leaves them to `aoc worker` processes; a worker killed with
//! SIGKILL mid-job loses the job to another worker, which finishes it, once.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use serde_json::{Value, json};

use crate::serve::{free_port, start_serve};
use crate::support::{Engine, TestDb};

/// How long the stand-in model takes over every request: long enough to kill a worker mid-call.
const MODEL_DELAY: Duration = Duration::from_millis(1_500);

#[derive(Default)]
struct Calls {
    intent: u32,
    answer: u32,
    in_flight: u32,
    most_in_flight: u32,
}

/// An OpenAI-compatible stand-in that reads every question as failed sign-ins since
/// 2025-03-01 and records how many calls it is in at once.
async fn model(
    State(calls): State<Arc<Mutex<Calls>>>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reading = body.get("response_format").is_some();
    {
        let mut calls = calls.lock().expect("lock");
        if reading {
            calls.intent += 1;
        } else {
            calls.answer += 1;
        }
        calls.in_flight += 1;
        calls.most_in_flight = calls.most_in_flight.max(calls.in_flight);
    }
    // Decremented even when the caller is killed and this future is dropped mid-sleep.
    struct Leave(Arc<Mutex<Calls>>);
    impl Drop for Leave {
        fn drop(&mut self) {
            self.0.lock().expect("lock").in_flight -= 1;
        }
    }
    let _leave = Leave(Arc::clone(&calls));
    tokio::time::sleep(MODEL_DELAY).await;
    let text = if reading {
        json!({
            "hours": null, "from": "2025-03-01T00:00:00Z", "to": null, "service": null,
            "operation": "UserLoginFailed", "actor": null, "ip": null, "result": null,
            "text": null, "aggregation": "count", "after_hours": false,
        })
        .to_string()
    } else {
        "These are the failed sign-ins.".to_owned()
    };
    axum::Json(json!({
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text } }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 5 },
    }))
}

fn spawn_worker(db: &TestDb, env: &[(&str, String)]) -> Child {
    let mut command = db.aoc();
    command.arg("worker").env("WORKER_CONCURRENCY", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn aoc worker")
}

async fn job(base: &str, id: &str) -> Value {
    reqwest::get(format!("{base}/api/jobs/{id}"))
        .await
        .expect("get job")
        .json()
        .await
        .expect("json")
}

/// One Prometheus series' value, 0 when absent.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_its_worker_being_killed_and_completes_once() {
    killed_worker(Engine::Sqlite, Queue::Valkey).await;
}

/// Without Valkey the queue is the database's, shared by the processes through PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_valkey_the_database_queue_survives_a_killed_worker() {
    killed_worker(Engine::Postgres, Queue::Database).await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Valkey,
    Database,
}

async fn killed_worker(engine: Engine, queue: Queue) {
    let calls = Arc::new(Mutex::new(Calls::default()));
    let app = Router::new().fallback(model).with_state(Arc::clone(&calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let model_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let db = TestDb::new(engine, "jobs_killed_worker").await;
    let redis =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut env: Vec<(&str, String)> = vec![
        ("AI_FEATURES_ENABLED", "true".into()),
        ("LLM_PROVIDER", "openai".into()),
        ("LLM_BASE_URL", model_url),
        ("LLM_API_KEY", "sk-never-logged".into()),
        ("LLM_MODEL", "stand-in".into()),
        ("JOB_LEASE_SECONDS", "2".into()),
        ("RATE_LIMIT_PER_MINUTE", "0".into()),
    ];
    if queue == Queue::Valkey {
        env.push(("REDIS_URL", redis));
        env.push((
            "REDIS_KEY_PREFIX",
            format!("aoc-it-{}-{nanos}", std::process::id()),
        ));
    }
    // The server queues and leaves every job to the workers.
    let mut serve_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    serve_env.push(("WORKER_CONCURRENCY", "0"));
    let (mut server, port) = start_serve(&db, &["--sample"], &serve_env, Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let mut first = spawn_worker(&db, &env);
    let accepted: Value = http
        .post(format!("{base}/api/ask"))
        .json(&json!({"question": "How many failed sign-ins since March 2025?", "async": true}))
        .send()
        .await
        .expect("ask")
        .json()
        .await
        .expect("json");
    let id = accepted["job_id"].as_str().expect("job_id").to_owned();

    // The first worker takes the job and calls the model; it is killed in the middle.
    wait_for("the first worker to call the model", || {
        calls.lock().expect("lock").intent == 1
    })
    .await;
    let running = job(&base, &id).await;
    assert_eq!(running["status"], "running", "{running}");
    assert_eq!(running["attempts"], 1);
    first.kill().expect("SIGKILL");
    let _ = first.wait();

    // Two more workers, each with its metrics; once the dead worker's lease runs out, one of them
    // takes the job.
    let ports = [free_port(), free_port()];
    let mut others = ports.map(|port| {
        let mut env = env.clone();
        env.push(("WORKER_METRICS_BIND", format!("127.0.0.1:{port}")));
        spawn_worker(&db, &env)
    });
    let start = Instant::now();
    let done = loop {
        let current = job(&base, &id).await;
        if current["status"] == "succeeded" || current["status"] == "failed" {
            break current;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job never ended: {current}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    let result = &done["result"];
    assert_eq!(
        (result["read_by"].as_str(), result["written_by"].as_str()),
        (Some("model"), Some("model"))
    );
    assert_eq!(result["query"]["operation"], "UserLoginFailed");

    // The figure is the store's.
    let figures: Value = http
        .get(format!(
            "{base}/api/events/aggregations?operation=UserLoginFailed&from=2025-03-01T00:00:00Z"
        ))
        .send()
        .await
        .expect("aggregations")
        .json()
        .await
        .expect("json");
    assert_eq!(result["figures"]["total"], figures["total"], "{figures}");

    // Once: the killed run's reading and the retry's, one answer, never two calls at once; and
    // the outcome does not change afterwards.
    tokio::time::sleep(Duration::from_secs(3)).await;
    {
        let calls = calls.lock().expect("lock");
        assert_eq!((calls.intent, calls.answer), (2, 1));
        assert_eq!(calls.most_in_flight, 1, "the job ran twice at once");
    }
    let later = job(&base, &id).await;
    assert_eq!(later["finished_at"], done["finished_at"]);
    assert_eq!(later["attempts"], 2);

    // The workers' own metrics agree: one success between them, and it was a retry.
    let (mut succeeded, mut retried) = (0.0, 0.0);
    for port in ports {
        let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .expect("worker metrics")
            .text()
            .await
            .expect("text");
        succeeded += series(&text, r#"aoc_jobs_total{kind="ask",outcome="succeeded"}"#);
        retried += series(&text, r#"aoc_jobs_retried_total{kind="ask"}"#);
    }
    assert_eq!((succeeded, retried), (1.0, 1.0));

    for worker in &mut others {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    let _ = server.kill();
    let _ = server.wait();
}
