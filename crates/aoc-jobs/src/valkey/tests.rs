//! The shared queue behaviour against the real Valkey/Redis server (`AOC_TEST_REDIS_URL`,
//! default `redis://127.0.0.1:6379`), each test under its own key prefix.

use std::sync::Arc;

use aoc_store::JobQueue;

use super::ValkeyJobQueue;

async fn fresh_queue(name: &str) -> Arc<dyn JobQueue> {
    let url =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("url");
    let connection = client.get_connection_manager().await.expect("Redis");
    let prefix = format!("aoc-test:{{{name}-{}}}:", uuid::Uuid::new_v4().simple());
    Arc::new(ValkeyJobQueue::with_prefix(connection, &prefix))
}

aoc_store::job_queue_behaviour_suite!(fresh_queue);
