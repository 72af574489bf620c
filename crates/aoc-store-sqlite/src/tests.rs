use std::sync::Arc;

use async_trait::async_trait;

use aoc_store::Store;
use aoc_store::testsuite::TestDatabase;

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

/// A database file of its own, removed with this value.
struct DatabaseFile {
    url: String,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl TestDatabase for DatabaseFile {
    type Store = SqliteStore;

    async fn open(&self) -> SqliteStore {
        SqliteStore::connect(&self.url).await.expect("open")
    }
}

async fn fresh_file(name: &str) -> DatabaseFile {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}",
        dir.path().join(format!("{name}.db")).display()
    );
    DatabaseFile { url, _dir: dir }
}

aoc_store::store_behaviour_suite!(fresh_store);
aoc_store::engine_behaviour_suite!(fresh_file);

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
                    let page = aoc_store::sql::query_page(&store, &page_query, &dialect)
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

/// A file of the release before the actor lookup (migrations up to 0012) migrates: its actors
/// are counted into `event_actors`, the actor filter finds its events as testing each one does,
/// and a person's first page is read from the actor index, not along the time index.
#[tokio::test]
async fn the_previous_release_gains_the_actor_lookup() {
    use aoc_model::EventQuery;
    use aoc_store::EventStore;
    use aoc_store::testsuite::data::{USERS, varied_events};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("previous.db").display()
    ))
    .await
    .expect("open");
    crate::MIGRATOR
        .run_to(12, &store.writer)
        .await
        .expect("the previous release's schema");
    let events = varied_events(80);
    // This release's writer also keeps the table the next migration makes: lent for the
    // insert, then taken away, so the events stand as the previous release stored them.
    sqlx::raw_sql(
        "CREATE TABLE event_actors (tenant_id TEXT, actor_keys TEXT, events INTEGER, \
         PRIMARY KEY (tenant_id, actor_keys))",
    )
    .execute(&store.writer)
    .await
    .expect("lend");
    store.insert_events(&events).await.expect("insert");
    sqlx::raw_sql("DROP TABLE event_actors")
        .execute(&store.writer)
        .await
        .expect("take back");

    store.migrate().await.expect("migrate to this release");

    let (counted,): (i64,) = sqlx::query_as("SELECT sum(events) FROM event_actors")
        .fetch_one(&store.writer)
        .await
        .expect("counts");
    let (named,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM events WHERE actor_keys IS NOT NULL AND actor_keys <> ''",
    )
    .fetch_one(&store.writer)
    .await
    .expect("events");
    assert_eq!(counted, named);

    let query = EventQuery {
        actor: Some(USERS[2].into()),
        ..EventQuery::default()
    };
    let mut want: Vec<_> = events.iter().filter(|e| query.matches(e)).collect();
    want.sort_by_key(|e| std::cmp::Reverse((e.timestamp, e.id)));
    let want: Vec<_> = want.into_iter().map(|e| e.id).collect();
    assert!(!want.is_empty());
    let got: Vec<_> = store
        .query_events(&query)
        .await
        .expect("query")
        .items
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(got, want);

    // The plan of that page: the actor index, whatever else SQLite could pick.
    let keys: Vec<(String,)> =
        sqlx::query_as("SELECT actor_keys FROM event_actors WHERE instr(actor_keys, ?1) > 0")
            .bind(USERS[2])
            .fetch_all(&store.writer)
            .await
            .expect("keys");
    let dialect = aoc_store::sql::actor_lookup::WithActor {
        inner: Box::new(crate::fts::SqliteDialect {
            plan: crate::fts::TextPlan::FromIndex,
            fts: String::new(),
        }),
        actor_keys: keys.into_iter().map(|(k,)| k).collect(),
    };
    let filter = aoc_store::event_filter(&query, &dialect);
    let plan = crate::rows::fetch(
        &store.writer,
        aoc_store::sql::Statement::raw(
            format!("EXPLAIN QUERY PLAN {}", filter.select_sql()),
            filter.binds,
        ),
    )
    .await
    .expect("plan");
    let plan: Vec<String> = plan
        .into_iter()
        .map(|mut row| row.text("detail").expect("detail"))
        .collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("events_actor_keys_time")),
        "{plan:?}"
    );
}
