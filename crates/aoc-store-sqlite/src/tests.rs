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
