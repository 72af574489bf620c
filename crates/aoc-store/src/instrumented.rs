//! A [`Store`] decorator that records the latency of every store call in `/metrics`, so both
//! engines report the same figures without repeating the code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{
    AggregateSpec, Author, CommentBody, CommentId, Event, EventAggregates, EventId, EventPage,
    EventQuery, Facet, Seq, Tag, TenantId, ValueCount,
};

use crate::{
    AnnotationStore, AuditPage, AuditQuery, AuditTrailStore, Comment, ContentRef, ContentStatus,
    CoverageQuery, CoverageRow, EventRef, EventStore, FetchCommit, FetchStateStore, InsertReport,
    NewAuditEntry, RunRecord, SourceState, Store, StoreResult, TagCount, TagRecord,
};
use crate::{ClaimedJob, JobId, JobOutcome, JobQueue, JobRecord, NewJob};

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
    async fn aggregate_events(
        &self,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> StoreResult<EventAggregates> {
        self.timed("aggregate_events", self.inner.aggregate_events(query, spec))
            .await
    }
    async fn facets(
        &self,
        query: &EventQuery,
        facets: &[Facet],
        top: u32,
    ) -> StoreResult<Vec<(Facet, Vec<ValueCount>)>> {
        self.timed("facets", self.inner.facets(query, facets, top))
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

    async fn data_version(&self) -> StoreResult<u64> {
        self.timed("data_version", self.inner.data_version()).await
    }
}

#[async_trait]
impl FetchStateStore for InstrumentedStore {
    async fn commit_fetch(&self, commit: &FetchCommit<'_>) -> StoreResult<InsertReport> {
        self.timed("commit_fetch", self.inner.commit_fetch(commit))
            .await
    }
    async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.timed("watermark", self.inner.watermark(tenant, source))
            .await
    }
    async fn list_content(
        &self,
        tenant: &TenantId,
        source: &str,
        listed: &[ContentRef],
    ) -> StoreResult<Vec<ContentStatus>> {
        self.timed(
            "list_content",
            self.inner.list_content(tenant, source, listed),
        )
        .await
    }
    async fn mark_content_expired(
        &self,
        tenant: &TenantId,
        source: &str,
        content_id: &str,
    ) -> StoreResult<()> {
        self.timed(
            "mark_content_expired",
            self.inner.mark_content_expired(tenant, source, content_id),
        )
        .await
    }
    async fn record_run(
        &self,
        tenant: &TenantId,
        source: &str,
        run: &RunRecord,
    ) -> StoreResult<()> {
        self.timed("record_run", self.inner.record_run(tenant, source, run))
            .await
    }
    async fn source_states(&self) -> StoreResult<Vec<SourceState>> {
        self.timed("source_states", self.inner.source_states())
            .await
    }
    async fn coverage(&self, query: &CoverageQuery) -> StoreResult<Vec<CoverageRow>> {
        self.timed("coverage", self.inner.coverage(query)).await
    }
    async fn prune_fetch_state(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.timed("prune_fetch_state", self.inner.prune_fetch_state(cutoff))
            .await
    }
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.timed(
            "try_acquire_lease",
            self.inner.try_acquire_lease(name, holder, ttl),
        )
        .await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.timed("release_lease", self.inner.release_lease(name, holder))
            .await
    }
}

#[async_trait]
impl AnnotationStore for InstrumentedStore {
    async fn add_tag(
        &self,
        event: EventRef,
        tag: &Tag,
        by: &Author,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.timed("add_tag", self.inner.add_tag(event, tag, by, at))
            .await
    }
    async fn remove_tag(&self, event: EventId, tag: &Tag) -> StoreResult<bool> {
        self.timed("remove_tag", self.inner.remove_tag(event, tag))
            .await
    }
    async fn event_tags(&self, event: EventId) -> StoreResult<Vec<TagRecord>> {
        self.timed("event_tags", self.inner.event_tags(event)).await
    }
    async fn tag_counts(&self) -> StoreResult<Vec<TagCount>> {
        self.timed("tag_counts", self.inner.tag_counts()).await
    }
    async fn add_comment(
        &self,
        event: EventRef,
        author: &Author,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Comment> {
        self.timed(
            "add_comment",
            self.inner.add_comment(event, author, body, at),
        )
        .await
    }
    async fn get_comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        self.timed("get_comment", self.inner.get_comment(id)).await
    }
    async fn update_comment(
        &self,
        id: CommentId,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Comment>> {
        self.timed("update_comment", self.inner.update_comment(id, body, at))
            .await
    }
    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool> {
        self.timed("delete_comment", self.inner.delete_comment(id))
            .await
    }
    async fn event_comments(&self, event: EventId) -> StoreResult<Vec<Comment>> {
        self.timed("event_comments", self.inner.event_comments(event))
            .await
    }
}

#[async_trait]
impl AuditTrailStore for InstrumentedStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        self.timed("append_audit", self.inner.append_audit(entry))
            .await
    }
    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        self.timed("query_audit", self.inner.query_audit(query))
            .await
    }
    async fn delete_audit_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.timed(
            "delete_audit_before",
            self.inner.delete_audit_before(cutoff),
        )
        .await
    }
    async fn note_user_seen(
        &self,
        tenant: &str,
        object_id: &str,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.timed(
            "note_user_seen",
            self.inner.note_user_seen(tenant, object_id, name, at),
        )
        .await
    }
}

#[async_trait]
impl JobQueue for InstrumentedStore {
    fn queue_kind(&self) -> &'static str {
        self.inner.queue_kind()
    }
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        self.timed("enqueue_job", self.inner.enqueue_job(job)).await
    }
    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        self.timed("get_job", self.inner.get_job(id)).await
    }
    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>> {
        self.timed("claim_job", self.inner.claim_job(worker, lease))
            .await
    }
    async fn renew_job(&self, id: JobId, worker: &str, lease: Duration) -> StoreResult<bool> {
        self.timed("renew_job", self.inner.renew_job(id, worker, lease))
            .await
    }
    async fn finish_job(&self, id: JobId, worker: &str, outcome: &JobOutcome) -> StoreResult<bool> {
        self.timed("finish_job", self.inner.finish_job(id, worker, outcome))
            .await
    }
    async fn purge_jobs(&self) -> StoreResult<u64> {
        self.timed("purge_jobs", self.inner.purge_jobs()).await
    }
    async fn queued_jobs(&self) -> StoreResult<u64> {
        self.timed("queued_jobs", self.inner.queued_jobs()).await
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

#[async_trait]
impl crate::SavedSearchStore for InstrumentedStore {
    async fn save_search(&self, search: &crate::NewSavedSearch) -> StoreResult<crate::SavedSearch> {
        self.timed("save_search", self.inner.save_search(search))
            .await
    }
    async fn saved_searches(&self, owner_id: &str) -> StoreResult<Vec<crate::SavedSearch>> {
        self.timed("saved_searches", self.inner.saved_searches(owner_id))
            .await
    }
    async fn get_saved_search(&self, id: uuid::Uuid) -> StoreResult<Option<crate::SavedSearch>> {
        self.timed("get_saved_search", self.inner.get_saved_search(id))
            .await
    }
    async fn delete_saved_search(&self, id: uuid::Uuid) -> StoreResult<bool> {
        self.timed("delete_saved_search", self.inner.delete_saved_search(id))
            .await
    }
}
