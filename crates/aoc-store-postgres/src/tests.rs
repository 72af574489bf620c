use std::sync::Arc;
use std::time::Duration;

use aoc_store::Store;
use chrono::Utc;

use crate::PostgresStore;

/// The server the tests use: `AOC_TEST_DATABASE_URL`, else the local one. A test fails, never
/// skips, when it cannot be reached.
fn test_database_url() -> String {
    std::env::var("AOC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh store in a schema of its own, named after the test and re-created on every run.
async fn fresh_store(name: &str) -> Arc<dyn Store> {
    let url = fresh_schema(name).await;
    let store = PostgresStore::connect(&url).expect("url");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

/// Creates the schema of a test; returns the URL of a connection that works in it.
async fn fresh_schema(name: &str) -> String {
    let url = test_database_url();
    let schema = format!("aoc_t_{name}");
    let admin = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at AOC_TEST_DATABASE_URL is unreachable: {e}"));
    for ddl in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(ddl))
            .execute(&admin)
            .await
            .expect("schema");
    }
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

aoc_store::store_behaviour_suite!(fresh_store);

#[tokio::test]
async fn retention_drops_whole_partitions() {
    use aoc_store::testsuite::data::{base_time, varied_events};
    let store = fresh_store("retention_drops_whole_partitions").await;
    let mut events = varied_events(20);
    for (i, e) in events.iter_mut().enumerate() {
        // Ten in January, ten in March.
        e.timestamp = base_time() - chrono::Duration::days(if i < 10 { 45 } else { 0 })
            + chrono::Duration::minutes(i as i64);
    }
    store.insert_events(&events).await.expect("insert");
    let cutoff = base_time() - chrono::Duration::days(10);
    assert_eq!(
        store.delete_events_before(cutoff).await.expect("retention"),
        10
    );
    assert_eq!(store.count_events().await.expect("count"), 10);
    // New January events get their partition back.
    assert_eq!(
        store.insert_events(&events[..3]).await.expect("insert").new,
        3
    );
}

/// A commit that fails at its last step leaves nothing behind: no events, no coverage, no ledger
/// change, no watermark.
#[tokio::test]
async fn a_failed_commit_stores_nothing() {
    use aoc_model::TenantId;
    use aoc_store::testsuite::data::{base_time, varied_events};
    use aoc_store::{
        ContentRef, ContentStatus, CoverageQuery, EventStore, FetchCommit, FetchStateStore,
    };

    let url = fresh_schema("a_failed_commit_stores_nothing").await;
    let store = PostgresStore::connect(&url).expect("url");
    store.migrate().await.expect("migrate");
    // The watermark is written last: make that write fail.
    for ddl in [
        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.source = 'poisoned' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER poison BEFORE INSERT ON source_state \
         FOR EACH ROW EXECUTE FUNCTION poison()",
    ] {
        sqlx::query(ddl)
            .execute(&store.pool)
            .await
            .expect("trigger");
    }
    let tenant = TenantId::new("t");
    let blob = ContentRef {
        id: "blob".into(),
        created: base_time(),
        expires: None,
    };
    store
        .list_content(&tenant, "poisoned", std::slice::from_ref(&blob))
        .await
        .expect("list");
    let events = varied_events(10);
    let commit = FetchCommit {
        tenant: &tenant,
        source: "poisoned",
        events: &events,
        available_at: Some(base_time()),
        content_id: Some("blob"),
        watermark: Some(base_time()),
    };
    assert!(store.commit_fetch(&commit).await.is_err());
    assert_eq!(store.count_events().await.expect("count"), 0);
    assert_eq!(
        store.watermark(&tenant, "poisoned").await.expect("wm"),
        None
    );
    assert_eq!(
        store
            .list_content(&tenant, "poisoned", std::slice::from_ref(&blob))
            .await
            .expect("list"),
        vec![ContentStatus::Listed]
    );
    let coverage = store
        .coverage(&CoverageQuery::default())
        .await
        .expect("coverage");
    assert!(
        coverage.iter().all(|r| r.records_fetched == 0),
        "{coverage:?}"
    );

    sqlx::query("DROP TRIGGER poison ON source_state")
        .execute(&store.pool)
        .await
        .expect("drop");
    assert_eq!(store.commit_fetch(&commit).await.expect("commit").new, 10);
    assert_eq!(
        store.watermark(&tenant, "poisoned").await.expect("wm"),
        Some(base_time())
    );
}

/// Processes with pools of their own race for a lease, free and then expired: one wins each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_race_between_processes_has_one_winner() {
    use aoc_store::FetchStateStore;

    let url = fresh_schema("a_lease_race_between_processes_has_one_winner").await;
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(Arc::new(PostgresStore::connect(&url).expect("url")));
    }
    stores[0].migrate().await.expect("migrate");
    for store in &stores {
        store.ping().await.expect("ping");
    }
    for round in ["free", "expired"] {
        let start = Arc::new(tokio::sync::Barrier::new(stores.len()));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, store) in stores.iter().enumerate() {
            let store = Arc::clone(store);
            let start = Arc::clone(&start);
            // The first round's lease is short, so the second races for an expired one.
            let ttl = if round == "free" {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(60)
            };
            tasks.spawn(async move {
                start.wait().await;
                store
                    .try_acquire_lease("race", &format!("{round}-{i}"), ttl)
                    .await
                    .expect("try_acquire_lease")
            });
        }
        let won = tasks.join_all().await.into_iter().filter(|&w| w).count();
        assert_eq!(won, 1, "round {round}");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
}

/// Rows stored before the filter columns existed get them at the next start.
#[tokio::test]
async fn migrate_fills_in_filter_columns_of_older_rows() {
    use aoc_model::{EventQuery, IpRange};
    use aoc_store::EventStore;
    use aoc_store::testsuite::data::varied_events;

    let url = fresh_schema("migrate_fills_in_filter_columns").await;
    let store = PostgresStore::connect(&url).expect("url");
    store.migrate().await.expect("migrate");
    let events = varied_events(80);
    store.insert_events(&events).await.expect("insert");
    sqlx::query("UPDATE events SET client_ip_key = NULL, country = NULL, target_keys = NULL")
        .execute(&store.pool)
        .await
        .expect("forget");
    let query = EventQuery {
        country: Some("fr".into()),
        ip_range: IpRange::parse("198.51.100.0/24"),
        ..EventQuery::default()
    };
    assert!(
        store
            .query_events(&query)
            .await
            .expect("query")
            .items
            .is_empty()
    );
    store.migrate().await.expect("migrate again");
    let want = events.iter().filter(|e| query.matches(e)).count();
    assert!(want > 0);
    let page = store
        .query_events(&query.with_page_size(500).expect("size"))
        .await
        .expect("query");
    assert_eq!(page.items.len(), want);
    let (pending,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM events WHERE target_keys IS NULL")
            .fetch_one(&store.pool)
            .await
            .expect("count");
    assert_eq!(pending, 0);
}

/// A fresh store of this engine's type, for tests that need its pool.
async fn open_store(name: &str) -> PostgresStore {
    let url = fresh_schema(name).await;
    let store = PostgresStore::connect(&url).expect("url");
    store.migrate().await.expect("migrate");
    store
}

fn audit_entry(action: &str) -> aoc_store::NewAuditEntry {
    aoc_store::NewAuditEntry {
        at: aoc_store::testsuite::data::base_time(),
        actor: aoc_model::Author::local(),
        actor_tenant: None,
        client_ip: Some("127.0.0.1".into()),
        request_id: "req-1".into(),
        action: action.into(),
        target: None,
        details: Default::default(),
        outcome: aoc_store::AuditOutcome::Success,
        status: 200,
    }
}

/// The audit trail is append-only in the database itself: UPDATE and TRUNCATE through any
/// connection are refused and change nothing. DELETE stays possible, for retention.
#[tokio::test]
async fn the_audit_trail_refuses_updates() {
    use aoc_store::{AuditQuery, AuditTrailStore};

    let store = open_store("the_audit_trail_refuses_updates").await;
    let seq = store
        .append_audit(&audit_entry("events.export"))
        .await
        .expect("append");
    for sql in [
        "UPDATE audit_trail SET action = 'events.view' WHERE seq = $1",
        "UPDATE audit_trail SET details = '{}' WHERE seq = $1",
        "INSERT INTO audit_trail (seq, at, actor_id, request_id, action, details, outcome, status) \
         OVERRIDING SYSTEM VALUE SELECT seq, at, actor_id, request_id, 'x', details, outcome, status \
         FROM audit_trail WHERE seq = $1 \
         ON CONFLICT (seq) DO UPDATE SET action = EXCLUDED.action",
    ] {
        let error = sqlx::query(sql)
            .bind(seq)
            .execute(&store.pool)
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let error = sqlx::query("TRUNCATE audit_trail")
        .execute(&store.pool)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("append-only"), "{error}");
    let page = store
        .query_audit(&AuditQuery::default())
        .await
        .expect("query");
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        (page.items[0].seq, page.items[0].action.as_str()),
        (seq, "events.export")
    );
    let deleted = sqlx::query("DELETE FROM audit_trail WHERE seq = $1")
        .bind(seq)
        .execute(&store.pool)
        .await
        .expect("retention may delete")
        .rows_affected();
    assert_eq!(deleted, 1);
}

/// The events query filters by tag with `id IN (SELECT event_id FROM event_tags WHERE tag = $n)`:
/// the column types must match for that to find anything.
#[tokio::test]
async fn events_filter_by_tag_through_event_tags() {
    use aoc_model::{Author, Tag};
    use aoc_store::testsuite::data::varied_events;
    use aoc_store::{AnnotationStore, EventStore};

    let store = open_store("events_filter_by_tag_through_event_tags").await;
    let events = varied_events(10);
    store.insert_events(&events).await.expect("insert");
    let escalated = Tag::parse("escalated").expect("tag");
    for i in [2, 5, 7] {
        store
            .add_tag(
                (&events[i]).into(),
                &escalated,
                &Author::local(),
                Utc::now(),
            )
            .await
            .expect("tag");
    }
    store
        .add_tag(
            (&events[3]).into(),
            &Tag::parse("benign").expect("tag"),
            &Author::local(),
            Utc::now(),
        )
        .await
        .expect("tag");
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT id FROM events WHERE id IN (SELECT event_id FROM event_tags WHERE tag = $1) \
         ORDER BY seq",
    )
    .bind("escalated")
    .fetch_all(&store.pool)
    .await
    .expect("query");
    let want: Vec<uuid::Uuid> = [2, 5, 7].iter().map(|&i| events[i].id.as_uuid()).collect();
    assert_eq!(ids, want);
}

/// Processes with pools of their own race to see a user first: one is told it was first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sighting_race_between_processes_has_one_winner() {
    use aoc_store::AuditTrailStore;

    let url = fresh_schema("a_first_sighting_race_between_processes").await;
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(Arc::new(PostgresStore::connect(&url).expect("url")));
    }
    stores[0].migrate().await.expect("migrate");
    for store in &stores {
        store.ping().await.expect("ping");
    }
    let start = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for store in &stores {
        let store = Arc::clone(store);
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            store
                .note_user_seen("tenant", "oid", None, Utc::now())
                .await
                .expect("note_user_seen")
        });
    }
    let first = tasks.join_all().await.into_iter().filter(|&f| f).count();
    assert_eq!(first, 1);
}
