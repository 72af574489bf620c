use std::sync::Arc;

use aoc_store::Store;

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
