//! Microsoft 365 collectors: the identity client, the one HTTP policy of every Microsoft call,
//! the Graph and Management Activity API sources, and the collector that runs them per tenant
//! under a lease, moving each source's watermark only with the events it covers.

mod cloud;
mod collector;
mod error;
mod graph;
mod http;
mod identity;
mod management;
mod pacer;
mod run;
mod source;
mod subscriptions;
mod tenants;

pub use cloud::{AzureCloud, Endpoints};
pub use collector::{CollectSettings, Collector, RunRequest, next_delay};
pub use error::{CallError, Service};
pub use http::HttpPolicy;
pub use identity::{AppIdentity, AssertionStyle, Certificate, Credential, Secret};
pub use management::MAX_LOOKBACK;
pub use run::{NoProgress, Progress, RunStatus, SourceRun};
pub use source::{ContentType, SourceApi, SourceKind};
pub use subscriptions::{GraphSubscriptions, SubscriptionOutcome};
pub use tenants::{
    CredentialSource, TenantConfig, TenantConfigError, load_tenants_file, parse_sources,
    parse_tenant_id, parse_tenants,
};
