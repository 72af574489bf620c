//! The command line. Each setting is a flag and an environment variable (a `.env` file is read
//! too); values are checked in `config`, which names the variable at fault.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aoc",
    version,
    about = "Admin Operations Center: who did what in your Microsoft 365 tenant"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct GlobalArgs {
    /// Where events are stored: sqlite://PATH (embedded, created on first start) or postgres://…
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://aoc.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// A PostgreSQL streaming replica of DATABASE_URL that answers searches, figures and exports
    /// (`aoc serve`, `aoc worker`); writes, and reads of what was just written, stay on the primary
    #[arg(long, global = true, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,

    /// Log format: json, text, or auto (text on a terminal, JSON lines otherwise)
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "auto")]
    pub log_format: String,
}

// Parsed once at start-up: the size of the largest subcommand's arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and apply migrations and retention)
    Serve(ServeArgs),
    /// Apply database schema migrations and exit
    Migrate,
    /// Import audit records from files: NDJSON, JSON array, Graph page or Purview CSV export
    Import(ImportArgs),
    /// Remove duplicate events left by older versions or other paths, and print how many
    Dedupe(DedupeArgs),
    /// Collect from Microsoft 365 once (each source from its watermark, or the last N hours)
    Fetch(FetchArgs),
    /// Run the Microsoft 365 simulator: token endpoint, Graph audit logs and Management Activity API
    Simulate(SimulateArgs),
    /// Run queued jobs (questions asked with "async": true) beside `aoc serve`; start as many as needed
    Worker(WorkerArgs),
}

/// Where and how to collect from Microsoft 365. One tenant from TENANT_ID / CLIENT_ID /
/// CLIENT_SECRET (or CLIENT_CERTIFICATE_PATH), or several from AOC_TENANTS_FILE.
#[derive(Args, Clone, Default)]
pub struct CollectArgs {
    /// Tenant (directory) id to collect from, a GUID
    #[arg(long, env = "TENANT_ID")]
    pub tenant_id: Option<String>,

    /// Application (client) id of AOC's app registration
    #[arg(long, env = "CLIENT_ID")]
    pub client_id: Option<String>,

    /// Client secret of the app registration
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// PEM file with the app's certificate and its private key (instead of a secret)
    #[arg(long, env = "CLIENT_CERTIFICATE_PATH")]
    pub client_certificate_path: Option<PathBuf>,

    /// TOML file listing several tenants (see README: Connect your tenant)
    #[arg(long, env = "AOC_TENANTS_FILE")]
    pub tenants_file: Option<PathBuf>,

    /// Sources to collect, comma-separated (default: all), e.g. graph.sign_ins,o365.Audit.Exchange
    #[arg(long, env = "AOC_SOURCES")]
    pub sources: Option<String>,

    /// Microsoft cloud: public, usgov, usgovdod or china
    #[arg(long, env = "AZURE_CLOUD", default_value = "public")]
    pub azure_cloud: String,

    /// Token endpoint base URL (default: the cloud's)
    #[arg(long, env = "LOGIN_BASE_URL")]
    pub login_base_url: Option<String>,

    /// Microsoft Graph base URL (default: the cloud's)
    #[arg(long, env = "GRAPH_BASE_URL")]
    pub graph_base_url: Option<String>,

    /// Office 365 Management Activity API base URL (default: the cloud's)
    #[arg(long, env = "MANAGEMENT_BASE_URL")]
    pub management_base_url: Option<String>,

    /// PublisherIdentifier sent to the Management API (default: the tenant id)
    #[arg(long, env = "PUBLISHER_IDENTIFIER")]
    pub publisher_id: Option<String>,

    /// Hours the first run of a source reaches back (Management API: at most 167)
    #[arg(long, env = "BACKFILL_HOURS", default_value = "24")]
    pub backfill_hours: String,

    /// Minutes each run re-reads before the watermark, for records that arrive late
    #[arg(long, env = "FETCH_OVERLAP_MINUTES", default_value = "30")]
    pub overlap_minutes: String,

    /// Minutes before now where each run stops, while the newest records still arrive
    #[arg(long, env = "FETCH_SETTLE_MINUTES", default_value = "2")]
    pub settle_minutes: String,

    /// Seconds a source stays locked to an AOC process that stopped (crashed) mid-run
    #[arg(long, env = "FETCH_LEASE_SECONDS", default_value = "90")]
    pub lease_seconds: String,

    /// Seconds a Microsoft request may take, body included
    #[arg(long, env = "HTTP_TIMEOUT_SECONDS", default_value = "60")]
    pub http_timeout_seconds: String,

    /// Attempts per Microsoft request before a run gives up (retries on throttling and errors)
    #[arg(long, env = "HTTP_MAX_ATTEMPTS", default_value = "6")]
    pub http_max_attempts: String,
}

#[derive(Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub collect: CollectArgs,

    /// Fetch the last N hours (1-168) instead of each source's window from its watermark
    #[arg(long)]
    pub hours: Option<String>,

    /// Print the per-source summary as one JSON object on standard output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Address and port to listen on
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,

    /// Seed of the synthetic tenants: the same seed gives the same data
    #[arg(long, default_value = "1")]
    pub seed: String,

    /// Share of requests that fail, 0-1
    #[arg(long, default_value = "0")]
    pub faults: String,

    /// Fault kinds, comma-separated: throttle, server_error, slow, truncated, expired, duplicate, late (default: all)
    #[arg(long)]
    pub fault_kinds: Option<String>,

    /// Client secret the token endpoint requires (default: any credentials are accepted)
    #[arg(long, hide_env_values = true)]
    pub client_secret: Option<String>,

    /// Records per hour per tenant, all sources together
    #[arg(long, default_value = "120")]
    pub records_per_hour: String,

    /// Send Graph change notifications for new directory changes to this URL
    #[arg(long)]
    pub notify_url: Option<String>,

    /// clientState carried by those notifications
    #[arg(long, hide_env_values = true)]
    pub notify_client_state: Option<String>,

    /// Tenant those notifications are about
    #[arg(long)]
    pub notify_tenant: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on
    #[arg(long, env = "AOC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Comma-separated origins allowed to call the API from a browser (`*` for any, without credentials)
    #[arg(long, env = "CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// Days to keep events; older ones are deleted every hour
    #[arg(long, env = "RETENTION_DAYS", default_value = "90")]
    pub retention_days: String,

    /// Days to keep AOC's own audit trail (who searched, exported, tagged…)
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value = "365")]
    pub audit_retention_days: String,

    /// Most rows one export returns
    #[arg(long, env = "EXPORT_MAX_ROWS", default_value = "1000000")]
    pub export_max_rows: String,

    /// Requests per caller and minute on the expensive routes (export, aggregations); 0 turns the limit off
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value = "60")]
    pub rate_limit_per_minute: String,

    /// Import the bundled sample tenant's records before serving, so the API shows events at once
    #[arg(long)]
    pub sample: bool,

    /// Run the Microsoft 365 simulator in-process and collect from it: a live demo tenant, no setup
    #[arg(long)]
    pub demo: bool,

    /// Seconds between collection runs (each run jittered by 10 %)
    #[arg(long, env = "FETCH_INTERVAL_SECONDS", default_value = "300")]
    pub fetch_interval_seconds: String,

    /// Shared secret Graph change notifications must carry (enables POST /api/webhooks/graph)
    #[arg(long, env = "WEBHOOK_CLIENT_STATE", hide_env_values = true)]
    pub webhook_client_state: Option<String>,

    /// Public HTTPS URL of this AOC; when set, AOC subscribes to Graph change notifications
    #[arg(long, env = "WEBHOOK_PUBLIC_URL")]
    pub webhook_public_url: Option<String>,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub ai: AiArgs,

    #[command(flatten)]
    pub jobs: JobArgs,

    #[command(flatten)]
    pub collect: CollectArgs,
}

#[derive(Args)]
pub struct WorkerArgs {
    /// Serve this worker's Prometheus metrics (jobs run, retried, timings, queue depth) at
    /// http://ADDRESS:PORT/metrics, e.g. 0.0.0.0:9465 (default: none)
    #[arg(long, env = "WORKER_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    #[command(flatten)]
    pub ai: AiArgs,

    #[command(flatten)]
    pub jobs: JobArgs,
}

/// Valkey, the job queue and its workers. Without REDIS_URL the queue lives in the database and
/// the answer cache in each process.
#[derive(Args, Clone)]
pub struct JobArgs {
    /// Valkey/Redis for the job queue and the answer cache, e.g. redis://127.0.0.1:6379 (default: the database and in-process)
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Put before every Valkey key, so several AOC deployments can share one Valkey, e.g. prod-eu
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "")]
    pub redis_key_prefix: String,

    /// Jobs this process runs at once (1 – 64); 0 in `aoc serve` leaves them to `aoc worker` processes
    #[arg(long, env = "WORKER_CONCURRENCY", default_value = "2")]
    pub worker_concurrency: String,

    /// How long a job and its result are kept after it ends, in seconds (60 – 2592000)
    #[arg(long, env = "JOB_RESULT_SECONDS", default_value = "86400")]
    pub job_result_seconds: String,

    /// How long a job may run before it is failed, in seconds (10 – 86400)
    #[arg(long, env = "JOB_TIMEOUT_SECONDS", default_value = "300")]
    pub job_timeout_seconds: String,

    /// How long a worker holds a job without renewing; a stopped worker's job is retried after it (2 – 600 s)
    #[arg(long, env = "JOB_LEASE_SECONDS", default_value = "30")]
    pub job_lease_seconds: String,

    /// How many workers may take a job in turn before it is failed (1 – 10)
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value = "3")]
    pub job_max_attempts: String,
}

impl Default for JobArgs {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_key_prefix: String::new(),
            worker_concurrency: "2".into(),
            job_result_seconds: "86400".into(),
            job_timeout_seconds: "300".into(),
            job_lease_seconds: "30".into(),
            job_max_attempts: "3".into(),
        }
    }
}

/// The AI features (ask): off unless AI_FEATURES_ENABLED is true. Without LLM_PROVIDER they
/// answer with AOC's own parser and summaries.
#[derive(Args, Clone, Default)]
pub struct AiArgs {
    /// Turn the AI features on: true or false (default: false)
    #[arg(long, env = "AI_FEATURES_ENABLED")]
    pub ai_features_enabled: Option<String>,

    /// The language model's API: openai (also Ollama, vLLM, LM Studio), azure-openai, anthropic, or none
    #[arg(long, env = "LLM_PROVIDER")]
    pub llm_provider: Option<String>,

    /// The model API's base address (default: OpenAI's or Anthropic's; required for Azure OpenAI)
    #[arg(long, env = "LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// The model API's key; never printed or logged
    #[arg(long, env = "LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,

    /// The model, e.g. gpt-4o-mini, llama3.1, claude-sonnet-4-5
    #[arg(long, env = "LLM_MODEL")]
    pub llm_model: Option<String>,

    /// The most one model call may take, in seconds (1 – 600)
    #[arg(long, env = "LLM_TIMEOUT_SECONDS", default_value = "30")]
    pub llm_timeout_seconds: String,

    /// Azure OpenAI: the deployment to call
    #[arg(long, env = "AZURE_OPENAI_DEPLOYMENT")]
    pub azure_openai_deployment: Option<String>,

    /// Azure OpenAI: the API version
    #[arg(long, env = "AZURE_OPENAI_API_VERSION", default_value = "2024-10-21")]
    pub azure_openai_api_version: String,

    /// Model tokens each caller may spend per UTC day; then AOC's parser and summaries answer (0: no limit)
    #[arg(long, env = "LLM_DAILY_TOKENS_PER_USER", default_value = "200000")]
    pub llm_daily_tokens_per_user: String,

    /// How long an answer is served from the cache, in seconds (1 – 604800)
    #[arg(long, env = "ASK_CACHE_SECONDS", default_value = "3600")]
    pub ask_cache_seconds: String,

    /// How long an event's explanation is served from the cache, in seconds (1 – 604800)
    #[arg(long, env = "EXPLAIN_CACHE_SECONDS", default_value = "86400")]
    pub explain_cache_seconds: String,
}

/// Sign-in with Entra ID for the API. Without AUTH_ENABLED, AUTH_TENANT_ID and AUTH_AUDIENCE,
/// and on a loopback address, `aoc serve` runs in local mode: no sign-in, every caller an Admin.
#[derive(Args, Clone, Default)]
pub struct AuthArgs {
    /// Require sign-in with Entra ID: true or false (default: true, except in local mode)
    #[arg(long, env = "AUTH_ENABLED")]
    pub auth_enabled: Option<String>,

    /// Entra ID sign-in host; a sovereign cloud's, e.g. https://login.microsoftonline.us
    #[arg(
        long,
        env = "AUTH_AUTHORITY",
        default_value = "https://login.microsoftonline.com"
    )]
    pub auth_authority: String,

    /// Tenant (directory) id whose users and apps may sign in, a GUID
    #[arg(long, env = "AUTH_TENANT_ID")]
    pub auth_tenant_id: Option<String>,

    /// Accepted token audiences, comma-separated: AOC's application (client) id and/or App ID URI
    #[arg(long, env = "AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,

    /// App role value that makes a caller a Reader
    #[arg(long, env = "AUTH_ROLE_READER", default_value = "AOC.Reader")]
    pub auth_role_reader: String,

    /// App role value that makes a caller an Analyst
    #[arg(long, env = "AUTH_ROLE_ANALYST", default_value = "AOC.Analyst")]
    pub auth_role_analyst: String,

    /// App role value that makes a caller an Admin
    #[arg(long, env = "AUTH_ROLE_ADMIN", default_value = "AOC.Admin")]
    pub auth_role_admin: String,

    /// The web dashboard's application (client) id, when it is not the API's own registration
    #[arg(long, env = "AUTH_WEB_CLIENT_ID")]
    pub auth_web_client_id: Option<String>,

    /// Scopes the web dashboard asks for, comma-separated (default: the API's `/.default`)
    #[arg(long, env = "AUTH_WEB_SCOPES")]
    pub auth_web_scopes: Option<String>,

    /// Serve without sign-in on any address: whoever reaches AOC is an Admin (logs a warning at every start)
    #[arg(long)]
    pub insecure_no_auth: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Files to import
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// File format: ndjson, json, graph or csv (detected when not given)
    #[arg(long)]
    pub format: Option<String>,

    /// Tenant the records belong to (otherwise read from each record)
    #[arg(long)]
    pub tenant: Option<String>,

    /// Print the report as one JSON object on standard output
    #[arg(long)]
    pub json: bool,

    /// Days imported events are kept, counted from the import (the server's retention setting)
    #[arg(long, env = "RETENTION_DAYS", default_value = "90")]
    pub retention_days: String,
}

#[derive(Args)]
pub struct DedupeArgs {
    /// Count the duplicates without removing them
    #[arg(long)]
    pub dry_run: bool,
    /// Memory for the keys of one pass, in MiB: more events than fit are split into passes
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub memory_mb: u64,
    /// Split the work into exactly this many passes over the events (instead of --memory-mb)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub passes: Option<u64>,
}
