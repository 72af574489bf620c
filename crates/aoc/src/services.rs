//! What `aoc serve` and `aoc worker` build alike from their settings: the AI assistant and the
//! job queue, so a worker answers a job exactly as the server would answer the request.

use std::sync::Arc;

use anyhow::Context as _;

use aoc_store::{JobQueue, Store};

use crate::config::ai::AiConfig;
use crate::config::jobs::JobsConfig;

/// The AI features, when on: the model (if one is configured) and the answer cache (Valkey when
/// `REDIS_URL` is set, in-process otherwise).
pub fn assistant(ai: Option<&AiConfig>, jobs: &JobsConfig) -> Option<Arc<aoc_ai::Assistant>> {
    let config = ai?;
    let llm = match config.llm.clone().map(aoc_ai::llm::provider) {
        Some(Ok(llm)) => Some(llm),
        Some(Err(e)) => {
            tracing::error!(error = %e, "the language model client cannot be set up; answering with AOC's parser and summaries");
            None
        }
        None => None,
    };
    let valkey = match jobs
        .redis_url
        .as_deref()
        .map(aoc_ai::cache::ValkeyCache::new)
    {
        Some(Ok(cache)) => Some(Arc::new(cache.in_namespace(&jobs.key_namespace))),
        Some(Err(_)) => {
            tracing::error!("REDIS_URL cannot be read; caching answers in this process");
            None
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

/// The job queue: Valkey's when `REDIS_URL` is set (every process must then reach the same
/// Valkey, or their jobs would be split between queues), the store's own otherwise.
pub async fn job_queue(
    jobs: &JobsConfig,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Arc<dyn JobQueue>> {
    match jobs.redis_url.as_deref() {
        Some(url) => {
            let prefix = format!("{}aoc:{{jobs}}:", jobs.key_namespace);
            let queue = aoc_jobs::ValkeyJobQueue::connect_with_prefix(url, &prefix)
                .await
                // The error carries no URL: it may hold a password.
                .context("REDIS_URL: Valkey cannot be reached for the job queue")?;
            tracing::info!(queue = "valkey", "job queue ready");
            Ok(Arc::new(queue))
        }
        None => {
            tracing::info!(queue = store.engine(), "job queue ready (in the database)");
            Ok(Arc::clone(store) as Arc<dyn JobQueue>)
        }
    }
}
