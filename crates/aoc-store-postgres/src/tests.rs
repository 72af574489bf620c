use std::sync::Arc;

use aoc_store::Store;

use crate::PostgresStore;

/// The server the tests use: `AOC_TEST_DATABASE_URL`, else the local one. A test fails, never
/// skips, when it cannot be reached.
fn test_database_url() -> String {
    std::env::var("AOC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh store in a schema of its own, named after the test and re-created on every run.
async fn fresh_store(name: &str) -> Arc<dyn Store> {
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
    let url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let store = PostgresStore::connect(&url).expect("url");
    store.migrate().await.expect("migrate");
    Arc::new(store)
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
