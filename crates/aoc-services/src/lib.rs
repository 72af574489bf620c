//! AOC's use cases, under every door.
//!
//! The HTTP routes, `aoc worker`'s job handlers and (later) the MCP server, the rule engine
//! and the sinks all reach AOC's data through [`Services`]: search, get, aggregate, export,
//! annotate, ask, explain, fetch now, read the audit trail, source health. Each use case takes
//! the [`Caller`] (identity, roles, tenant scope), checks the role it needs and any ownership
//! itself, and returns typed results or a [`ServiceError`] — so a rule enforced for one door
//! holds for all of them. A door only turns its input into a call and the result into its
//! answer; it writes the audit trail through [`audit::AuditTrail`].
//!
//! | use case | module | role |
//! | --- | --- | --- |
//! | search, get, aggregate events; list tags | [`events`] | Reader |
//! | export events | [`export`] | Analyst |
//! | tag, comment (edit/delete: author or Admin) | [`annotations`] | Analyst |
//! | ask (now or as a job), explain | [`ask`], [`explain`] | Analyst |
//! | read a job (its owner or an Admin) | [`jobs`] | Reader |
//! | source health and coverage | [`sources`] | Reader |
//! | fetch now | [`fetch`] | Admin |
//! | read the audit trail | [`audit_trail`] | Admin |

pub mod annotations;
pub mod ask;
pub mod audit;
pub mod audit_trail;
pub mod caller;
pub mod error;
pub mod events;
pub mod explain;
pub mod export;
pub mod fetch;
pub mod filters;
pub mod health;
pub mod jobs;
mod model_calls;
pub mod params;
pub mod query_cache;
pub mod saved_searches;
pub mod sources;
pub mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use aoc_ai::Assistant;
use aoc_sources::m365::Collector;
use aoc_store::{JobQueue, Store};

pub use audit::{AuditDetails, AuditTrail, CallContext};
pub use caller::{Caller, Role, TenantScope};
pub use error::{ServiceError, ServiceResult};
pub use params::Params;

/// The limits the use cases keep.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Most rows one export returns.
    pub export_max_rows: u64,
    /// How long a job and its result are kept (from its enqueueing, and again from its end).
    pub job_keep: Duration,
    /// How many workers may take a job in turn (a worker dying mid-job counts) before it fails.
    pub job_max_attempts: u32,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            export_max_rows: 1_000_000,
            job_keep: Duration::from_secs(24 * 3600),
            job_max_attempts: 3,
        }
    }
}

/// Everything the use cases reach. Built once per process; cheap to share behind an `Arc`.
pub struct Services {
    store: Arc<dyn Store>,
    /// The job queue: Valkey's when `REDIS_URL` is set, else the store's own.
    jobs: Arc<dyn JobQueue>,
    /// The AI features; `None` switches ask and explain off.
    ai: Option<Arc<Assistant>>,
    /// The Microsoft 365 collector, when tenants are configured.
    collection: Option<Arc<Collector>>,
    settings: ServiceSettings,
    audit: Arc<AuditTrail>,
    /// Answers to searches and figures, until the data changes.
    query_cache: Arc<query_cache::QueryCache>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, jobs: Arc<dyn JobQueue>, settings: ServiceSettings) -> Self {
        Self {
            audit: Arc::new(AuditTrail::new(Arc::clone(&store))),
            store,
            jobs,
            ai: None,
            collection: None,
            settings,
            query_cache: Arc::new(query_cache::QueryCache::default()),
        }
    }

    /// With this query cache (one per process; with Valkey's tier when `REDIS_URL` is set).
    #[must_use]
    pub fn with_query_cache(mut self, cache: Arc<query_cache::QueryCache>) -> Self {
        self.query_cache = cache;
        self
    }

    /// With the AI features (ask, explain).
    #[must_use]
    pub fn with_ai(mut self, ai: Option<Arc<Assistant>>) -> Self {
        self.ai = ai;
        self
    }

    /// With collection from Microsoft 365 (source list, fetch now).
    #[must_use]
    pub fn with_collection(mut self, collection: Option<Arc<Collector>>) -> Self {
        self.collection = collection;
        self
    }

    /// The audit trail every door writes through.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// Whether ask and explain are on.
    pub fn ai_enabled(&self) -> bool {
        self.ai.is_some()
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The AI features, or the refusal that says they are off.
    fn assistant(&self) -> ServiceResult<&Arc<Assistant>> {
        self.ai.as_ref().ok_or(ServiceError::Disabled(
            "the AI features are off on this server (AI_FEATURES_ENABLED)",
        ))
    }
}
