//! Async questions over real HTTP with sign-in on: the job goes through the Valkey queue on the
//! real Redis (`AOC_TEST_REDIS_URL`), a worker pool answers it, and only its owner or an Admin
//! may read it.

use std::time::Duration;

use aoc_ai::Assistant;
use aoc_ai::cache::MemoryCache;
use aoc_jobs::{ValkeyJobQueue, Worker, WorkerSettings};

use super::*;

pub(super) fn parser_assistant() -> Assistant {
    Assistant {
        llm: None,
        cache: Arc::new(MemoryCache::default()),
        ask_ttl: Duration::from_secs(3600),
        explain_ttl: Duration::from_secs(86_400),
        sample_tokens: 2_000,
        sample_max: 20,
        after_hours_scan: 10_000,
        budget: aoc_ai::budget::TokenBudget::new(0),
    }
}

/// Polls the job as `token` until it has ended.
async fn until_done(aoc: &Aoc, path: &str, token: &str) -> Value {
    for _ in 0..200 {
        let answer = aoc.get_as(path, token).await;
        assert_status(&answer, 200, "job status");
        let job = answer.json();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_question_is_answered_by_a_worker_and_shown_only_to_its_owner_or_an_admin() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let store = empty_store().await;
    store
        .insert_events(&fixture_events())
        .await
        .expect("insert");
    let redis =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("aoc-test:{{api-{}}}:", uuid::Uuid::new_v4().simple());
    let queue: Arc<dyn aoc_store::JobQueue> = Arc::new(
        ValkeyJobQueue::connect_with_prefix(&redis, &prefix)
            .await
            .expect("Redis"),
    );
    let ai = Arc::new(parser_assistant());
    let aoc = Aoc::start(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator(
            &entra.authority,
            RefreshPolicy::default(),
        ))),
        ai: Some(Arc::clone(&ai)),
        jobs: Arc::clone(&queue),
        ..state_with(Arc::clone(&store), ApiSettings::default())
    })
    .await;
    let People {
        reader,
        alice,
        bob,
        admin,
    } = People::signed_by(&key);
    let question = "How many failed sign-ins since 2025-03-01?";

    // Asked in the background: 202 at once, with where to look.
    let accepted = aoc
        .send_as(
            Method::POST,
            "/api/ask",
            &alice,
            Some(json!({"question": question, "async": true})),
        )
        .await;
    assert_status(&accepted, 202, "async ask");
    let body = accepted.json();
    let job_id = body["job_id"].as_str().expect("job_id").to_owned();
    let path = format!("/api/jobs/{job_id}");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["status_url"], path.as_str());
    assert_eq!(
        accepted
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(path.as_str())
    );
    // No worker yet: it waits.
    let waiting = aoc.get_as(&path, &alice).await;
    assert_status(&waiting, 200, "queued job");
    assert_eq!(waiting.json()["status"], "queued");

    // Another user, analyst or reader, is refused; an Admin may look.
    assert_status(&aoc.get_as(&path, &bob).await, 403, "bob reads alice's job");
    assert_status(
        &aoc.get_as(&path, &reader).await,
        403,
        "reader reads alice's job",
    );
    assert_status(
        &aoc.get_as(&path, &admin).await,
        200,
        "admin reads alice's job",
    );

    // A worker pool answers it.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::new(
        Arc::clone(&queue),
        Arc::new(aoc_worker::ServiceJobs(Arc::new(
            aoc_services::Services::new(
                Arc::clone(&store),
                Arc::clone(&queue),
                aoc_services::ServiceSettings::default(),
            )
            .with_ai(Some(ai)),
        ))),
        WorkerSettings {
            concurrency: 1,
            poll: Duration::from_millis(20),
            ..WorkerSettings::default()
        },
    );
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let job = until_done(&aoc, &path, &alice).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (job["kind"].as_str(), job["attempts"].as_u64()),
        (Some("ask"), Some(1))
    );
    assert!(job["finished_at"].is_string() && job["error"].is_null());

    // The same answer as the route's own, computed from the store.
    let direct = aoc
        .send_as(
            Method::POST,
            "/api/ask",
            &alice,
            Some(json!({"question": question})),
        )
        .await;
    assert_status(&direct, 200, "sync ask");
    let direct = direct.json();
    let result = &job["result"];
    assert_eq!(result["query"], direct["query"]);
    assert_eq!(result["figures"]["total"], direct["figures"]["total"]);
    assert!(
        result["figures"]["total"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    assert_eq!(result["read_by"], "parser");

    // Still refused to others once done.
    assert_status(&aoc.get_as(&path, &bob).await, 403, "bob, after");

    // The audit trail has the refusals and the Admin's read, not Alice's polling.
    let trail = aoc
        .get_as("/api/audit-trail?action=job.view&page_size=100", &admin)
        .await;
    assert_status(&trail, 200, "audit trail");
    let entries = trail.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let seen: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"]["name"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let count = |who: &str, outcome: &str| {
        seen.iter()
            .filter(|(w, o)| w == who && o == outcome)
            .count()
    };
    assert_eq!(count("Bob Analyst", "denied"), 2, "{seen:?}");
    assert_eq!(count("Riley Reader", "denied"), 1, "{seen:?}");
    assert_eq!(count("Ada Admin", "success"), 1, "{seen:?}");
    assert_eq!(count("Alice Analyst", "success"), 0, "{seen:?}");
    assert!(
        entries.iter().all(|e| e["target"] == job_id.as_str()),
        "{entries:?}"
    );

    // Bad and unknown ids; a bad question is refused before it is queued.
    assert_status(
        &aoc.get_as("/api/jobs/not-an-id", &alice).await,
        400,
        "bad id",
    );
    let unknown = format!("/api/jobs/{}", aoc_store::JobId::new());
    assert_status(&aoc.get_as(&unknown, &alice).await, 404, "unknown job");
    let empty = aoc
        .send_as(
            Method::POST,
            "/api/ask",
            &alice,
            Some(json!({"question": "  ", "async": true})),
        )
        .await;
    assert_status(&empty, 400, "empty question");
    assert!(empty.body.contains("question"), "{}", empty.body);
    assert_eq!(queue.queued_jobs().await.expect("depth"), 0);
    // Readers may not ask at all.
    let by_reader = aoc
        .send_as(
            Method::POST,
            "/api/ask",
            &reader,
            Some(json!({"question": question, "async": true})),
        )
        .await;
    assert_status(&by_reader, 403, "reader asks");

    let _ = stop.send(());
    running.await.expect("worker stops");
}

/// With the queue in Valkey, `/health` checks it too: 503 naming it when Valkey stops, and an
/// async question is refused saying so while a synchronous one is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_valkey_queue() {
    let redis =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let proxy = aoc_ai::testing::ValkeyProxy::start(&redis).await;
    let prefix = format!("aoc-test:{{health-{}}}:", uuid::Uuid::new_v4().simple());
    let queue: Arc<dyn aoc_store::JobQueue> = Arc::new(
        ValkeyJobQueue::connect_with_prefix(&proxy.url, &prefix)
            .await
            .expect("Redis"),
    );
    let aoc = Aoc::start(AppState {
        query_cache: Default::default(),
        jobs: queue,
        ai: Some(Arc::new(parser_assistant())),
        ..state_with(empty_store().await, ApiSettings::default())
    })
    .await;
    let up = aoc.call(Method::GET, "/health", None).await;
    assert_status(&up, 200, "health with Valkey up");
    let body = up.json();
    assert_eq!(body["checks"]["queue"]["engine"], "valkey");
    assert_eq!(body["checks"]["queue"]["status"], "up");

    proxy.stop();
    let down = aoc.call(Method::GET, "/health", None).await;
    assert_status(&down, 503, "health with Valkey down");
    let body = down.json();
    assert_eq!(body["checks"]["queue"]["status"], "down", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["status"], "degraded");

    let ask = |body: Value| {
        aoc.http
            .post(format!("{}/api/ask", aoc.base))
            .json(&body)
            .send()
    };
    let refused = ask(json!({"question": "failed sign-ins today", "async": true}))
        .await
        .expect("answer");
    assert_eq!(refused.status().as_u16(), 503);
    let problem: Value = refused.json().await.expect("problem");
    assert_eq!(problem["title"], "Job queue unavailable", "{problem}");
    let answered = ask(json!({"question": "failed sign-ins today"}))
        .await
        .expect("answer");
    assert_eq!(answered.status().as_u16(), 200);
}
