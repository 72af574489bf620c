//! AOC's HTTP API (axum): `/health`, `/metrics`, the JSON routes under `/api`, and the Graph
//! change-notification webhook.
//!
//! A handler parses its input, calls one use case of [`aoc_services::Services`] with the
//! signed-in caller, and shapes the answer; it holds no SQL and no business rule, and no route
//! imports another. The services check roles and ownership themselves; the router's role gates
//! answer early with the same rules. Every error leaves as `application/problem+json` (RFC 9457), mapped once
//! in [`error`]. Every request carries an `X-Request-ID` and is logged and measured once, in
//! [`telemetry`]. Every `/api` route but the Graph webhook needs a signed-in caller with the
//! route's role ([`auth`]), unless sign-in is off. Every route is described in the OpenAPI 3.1
//! document served at `/openapi.json` (and browsable at `/docs`), generated from the handlers
//! ([`openapi`]). Every other path serves the web dashboard ([`ui`]).

pub mod audit;
pub mod auth;
mod compressed;
pub mod error;
pub mod openapi;
mod params;
pub mod ratelimit;
mod router;
mod routes;
mod telemetry;
pub mod ui;
pub mod webhook;

use std::sync::Arc;

use aoc_services::{ServiceSettings, Services};
use aoc_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

pub use router::router;
pub use telemetry::{RequestId, describe as describe_metrics};
pub use webhook::{GraphWebhook, WebhookSignal};

#[cfg(test)]
mod tests;

/// How the HTTP layer behaves; built by the binary from its configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Origins allowed by CORS. Empty: same origin only. `*`: any origin, never with credentials.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most rows one export returns.
    pub export_max_rows: u64,
    /// Requests per caller and minute on the expensive routes (export, aggregations); 0: no limit.
    pub expensive_per_minute: u32,
    /// How long a job and its result are kept (from its enqueueing, and again from its end).
    pub job_keep: std::time::Duration,
    /// How many workers may take a job in turn (a worker dying mid-job counts) before it fails.
    pub job_max_attempts: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            export_max_rows: 1_000_000,
            expensive_per_minute: 60,
            job_keep: std::time::Duration::from_secs(24 * 3600),
            job_max_attempts: 3,
        }
    }
}

/// What the HTTP API is built from (see [`router`]).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: PrometheusHandle,
    pub settings: Arc<ApiSettings>,
    /// The Microsoft 365 collector, when tenants are configured: lists configured sources and
    /// serves `POST /api/fetch-audit-logs`. `None` answers that route with 409.
    pub collection: Option<Arc<aoc_sources::m365::Collector>>,
    /// Graph change notifications, when a `clientState` is configured. `None` switches
    /// `POST /api/webhooks/graph` off (404).
    pub webhook: Option<Arc<GraphWebhook>>,
    /// Sign-in with Entra ID. `None` switches it off: every caller is [`aoc_services::Caller::local`]
    /// (the binary allows that only on a loopback bind or when told it is insecure).
    pub auth: Option<Arc<auth::Authenticator>>,
    /// The AI features (ask). `None` switches them off: their routes answer 404.
    pub ai: Option<Arc<aoc_ai::Assistant>>,
    /// The job queue: Valkey's when `REDIS_URL` is set, else the store's own.
    pub jobs: Arc<dyn aoc_store::JobQueue>,
    /// Answers to searches and figures until the data changes: in process, and in Valkey too
    /// when `REDIS_URL` is set.
    pub query_cache: Arc<aoc_services::query_cache::QueryCache>,
}

impl AppState {
    /// The use cases over this state's store, queue, AI features and collector.
    pub fn services(&self) -> Services {
        Services::new(
            Arc::clone(&self.store),
            Arc::clone(&self.jobs),
            ServiceSettings {
                export_max_rows: self.settings.export_max_rows,
                job_keep: self.settings.job_keep,
                job_max_attempts: self.settings.job_max_attempts,
            },
        )
        .with_ai(self.ai.clone())
        .with_collection(self.collection.clone())
        .with_query_cache(Arc::clone(&self.query_cache))
    }
}

/// What every handler can reach: the use cases, and the HTTP door's own parts. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub(crate) services: Arc<Services>,
    pub(crate) metrics: PrometheusHandle,
    pub(crate) settings: Arc<ApiSettings>,
    pub(crate) webhook: Option<Arc<GraphWebhook>>,
    pub(crate) auth: Option<Arc<auth::Authenticator>>,
}

impl From<AppState> for Api {
    fn from(state: AppState) -> Self {
        Self {
            services: Arc::new(state.services()),
            metrics: state.metrics,
            settings: state.settings,
            webhook: state.webhook,
            auth: state.auth,
        }
    }
}
