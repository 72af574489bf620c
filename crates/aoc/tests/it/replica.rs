//! `DATABASE_READ_URL` against a real streaming replica: a PostgreSQL primary and a
//! `pg_basebackup` copy of it streaming its WAL, two clusters of their own that
//! `scripts/pg-replica` starts for the test and stops after it.
//!
//! Replay on the replica is paused to tell the two apart: whatever the primary stored since is
//! then invisible on the replica, so an answer that lacks it was read there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;

use crate::serve::{free_port, start_serve};
use crate::support::{TestDb, stderr, write_ndjson};

/// A primary and its streaming replica, stopped when dropped.
struct ReplicatedPair {
    dir: tempfile::TempDir,
    primary: String,
    replica: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-replica")
}

impl ReplicatedPair {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (primary_port, replica_port) = (free_port(), free_port());
        let output = Command::new(script())
            .arg("start")
            .arg(dir.path().join("clusters"))
            .args([primary_port.to_string(), replica_port.to_string()])
            .output()
            .expect("run scripts/pg-replica");
        let pair = Self {
            dir,
            primary: format!("postgres://postgres@127.0.0.1:{primary_port}/postgres"),
            replica: format!("postgres://postgres@127.0.0.1:{replica_port}/postgres"),
        };
        assert!(
            output.status.success(),
            "scripts/pg-replica start failed: {}",
            stderr(&output)
        );
        pair
    }

    /// Stops the replica alone, as when its host goes away.
    fn stop_replica(&self) {
        let status = Command::new(script())
            .arg("stop-replica")
            .arg(self.dir.path().join("clusters"))
            .stdout(Stdio::null())
            .status()
            .expect("run scripts/pg-replica");
        assert!(status.success(), "the replica did not stop");
    }
}

impl Drop for ReplicatedPair {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path().join("clusters"))
            .status();
    }
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn total(base: &str) -> u64 {
    total_of(base, "").await
}

/// The figures' total for the filters in `query` (`name=value&…`).
async fn total_of(base: &str, query: &str) -> u64 {
    get_json(&format!("{base}/api/events/aggregations?{query}")).await["total"]
        .as_u64()
        .expect("total")
}

/// Waits until the figures count `expected` events.
async fn wait_for_total(base: &str, expected: u64) {
    wait_for_total_of(base, "", expected).await;
}

/// Waits until the figures for the filters in `query` count `expected` events.
async fn wait_for_total_of(base: &str, query: &str, expected: u64) {
    let start = Instant::now();
    loop {
        let seen = total_of(base, query).await;
        if seen == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the figures ({query}) count {seen} events, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn import(db: &TestDb, name: &str, records: usize) {
    let path = db.dir().join(name);
    write_ndjson(&path, records);
    let output = db.aoc().arg("import").arg(&path).output().expect("import");
    assert!(output.status.success(), "import: {}", stderr(&output));
}

/// Writes go to the primary and searches, figures and exports to the replica; an event's tags
/// (just added) are read from the primary; a replica that goes away leaves reads on the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_read_the_replica_and_writes_the_primary() {
    let pair = ReplicatedPair::start();
    let db = TestDb::at(pair.primary.clone());
    let (mut serve, port) = start_serve(
        &db,
        &[],
        &[("DATABASE_READ_URL", pair.replica.as_str())],
        Stdio::null(),
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");

    // The first import reaches the replica and its figures.
    import(&db, "first.ndjson", 450);
    wait_for_total(&base, 450).await;

    let replica = PgPool::connect(&pair.replica).await.expect("replica");
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .expect("pause replay");
    let start = Instant::now();
    loop {
        let (state,): (String,) = sqlx::query_as("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(&replica)
            .await
            .expect("pause state");
        if state == "paused" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "replay never paused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Stored on the primary while the replica stands still (the first 450 again, and 150 new).
    import(&db, "second.ndjson", 600);
    let primary = PgPool::connect(&pair.primary).await.expect("primary");
    let (stored,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&primary)
        .await
        .expect("count");
    assert_eq!(stored, 600, "the primary holds the second import");

    // Searches, figures, facets and exports answer from the replica: still 450 events.
    assert_eq!(total(&base).await, 450);
    let mut listed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/api/events?page_size=500&cursor={c}"),
            None => format!("{base}/api/events?page_size=500"),
        };
        let page = get_json(&url).await;
        listed += page["items"].as_array().expect("items").len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, 450, "the events list reads the replica");
    let facets = get_json(&format!("{base}/api/events/facets?fields=service")).await;
    let by_service: u64 = facets["facets"]["service"]
        .as_array()
        .map(|values| values.iter().filter_map(|v| v["count"].as_u64()).sum())
        .unwrap_or_else(|| panic!("facets: {facets}"));
    assert_eq!(by_service, 450, "facets read the replica");
    let export = reqwest::get(format!("{base}/api/events/export?format=ndjson"))
        .await
        .expect("export")
        .text()
        .await
        .expect("body");
    assert_eq!(export.lines().count(), 450, "exports read the replica");

    // A tag is written to the primary (the replica is read-only and paused) and the event's
    // own page, read from the primary, shows it at once.
    let (id,): (String,) = sqlx::query_as("SELECT id::text FROM events ORDER BY seq DESC LIMIT 1")
        .fetch_one(&primary)
        .await
        .expect("newest event");
    let client = reqwest::Client::new();
    let added = client
        .post(format!("{base}/api/events/{id}/tags"))
        .json(&serde_json::json!({"tag": "investigating"}))
        .send()
        .await
        .expect("tag");
    assert_eq!(
        added.status(),
        201,
        "{}",
        added.text().await.unwrap_or_default()
    );
    let event = get_json(&format!("{base}/api/events/{id}")).await;
    assert_eq!(
        event["tags"][0]["tag"], "investigating",
        "the event's page reads its tags from the primary: {event}"
    );

    // Replay resumes: the replica catches up and the figures follow.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica)
        .await
        .expect("resume replay");
    replica.close().await;
    wait_for_total(&base, 600).await;
    // The tag was written after the second import: it reaches the replica after its events.
    wait_for_total_of(&base, "tag=investigating", 1).await;

    // The replica goes away: searches go on, answered by the primary (150 + 100 new).
    pair.stop_replica();
    import(&db, "third.ndjson", 700);
    wait_for_total(&base, 700).await;

    let _ = serve.kill();
    let _ = serve.wait();
}
