//! The answer cache: Valkey (Redis protocol) when `REDIS_URL` is set, shared by every process;
//! in-process otherwise. Keys say everything that makes two answers differ — what was asked,
//! over which data, for which role, by which model and prompt — so answers are shared only where
//! they would be the same. A cache that fails is no cache: a lookup misses, a store is dropped,
//! and the caller never sees an error. Hits, misses and failures are counted in
//! `aoc_cache_requests_total`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::telemetry::{CacheLookup, CacheOperationFailed, CacheUnavailable};

/// The longest a cache operation may take before it counts as failed.
const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// How soon to try reaching Valkey again after failing to connect.
const RECONNECT_EVERY: Duration = Duration::from_secs(10);
/// Entries kept in process, at most.
const MEMORY_ENTRIES: u64 = 10_000;
/// The longest any entry lives in process.
const MEMORY_MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a cached answer depends on. Two requests share an answer only when every part is equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    /// `ask` or `explain`.
    pub kind: &'static str,
    /// The question, or the event id.
    pub subject: String,
    /// The data the answer was computed over: the resolved filters, the tenants visible.
    pub scope: String,
    /// The caller's role: what they may see shapes the answer.
    pub role: String,
    /// Model and prompt version: a new model or prompt is a new answer.
    pub model: String,
}

impl CacheKey {
    /// The key as stored: `aoc:{kind}:{hash}`. Questions are compared without case and extra
    /// spaces; the hash keeps raw text (and any name in it) out of the key.
    pub fn storage_key(&self) -> String {
        let subject = self
            .subject
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let mut hasher = blake3::Hasher::new();
        for part in [
            self.kind,
            subject.as_str(),
            self.scope.as_str(),
            self.role.as_str(),
            self.model.as_str(),
        ] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        format!("aoc:{}:{}", self.kind, hasher.finalize().to_hex())
    }
}

/// Where answers are kept.
#[async_trait]
pub trait AnswerCache: Send + Sync {
    /// The stored answer, or `None` (absent, expired, or the cache is unavailable).
    async fn get(&self, key: &CacheKey) -> Option<String>;
    /// Keeps `value` for `ttl`; a failure is logged and counted, never returned.
    async fn put(&self, key: &CacheKey, value: &str, ttl: Duration);
}

fn counted(kind: &'static str, found: Option<String>) -> Option<String> {
    CacheLookup {
        cache: kind,
        found: found.is_some(),
    }
    .emit();
    found
}

/// The in-process cache.
pub struct MemoryCache {
    entries: moka::future::Cache<String, (Arc<str>, Instant)>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(MEMORY_ENTRIES)
                .time_to_live(MEMORY_MAX_TTL)
                .build(),
        }
    }
}

#[async_trait]
impl AnswerCache for MemoryCache {
    async fn get(&self, key: &CacheKey) -> Option<String> {
        let storage = key.storage_key();
        let found = match self.entries.get(&storage).await {
            Some((value, expires)) if Instant::now() < expires => Some(value.to_string()),
            Some(_) => {
                self.entries.invalidate(&storage).await;
                None
            }
            None => None,
        };
        counted(key.kind, found)
    }

    async fn put(&self, key: &CacheKey, value: &str, ttl: Duration) {
        let expires = Instant::now() + ttl.min(MEMORY_MAX_TTL);
        self.entries
            .insert(key.storage_key(), (Arc::from(value), expires))
            .await;
    }
}

/// The Valkey cache: one connection manager per process (it reconnects by itself), created on
/// first use and retried every [`RECONNECT_EVERY`] while Valkey cannot be reached.
pub struct ValkeyCache {
    client: redis::Client,
    connection: Mutex<Connection>,
    /// Put before every key, so several AOC deployments can share one Valkey.
    namespace: String,
}

enum Connection {
    Never,
    Up(redis::aio::ConnectionManager),
    Down(Instant),
}

impl ValkeyCache {
    /// A cache at `url` (`redis://HOST:PORT/DB`, `rediss://` for TLS). Connects on first use.
    ///
    /// # Errors
    /// The URL is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: Mutex::new(Connection::Never),
            namespace: String::new(),
        })
    }

    /// A cache over a connection the process already holds (one client per process); it is
    /// reconnected by the connection itself.
    pub fn with_connection(
        url: &str,
        connection: redis::aio::ConnectionManager,
    ) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: Mutex::new(Connection::Up(connection)),
            namespace: String::new(),
        })
    }

    /// The same cache with every key under `namespace` (e.g. `prod-eu:`).
    #[must_use]
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        namespace.clone_into(&mut self.namespace);
        self
    }

    fn key(&self, key: &CacheKey) -> String {
        format!("{}{}", self.namespace, key.storage_key())
    }

    async fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        let mut state = self.connection.lock().await;
        match &*state {
            Connection::Up(manager) => return Some(manager.clone()),
            Connection::Down(since) if since.elapsed() < RECONNECT_EVERY => return None,
            _ => {}
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            OP_TIMEOUT * 2,
            self.client.get_connection_manager_with_config(config),
        )
        .await
        {
            Ok(Ok(manager)) => {
                *state = Connection::Up(manager.clone());
                Some(manager)
            }
            Ok(Err(e)) => {
                // The error names the host, never the password of the URL.
                tracing::warn!(error = %e.kind_description(), "the answer cache (Valkey) cannot be reached; answering without it");
                *state = Connection::Down(Instant::now());
                None
            }
            Err(_) => {
                tracing::warn!(
                    "the answer cache (Valkey) did not answer in time; answering without it"
                );
                *state = Connection::Down(Instant::now());
                None
            }
        }
    }

    /// Adds `by` to the counter `name` (under this cache's namespace), which expires `ttl` after
    /// it is created; the new total, or `None` when Valkey cannot be reached.
    pub(crate) async fn add(&self, name: &str, by: u64, ttl: Duration) -> Option<u64> {
        let mut conn = self.connection().await?;
        let key = format!("{}{name}", self.namespace);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCRBY")
            .arg(&key)
            .arg(by)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl.as_secs().max(1))
            .arg("NX")
            .ignore();
        match tokio::time::timeout(OP_TIMEOUT, pipe.query_async::<(u64,)>(&mut conn)).await {
            Ok(Ok((total,))) => Some(total),
            Ok(Err(e)) => {
                tracing::warn!(error = %e.kind_description(), "a shared counter could not be updated in Valkey");
                None
            }
            Err(_) => None,
        }
    }

    /// The counter `name`; 0 when it does not exist, `None` when Valkey cannot be reached.
    pub(crate) async fn counter(&self, name: &str) -> Option<u64> {
        let mut conn = self.connection().await?;
        let mut command = redis::cmd("GET");
        command.arg(format!("{}{name}", self.namespace));
        match tokio::time::timeout(OP_TIMEOUT, command.query_async::<Option<u64>>(&mut conn)).await
        {
            Ok(Ok(value)) => Some(value.unwrap_or(0)),
            _ => None,
        }
    }

    fn failed(kind: &'static str, what: &str, error: &str) {
        CacheOperationFailed {
            cache: kind,
            operation: what,
            error,
        }
        .emit();
    }
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for redis::RedisError {
    fn kind_description(&self) -> String {
        format!("{:?}", self.kind())
    }
}

#[async_trait]
impl AnswerCache for ValkeyCache {
    async fn get(&self, key: &CacheKey) -> Option<String> {
        let Some(mut conn) = self.connection().await else {
            CacheUnavailable { cache: key.kind }.emit();
            return None;
        };
        let mut command = redis::cmd("GET");
        command.arg(self.key(key));
        let reply = command.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(OP_TIMEOUT, reply).await {
            Ok(Ok(found)) => counted(key.kind, found),
            Ok(Err(e)) => {
                Self::failed(key.kind, "get", &e.kind_description());
                None
            }
            Err(_) => {
                Self::failed(key.kind, "get", "timed out");
                None
            }
        }
    }

    async fn put(&self, key: &CacheKey, value: &str, ttl: Duration) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(self.key(key)).arg(value).arg("PX").arg(millis);
        let reply = command.exec_async(&mut conn);
        match tokio::time::timeout(OP_TIMEOUT, reply).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => Self::failed(key.kind, "put", &e.kind_description()),
            Err(_) => Self::failed(key.kind, "put", "timed out"),
        }
    }
}

#[cfg(test)]
mod tests;
