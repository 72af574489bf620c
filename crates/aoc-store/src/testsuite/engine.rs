//! Behaviours that need more than one store: several processes on one database, and statements
//! AOC itself never runs (a trigger that makes a write fail, an UPDATE of the audit trail), sent
//! through the engine's [`SqlEngine`] side. Each engine invokes [`crate::engine_behaviour_suite!`]
//! with an async constructor of a fresh, empty [`TestDatabase`] from a test name.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;

use aoc_model::search::SearchText;
use aoc_model::{Author, EventQuery, IpRange, Tag, TenantId};

use super::data::{base_time, varied_events};
use crate::sql::{Dialect, SqlEngine, Statement};
use crate::{
    AnnotationStore, AuditOutcome, AuditQuery, AuditTrailStore, ContentRef, ContentStatus,
    CoverageQuery, EventStore, FetchCommit, FetchStateStore, NewAuditEntry, Store,
};

/// A fresh database of one engine, for the tests of this module.
#[async_trait]
pub trait TestDatabase: Send + Sync {
    type Store: Store + SqlEngine + 'static;

    /// A store on the database with connections of its own, as one more process would open it
    /// (not migrated).
    async fn open(&self) -> Self::Store;
}

#[macro_export]
macro_rules! engine_behaviour_suite {
    ($make:path) => {
        $crate::engine_behaviour_suite!(@tests $make;
            a_failed_commit_stores_nothing,
            a_lease_race_between_processes_has_one_winner,
            a_first_sighting_race_between_processes_has_one_winner,
            migrate_fills_in_filter_columns_of_older_rows,
            the_audit_trail_refuses_updates,
            events_filter_by_tag_through_event_tags,
            migrate_joins_twins_stored_before
        );
    };
    (@tests $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let database = $make(stringify!($name)).await;
                $crate::testsuite::engine::$name(&database).await;
            }
        )*
    };
}

pub use super::activities::migrate_joins_twins_stored_before;

async fn open_migrated<D: TestDatabase>(database: &D) -> D::Store {
    let store = database.open().await;
    store.migrate().await.expect("migrate");
    store
}

async fn run(store: &impl SqlEngine, sql: &str) {
    store
        .write(Statement::new(store.dialect(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Several processes, each with a store of its own, on one migrated database.
async fn processes<D: TestDatabase>(database: &D, n: usize) -> Vec<Arc<D::Store>> {
    let first = open_migrated(database).await;
    let mut stores = vec![Arc::new(first)];
    for _ in 1..n {
        let store = database.open().await;
        store.ping().await.expect("ping");
        stores.push(Arc::new(store));
    }
    stores
}

/// A commit that fails at its last step leaves nothing behind: no events, no coverage, no ledger
/// change, no watermark.
pub async fn a_failed_commit_stores_nothing<D: TestDatabase>(database: &D) {
    let store = open_migrated(database).await;
    // The watermark is written last: make that write fail.
    let (poison, cure): (&[&str], &str) = match store.dialect() {
        Dialect::Sqlite => (
            &["CREATE TRIGGER poison BEFORE INSERT ON source_state \
               WHEN NEW.source = 'poisoned' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"],
            "DROP TRIGGER poison",
        ),
        Dialect::Postgres => (
            &[
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.source = 'poisoned' THEN RAISE EXCEPTION 'poisoned'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER poison BEFORE INSERT ON source_state \
                 FOR EACH ROW EXECUTE FUNCTION poison()",
            ],
            "DROP TRIGGER poison ON source_state",
        ),
    };
    for sql in poison {
        run(&store, sql).await;
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

    run(&store, cure).await;
    assert_eq!(store.commit_fetch(&commit).await.expect("commit").new, 10);
    assert_eq!(
        store.watermark(&tenant, "poisoned").await.expect("wm"),
        Some(base_time())
    );
}

/// Processes with stores of their own race for a lease, free and then expired: one wins each
/// time.
pub async fn a_lease_race_between_processes_has_one_winner<D: TestDatabase>(database: &D) {
    let stores = processes(database, 4).await;
    for round in ["free", "expired"] {
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let store = Arc::clone(&stores[i % stores.len()]);
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

/// Processes with stores of their own race to see a user first: one is told it was first.
pub async fn a_first_sighting_race_between_processes_has_one_winner<D: TestDatabase>(database: &D) {
    let stores = processes(database, 4).await;
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

/// Rows stored before the filter columns existed get them at the next start, and their
/// full-text entry again (its words grow: a sign-in's city).
pub async fn migrate_fills_in_filter_columns_of_older_rows<D: TestDatabase>(database: &D) {
    let store = open_migrated(database).await;
    let events = varied_events(80);
    store.insert_events(&events).await.expect("insert");
    run(
        &store,
        "UPDATE events SET client_ip_key = NULL, country = NULL, target_keys = NULL, \
         application = NULL, application_key = NULL, target_names = NULL",
    )
    .await;
    // An index written before it held cities: empty.
    let blank_index = match store.dialect().engine() {
        "sqlite" => "DELETE FROM events_fts",
        _ => "UPDATE events SET search = to_tsvector('simple', '')",
    };
    run(&store, blank_index).await;
    let city = EventQuery {
        text: SearchText::parse("bucharest").ok(),
        ..EventQuery::default()
    };
    let application = EventQuery {
        application: Some("office".into()),
        ..EventQuery::default()
    };
    for query in [&city, &application] {
        let page = store.query_events(query).await.expect("query");
        assert!(page.items.is_empty(), "{query:?} before the upgrade");
    }
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
    for query in [city, application] {
        let want = events.iter().filter(|e| query.matches(e)).count();
        assert!(want > 0, "{query:?} matches some events");
        let page = store
            .query_events(&query.with_page_size(500).expect("size"))
            .await
            .expect("query");
        assert_eq!(page.items.len(), want);
    }
    let targets = store
        .facets(&EventQuery::default(), &[aoc_model::Facet::Target], 3)
        .await
        .expect("facets");
    assert_eq!(targets[0].1.len(), 3, "target names filled in: {targets:?}");
    let pending = Statement::new(
        store.dialect(),
        "SELECT count(*) AS n FROM events WHERE target_keys IS NULL",
    );
    let mut rows = store.read(pending).await.expect("count");
    assert_eq!(rows[0].integer("n").expect("n"), 0);
}

fn audit_entry(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: base_time(),
        actor: Author::local(),
        actor_tenant: None,
        client_ip: Some("127.0.0.1".into()),
        request_id: "req-1".into(),
        action: action.into(),
        target: None,
        details: Default::default(),
        outcome: AuditOutcome::Success,
        status: 200,
    }
}

/// The audit trail is append-only in the database itself: an UPDATE (and on PostgreSQL a
/// TRUNCATE) through any connection is refused and changes nothing. DELETE stays possible, for
/// retention.
pub async fn the_audit_trail_refuses_updates<D: TestDatabase>(database: &D) {
    let store = open_migrated(database).await;
    let dialect = store.dialect();
    let seq = store
        .append_audit(&audit_entry("events.export"))
        .await
        .expect("append");
    let refused: &[&str] = match dialect {
        Dialect::Sqlite => &[
            "UPDATE audit_trail SET action = 'events.view' WHERE seq = $1",
            "UPDATE audit_trail SET seq = seq + 100 WHERE seq = $1",
            "UPDATE OR REPLACE audit_trail SET outcome = 'success' WHERE seq = $1",
        ],
        Dialect::Postgres => &[
            "UPDATE audit_trail SET action = 'events.view' WHERE seq = $1",
            "UPDATE audit_trail SET details = '{}' WHERE seq = $1",
            "INSERT INTO audit_trail (seq, at, actor_id, request_id, action, details, outcome, \
             status) OVERRIDING SYSTEM VALUE SELECT seq, at, actor_id, request_id, 'x', details, \
             outcome, status FROM audit_trail WHERE seq = $1 \
             ON CONFLICT (seq) DO UPDATE SET action = EXCLUDED.action",
        ],
    };
    for sql in refused {
        let error = store
            .write(Statement::new(dialect, sql).bind(seq))
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    if dialect == Dialect::Postgres {
        let error = store
            .write(Statement::new(dialect, "TRUNCATE audit_trail"))
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("append-only"), "{error}");
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
    let deleted = store
        .write(Statement::new(dialect, "DELETE FROM audit_trail WHERE seq = $1").bind(seq))
        .await
        .expect("retention may delete");
    assert_eq!(deleted, 1);
}

/// The events query filters by tag with `id IN (SELECT event_id FROM event_tags WHERE tag = …)`:
/// the column types must match for that to find anything.
pub async fn events_filter_by_tag_through_event_tags<D: TestDatabase>(database: &D) {
    let store = open_migrated(database).await;
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
    let select = Statement::new(
        store.dialect(),
        "SELECT seq FROM events WHERE id IN (SELECT event_id FROM event_tags WHERE tag = $1) \
         ORDER BY seq",
    )
    .bind("escalated");
    let mut got = Vec::new();
    for mut row in store.read(select).await.expect("query") {
        got.push(row.integer("seq").expect("seq"));
    }
    let mut want = Vec::new();
    for i in [2, 5, 7] {
        let stored = store.get_event(events[i].id).await.expect("get");
        want.push(stored.and_then(|e| e.seq).expect("stored").0);
    }
    assert_eq!(got, want);
}
