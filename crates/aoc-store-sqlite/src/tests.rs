use std::sync::Arc;
use std::time::Duration;

use aoc_store::Store;
use chrono::Utc;

use crate::SqliteStore;

/// A fresh store in its own file; the directory lives as long as the test process.
async fn fresh_store(name: &str) -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.db"));
    // Keep the directory: the store outlives this function.
    std::mem::forget(dir);
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

aoc_store::store_behaviour_suite!(fresh_store);

#[tokio::test]
async fn creates_the_file_in_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    assert!(path.exists());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&store.writer)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

/// Both full-text plans return what the reference says, whatever the engine would pick.
#[tokio::test]
async fn both_text_plans_match_the_reference() {
    use aoc_model::search::SearchText;
    use aoc_model::{Cursor, EventQuery, Order};
    use aoc_store::EventStore;
    use aoc_store::testsuite::data::varied_events;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("plans.db").display()
    ))
    .await
    .expect("open");
    store.migrate().await.expect("migrate");
    let events = varied_events(150);
    store.insert_events(&events).await.expect("insert");
    for q in [
        "contoso",
        "kim",
        "payroll.xl",
        "198.51.100.7",
        "zzz",
        "global administrator",
    ] {
        for order in [Order::NewestFirst, Order::OldestFirst] {
            let query = EventQuery {
                text: SearchText::parse(q).ok(),
                order,
                ..EventQuery::default()
            }
            .with_page_size(9)
            .expect("size");
            let mut want: Vec<_> = events.iter().filter(|e| query.matches(e)).collect();
            want.sort_by_key(|e| (e.timestamp, e.id));
            if order == Order::NewestFirst {
                want.reverse();
            }
            let want: Vec<_> = want.into_iter().map(|e| e.id).collect();
            let planned = crate::fts::plan(&store.reader, query.text.as_ref().expect("text"))
                .await
                .expect("plan");
            let fts = match planned {
                crate::fts::TextSearch::Nothing => {
                    assert!(want.is_empty(), "{q}: planned as matching nothing");
                    continue;
                }
                crate::fts::TextSearch::Query { fts, .. } => fts,
            };
            for plan in [
                crate::fts::TextPlan::FromIndex,
                crate::fts::TextPlan::Scan,
                crate::fts::TextPlan::PerRow,
            ] {
                let dialect = crate::fts::SqliteDialect {
                    plan,
                    fts: fts.clone(),
                };
                let mut got = Vec::new();
                let mut page_query = query.clone();
                loop {
                    let page = store
                        .query_with(&page_query, &dialect)
                        .await
                        .expect("query");
                    got.extend(page.items.iter().map(|e| e.id));
                    match page.next_cursor {
                        Some(c) => page_query.cursor = Some(Cursor::decode(&c).expect("cursor")),
                        None => break,
                    }
                }
                assert_eq!(got, want, "{q} {order:?}");
            }
        }
    }
}

/// A commit that fails at its last step leaves nothing behind: no events, no coverage, no ledger
/// change, no watermark.
#[tokio::test]
async fn a_failed_commit_stores_nothing() {
    use aoc_model::TenantId;
    use aoc_store::FetchStateStore;
    use aoc_store::testsuite::data::{base_time, varied_events};
    use aoc_store::{ContentRef, ContentStatus, CoverageQuery, EventStore, FetchCommit};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("atomic.db").display()
    ))
    .await
    .expect("open");
    store.migrate().await.expect("migrate");
    // The watermark is written last: make that write fail.
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON source_state WHEN NEW.source = 'poisoned' \
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    )
    .execute(&store.writer)
    .await
    .expect("trigger");
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

    sqlx::query("DROP TRIGGER poison")
        .execute(&store.writer)
        .await
        .expect("drop");
    assert_eq!(store.commit_fetch(&commit).await.expect("commit").new, 10);
    assert_eq!(
        store.watermark(&tenant, "poisoned").await.expect("wm"),
        Some(base_time())
    );
}

/// Processes sharing the file race for a lease: one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_race_between_processes_has_one_winner() {
    use aoc_store::FetchStateStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("leases.db").display());
    let first = SqliteStore::connect(&url).await.expect("open");
    first.migrate().await.expect("migrate");
    let mut stores = vec![Arc::new(first)];
    for _ in 1..4 {
        stores.push(Arc::new(SqliteStore::connect(&url).await.expect("open")));
    }
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&stores[i % stores.len()]);
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            store
                .try_acquire_lease("race", &format!("holder-{i}"), Duration::from_secs(60))
                .await
                .expect("try_acquire_lease")
        });
    }
    let won = tasks.join_all().await.into_iter().filter(|&w| w).count();
    assert_eq!(won, 1);
}

/// Rows stored before the filter columns existed get them at the next start.
#[tokio::test]
async fn migrate_fills_in_filter_columns_of_older_rows() {
    use aoc_model::{EventQuery, IpRange};
    use aoc_store::EventStore;
    use aoc_store::testsuite::data::varied_events;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("fill.db").display());
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let events = varied_events(80);
    store.insert_events(&events).await.expect("insert");
    sqlx::query("UPDATE events SET client_ip_key = NULL, country = NULL, target_keys = NULL")
        .execute(&store.writer)
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
            .fetch_one(&store.writer)
            .await
            .expect("count");
    assert_eq!(pending, 0);
}

/// A fresh store of this engine's type, for tests that need its pools.
async fn open_store(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    let store = SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join(format!("{name}.db")).display()
    ))
    .await
    .expect("open");
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

/// The audit trail is append-only in the database itself: an UPDATE through any connection is
/// refused and changes nothing. DELETE stays possible, for retention.
#[tokio::test]
async fn the_audit_trail_refuses_updates() {
    use aoc_store::{AuditQuery, AuditTrailStore};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&dir, "audit").await;
    let seq = store
        .append_audit(&audit_entry("events.export"))
        .await
        .expect("append");
    for sql in [
        "UPDATE audit_trail SET action = 'events.view' WHERE seq = ?1",
        "UPDATE audit_trail SET seq = seq + 100 WHERE seq = ?1",
        "UPDATE OR REPLACE audit_trail SET outcome = 'success' WHERE seq = ?1",
    ] {
        let error = sqlx::query(sql)
            .bind(seq)
            .execute(&store.writer)
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let page = store
        .query_audit(&AuditQuery::default())
        .await
        .expect("query");
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        (page.items[0].seq, page.items[0].action.as_str()),
        (seq, "events.export")
    );
    let deleted = sqlx::query("DELETE FROM audit_trail WHERE seq = ?1")
        .bind(seq)
        .execute(&store.writer)
        .await
        .expect("retention may delete")
        .rows_affected();
    assert_eq!(deleted, 1);
}

/// The events query filters by tag with `id IN (SELECT event_id FROM event_tags WHERE tag = ?)`:
/// the column types must match for that to find anything.
#[tokio::test]
async fn events_filter_by_tag_through_event_tags() {
    use aoc_model::{Author, Tag};
    use aoc_store::testsuite::data::varied_events;
    use aoc_store::{AnnotationStore, EventStore};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&dir, "tags").await;
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
    let ids: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT id FROM events WHERE id IN (SELECT event_id FROM event_tags WHERE tag = ?) \
         ORDER BY seq",
    )
    .bind("escalated")
    .fetch_all(&store.reader)
    .await
    .expect("query");
    let want: Vec<Vec<u8>> = [2, 5, 7]
        .iter()
        .map(|&i| events[i].id.as_bytes().to_vec())
        .collect();
    assert_eq!(ids, want);
}

/// Processes sharing the file race to see a user first: one is told it was first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sighting_race_between_processes_has_one_winner() {
    use aoc_store::AuditTrailStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let first = open_store(&dir, "users").await;
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let mut stores = vec![Arc::new(first)];
    for _ in 1..4 {
        stores.push(Arc::new(SqliteStore::connect(&url).await.expect("open")));
    }
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&stores[i % stores.len()]);
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
