//! A [`Store`] decorator that records the latency of every store call in `/metrics`, so both
//! engines report the same figures without repeating the code.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{Event, EventId, EventPage, EventQuery, Seq};

use crate::{EventStore, InsertReport, Store, StoreResult};

/// Wraps an engine; a metrics recorder installed by the binary receives the figures.
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
    latency: Box<dyn Fn(&'static str, &'static str, f64, bool) + Send + Sync>,
}

impl InstrumentedStore {
    /// `latency(engine, operation, seconds, ok)` is called after every store call.
    pub fn new(
        inner: Arc<dyn Store>,
        latency: impl Fn(&'static str, &'static str, f64, bool) + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            latency: Box::new(latency),
        }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let start = Instant::now();
        let result = call.await;
        (self.latency)(
            self.inner.engine(),
            operation,
            start.elapsed().as_secs_f64(),
            result.is_ok(),
        );
        result
    }
}

#[async_trait]
impl EventStore for InstrumentedStore {
    async fn insert_events(&self, events: &[Event]) -> StoreResult<InsertReport> {
        self.timed("insert_events", self.inner.insert_events(events))
            .await
    }
    async fn query_events(&self, query: &EventQuery) -> StoreResult<EventPage> {
        self.timed("query_events", self.inner.query_events(query))
            .await
    }
    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>> {
        self.timed("get_event", self.inner.get_event(id)).await
    }
    async fn events_after(&self, after: Option<Seq>, limit: u32) -> StoreResult<Vec<Event>> {
        self.timed("events_after", self.inner.events_after(after, limit))
            .await
    }
    async fn delete_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        self.timed("delete_events", self.inner.delete_events(ids))
            .await
    }
    async fn delete_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.timed(
            "delete_events_before",
            self.inner.delete_events_before(cutoff),
        )
        .await
    }
    async fn count_events(&self) -> StoreResult<u64> {
        self.timed("count_events", self.inner.count_events()).await
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    fn engine(&self) -> &'static str {
        self.inner.engine()
    }
    async fn migrate(&self) -> StoreResult<()> {
        self.timed("migrate", self.inner.migrate()).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.timed("ping", self.inner.ping()).await
    }
}
