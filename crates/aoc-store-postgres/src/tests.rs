use std::sync::Arc;

use async_trait::async_trait;

use aoc_store::Store;
use aoc_store::testsuite::TestDatabase;

use crate::{PostgresStore, testing};

/// A fresh store in a schema of its own, named after the test and re-created on every run.
async fn fresh_store(name: &str) -> Arc<dyn Store> {
    Arc::new(testing::fresh_store(&format!("aoc_t_{name}")).await)
}

/// A schema of its own, re-created on every run.
struct Schema {
    url: String,
}

#[async_trait]
impl TestDatabase for Schema {
    type Store = PostgresStore;

    async fn open(&self) -> PostgresStore {
        PostgresStore::connect(&self.url).expect("url")
    }
}

async fn fresh_schema(name: &str) -> Schema {
    let url = testing::fresh_schema(&format!("aoc_t_{name}")).await;
    Schema { url }
}

aoc_store::store_behaviour_suite!(fresh_store);
aoc_store::engine_behaviour_suite!(fresh_schema);

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
