//! What `aoc serve` and `aoc worker` build alike from their settings: the AI assistant and the
//! job queue, so a worker answers a job exactly as the server would answer the request.

use std::sync::Arc;

use anyhow::Context as _;

use aoc_jobs::ValkeyConnection;
use aoc_store::{JobQueue, Store};

use crate::config::ai::AiConfig;
use crate::config::jobs::JobsConfig;

/// The process's one connection to Valkey when `REDIS_URL` is set, shared by the job queue, the
/// answer cache and the token budgets. Every process must reach the same Valkey, or their jobs
/// would be split between queues, so not reaching it at start is an error.
pub async fn valkey(jobs: &JobsConfig) -> anyhow::Result<Option<ValkeyConnection>> {
    match jobs.redis_url.as_deref() {
        Some(url) => Ok(Some(
            aoc_jobs::connect(url)
                .await
                // The error names no URL: it may hold a password.
                .context("REDIS_URL: Valkey cannot be reached")?,
        )),
        None => Ok(None),
    }
}

/// The AI features, when on: the model (if one is configured) and the answer cache (Valkey when
/// `REDIS_URL` is set, in-process otherwise).
pub fn assistant(
    ai: Option<&AiConfig>,
    jobs: &JobsConfig,
    connection: Option<&ValkeyConnection>,
) -> Option<Arc<aoc_ai::Assistant>> {
    let config = ai?;
    let llm = match config.llm.clone().map(aoc_ai::llm::provider) {
        Some(Ok(llm)) => Some(llm),
        Some(Err(e)) => {
            tracing::error!(error = %e, "the language model client cannot be set up; answering with AOC's parser and summaries");
            None
        }
        None => None,
    };
    let valkey = match jobs.redis_url.as_deref().zip(connection) {
        Some((url, connection)) => {
            match aoc_ai::cache::ValkeyCache::with_connection(url, connection.clone()) {
                Ok(cache) => Some(Arc::new(cache.in_namespace(&jobs.key_namespace))),
                Err(_) => {
                    tracing::error!("REDIS_URL cannot be read; caching answers in this process");
                    None
                }
            }
        }
        None => None,
    };
    let cache: Arc<dyn aoc_ai::cache::AnswerCache> = match &valkey {
        Some(valkey) => Arc::clone(valkey) as Arc<dyn aoc_ai::cache::AnswerCache>,
        None => Arc::new(aoc_ai::cache::MemoryCache::default()),
    };
    // One budget per caller across every server and worker when Valkey is there.
    let budget = match valkey {
        Some(valkey) => aoc_ai::budget::TokenBudget::shared(config.daily_tokens_per_user, valkey),
        None => aoc_ai::budget::TokenBudget::new(config.daily_tokens_per_user),
    };
    tracing::info!(
        model = llm
            .as_ref()
            .map(|l| l.model().to_owned())
            .unwrap_or_else(|| "none (AOC's parser)".into()),
        cache = if jobs.redis_url.is_some() {
            "valkey"
        } else {
            "in-process"
        },
        "AI features on"
    );
    Some(Arc::new(aoc_ai::Assistant {
        llm,
        cache,
        ask_ttl: config.ask_ttl,
        explain_ttl: config.explain_ttl,
        sample_tokens: 3_000,
        sample_max: 40,
        after_hours_scan: 100_000,
        budget,
    }))
}

/// The query cache: in process, and shared through Valkey when `REDIS_URL` is set.
pub fn query_cache(
    jobs: &JobsConfig,
    connection: Option<&ValkeyConnection>,
) -> Arc<aoc_services::query_cache::QueryCache> {
    let shared = jobs
        .redis_url
        .as_deref()
        .zip(connection)
        .and_then(|(url, connection)| {
            aoc_ai::cache::ValkeyCache::with_connection(url, connection.clone())
                .ok()
                .map(|cache| {
                    Arc::new(cache.in_namespace(&jobs.key_namespace))
                        as Arc<dyn aoc_ai::cache::AnswerCache>
                })
        });
    tracing::info!(
        tiers = if shared.is_some() {
            "in-process and valkey"
        } else {
            "in-process"
        },
        "query cache ready"
    );
    Arc::new(aoc_services::query_cache::QueryCache::default().with_shared(shared))
}

/// The job queue: Valkey's when `REDIS_URL` is set, the store's own otherwise.
pub fn job_queue(
    jobs: &JobsConfig,
    store: &Arc<dyn Store>,
    connection: Option<&ValkeyConnection>,
) -> Arc<dyn JobQueue> {
    match connection {
        Some(connection) => {
            let prefix = format!("{}aoc:{{jobs}}:", jobs.key_namespace);
            tracing::info!(queue = "valkey", "job queue ready");
            Arc::new(aoc_jobs::ValkeyJobQueue::with_prefix(
                connection.clone(),
                &prefix,
            ))
        }
        None => {
            tracing::info!(queue = store.engine(), "job queue ready (in the database)");
            Arc::clone(store) as Arc<dyn JobQueue>
        }
    }
}
