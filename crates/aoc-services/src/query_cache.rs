//! Answers to searches and figures, kept until the data they were computed over changes.
//!
//! A key is the store's data version ([`aoc_store::EventStore::data_version`], moved by every
//! committed change a search could see) with the caller's tenant scope and the whole query, so
//! a cached answer is never stale: after a change the same request has a new key and is
//! computed again. Two tiers: this process's memory (typed values, nothing to decode; the same
//! request made by many callers at once is computed once and shared) and, when `REDIS_URL` is
//! set, Valkey, which every server process shares (JSON). Lookups are counted in
//! `aoc_cache_requests_total` by kind (`events`, `aggregations`, `facets`) and outcome.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use aoc_ai::cache::{AnswerCache, CacheKey};

use crate::error::{ServiceError, ServiceResult};

/// How long an answer is kept: versions move on, so this only bounds what old ones hold.
const KEEP: Duration = Duration::from_secs(600);
/// The most memory the in-process tier may weigh, in estimated bytes.
const MEMORY_BYTES: u64 = 32 * 1024 * 1024;

type Stored = (Arc<dyn Any + Send + Sync>, u32);

/// The query cache; one per process, shared by every request.
pub struct QueryCache {
    memory: moka::future::Cache<String, Stored>,
    shared: Option<Arc<dyn AnswerCache>>,
}

impl Default for QueryCache {
    fn default() -> Self {
        Self {
            memory: moka::future::Cache::builder()
                .max_capacity(MEMORY_BYTES)
                .weigher(|_key: &String, value: &Stored| value.1)
                .time_to_live(KEEP)
                .build(),
            shared: None,
        }
    }
}

/// A cacheable answer: how much memory it holds, roughly.
pub trait Weighed {
    fn weight(&self) -> u32;
}

impl QueryCache {
    /// With answers also kept in (and taken from) `shared`: Valkey, shared by every process.
    #[must_use]
    pub fn with_shared(mut self, shared: Option<Arc<dyn AnswerCache>>) -> Self {
        self.shared = shared;
        self
    }

    /// The answer kept under `kind` and `key`, else `compute`'s, kept for the next caller.
    /// Callers asking for the same key at once wait for one computation, and every caller of
    /// one kept answer shares it (the same `Arc`, so a door may keep what it derives from it,
    /// such as its compressed bytes). A failed computation is not kept.
    pub(crate) async fn get_or_compute<T, F>(
        &self,
        kind: &'static str,
        key: &impl Debug,
        compute: F,
    ) -> ServiceResult<Arc<T>>
    where
        T: Clone + Serialize + DeserializeOwned + Weighed + Send + Sync + 'static,
        F: Future<Output = ServiceResult<T>> + Send,
    {
        let hash = blake3::hash(format!("{key:?}").as_bytes())
            .to_hex()
            .to_string();
        let storage = format!("{kind}:{hash}");
        let shared_key = CacheKey {
            kind,
            subject: hash,
            scope: String::new(),
            role: String::new(),
            model: String::new(),
        };
        let shared = self.shared.clone();
        let entry = self
            .memory
            .entry(storage)
            .or_try_insert_with(async move {
                let value = match &shared {
                    Some(cache) => match cache.get(&shared_key).await {
                        Some(text) => serde_json::from_str::<T>(&text).ok(),
                        None => None,
                    },
                    None => {
                        crate::telemetry::QueryCacheLookup { kind, hit: false }.emit();
                        None
                    }
                };
                let value = match value {
                    Some(value) => value,
                    None => {
                        let value = compute.await?;
                        if let Some(cache) = &shared
                            && let Ok(text) = serde_json::to_string(&value)
                        {
                            cache.put(&shared_key, &text, KEEP).await;
                        }
                        value
                    }
                };
                let weight = value.weight();
                Ok::<Stored, ServiceError>((Arc::new(value), weight))
            })
            .await
            .map_err(|e| (*e).clone())?;
        if !entry.is_fresh() {
            crate::telemetry::QueryCacheLookup { kind, hit: true }.emit();
        }
        let (value, _) = entry.into_value();
        value
            .downcast::<T>()
            .map_err(|_| ServiceError::Internal(format!("the {kind} cache held another type")))
    }
}

impl Weighed for aoc_model::EventPage {
    fn weight(&self) -> u32 {
        // An event without its raw record is about 1.5 KB in memory.
        256 + 1_536 * self.items.len() as u32
    }
}

impl Weighed for aoc_model::EventAggregates {
    fn weight(&self) -> u32 {
        let values = self.top_operations.len() + self.top_actors.len() + self.top_ips.len();
        256 + 48 * self.timeline.len() as u32 + 96 * values as u32
    }
}

impl Weighed for crate::events::EventFacets {
    fn weight(&self) -> u32 {
        256 + 96 * self.facets.values().map(Vec::len).sum::<usize>() as u32
    }
}
