//! The query cache: the same search or figures over the same data are computed once and shared,
//! by requests of one process and, through Valkey, of every process; any change to the data
//! (events stored or deleted, a tag added) is seen by the very next request.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use chrono::Utc;

use aoc_model::{Author, Tag};
use aoc_services::query_cache::QueryCache;
use aoc_store::{EventRef, Store};
use aoc_store_sqlite::SqliteStore;

use super::ask::{metrics_text, series};
use super::{fixture_events, get, state_with};
use crate::{ApiSettings, router};

const FIGURES: &str = "/api/events/aggregations?from=2025-01-01&to=2026-01-01";
const FACETS: &str = "/api/events/facets?from=2025-01-01&to=2026-01-01&fields=operation,actor";
const PAGE: &str = "/api/events?from=2025-01-01&to=2026-01-01&page_size=500";

async fn store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cache.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

fn app(store: &Arc<dyn Store>, cache: QueryCache) -> Router {
    let mut state = state_with(Arc::clone(store), ApiSettings::default());
    state.query_cache = Arc::new(cache);
    router(state)
}

fn outcome(kind: &str, outcome: &str) -> String {
    format!(r#"aoc_cache_requests_total{{cache="{kind}",outcome="{outcome}"}}"#)
}

async fn count(app: &Router, kind: &str, what: &str) -> f64 {
    series(&metrics_text(app).await, &outcome(kind, what))
}

#[tokio::test]
async fn repeated_requests_are_answered_from_the_cache_until_the_data_changes() {
    let store = store().await;
    let events = fixture_events();
    let (first, rest) = events.split_at(events.len() - 3);
    store.insert_events(first).await.expect("insert");
    let app = app(&store, QueryCache::default());

    for (uri, kind) in [
        (FIGURES, "aggregations"),
        (FACETS, "facets"),
        (PAGE, "events"),
    ] {
        let (hits, misses) = (
            count(&app, kind, "hit").await,
            count(&app, kind, "miss").await,
        );
        let (status, _, once) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{once}");
        let (_, _, twice) = get(&app, uri).await;
        assert_eq!(once, twice, "{uri}");
        assert_eq!(count(&app, kind, "miss").await, misses + 1.0, "{uri}");
        assert_eq!(count(&app, kind, "hit").await, hits + 1.0, "{uri}");
    }

    // New events: the next request sees them (a miss, computed again), never the kept answer.
    let (_, _, before) = get(&app, FIGURES).await;
    assert_eq!(before["total"], first.len() as u64);
    store.insert_events(rest).await.expect("insert the rest");
    let misses = count(&app, "aggregations", "miss").await;
    let (_, _, after) = get(&app, FIGURES).await;
    assert_eq!(after["total"], events.len() as u64, "{after}");
    assert_eq!(count(&app, "aggregations", "miss").await, misses + 1.0);
    let (_, _, page) = get(&app, PAGE).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(events.len()));

    // A tag is a change too: `tag:` finds the event at once.
    let tagged = "/api/events?q=tag:reviewed";
    let (_, _, none) = get(&app, tagged).await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
    store
        .add_tag(
            EventRef::from(&events[0]),
            &Tag::parse("reviewed").expect("tag"),
            &Author::new("analyst", None),
            Utc::now(),
        )
        .await
        .expect("tag");
    let (_, _, found) = get(&app, tagged).await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");

    // And deleting: the figures drop at once.
    store.delete_events(&[events[1].id]).await.expect("delete");
    let (_, _, after) = get(&app, FIGURES).await;
    assert_eq!(after["total"], events.len() as u64 - 1);

    // An error is not kept: a bad request stays a bad request, and nothing is cached for it.
    let (status, _, _) = get(&app, "/api/events/aggregations?interval=1&from=2020-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn processes_share_answers_through_valkey() {
    let redis =
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let namespace = format!("aoc-test-query-{}:", uuid::Uuid::new_v4().simple());
    let shared = || {
        let valkey = aoc_ai::cache::ValkeyCache::new(&redis)
            .expect("url")
            .in_namespace(&namespace);
        QueryCache::default().with_shared(Some(Arc::new(valkey)))
    };
    let store = store().await;
    let events = fixture_events();
    store.insert_events(&events[1..]).await.expect("insert");
    // Two servers over one database and one Valkey, each with its own memory.
    let (one, two) = (app(&store, shared()), app(&store, shared()));

    let misses = count(&one, "aggregations", "miss").await;
    let (_, _, computed) = get(&one, FIGURES).await;
    assert_eq!(count(&one, "aggregations", "miss").await, misses + 1.0);
    let hits = count(&two, "aggregations", "hit").await;
    let (_, _, shared_answer) = get(&two, FIGURES).await;
    assert_eq!(
        shared_answer, computed,
        "the same JSON, decoded from Valkey"
    );
    assert_eq!(count(&two, "aggregations", "hit").await, hits + 1.0);
    let (_, _, page_one) = get(&one, PAGE).await;
    let (_, _, page_two) = get(&two, PAGE).await;
    assert_eq!(page_one, page_two);

    // A change made anywhere is seen by both at once.
    store.insert_events(&events[..1]).await.expect("insert");
    for app in [&two, &one] {
        let (_, _, after) = get(app, FIGURES).await;
        assert_eq!(after["total"], events.len() as u64);
    }
}
