//! The collector: runs every configured (tenant, source) for its next window, one process at a
//! time per source (a lease in the store), one tenant's failure never touching another's.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use futures_util::StreamExt;
use tokio::sync::Mutex;

use aoc_model::TenantId;
use aoc_store::{RunRecord, Store};

use super::cloud::Endpoints;
use super::graph::GraphSource;
use super::http::{HttpPolicy, MsHttp};
use super::identity::{AppBearer, Secret, TokenCache};
use super::management::{MAX_LOOKBACK, ManagementSource, Subscriptions};
use super::pacer::Pacer;
use super::run::{Progress, RunCtx, RunError, RunStatus, SourceRun};
use super::source::{SourceApi, SourceKind};
use super::subscriptions::GraphSubscriptions;
use super::tenants::TenantConfig;
use crate::telemetry;

/// How windows are chosen.
#[derive(Debug, Clone)]
pub struct CollectSettings {
    /// Each run starts this long before the watermark, so records that arrive late with an
    /// older time are still collected (their repeats die on the unique key).
    pub overlap: Duration,
    /// Each run stops this long before now: the newest records are still arriving.
    pub settle: Duration,
    /// How far back the first run of a source reaches.
    pub backfill: Duration,
    /// Graph `$top`.
    pub page_size: u32,
    /// How long a source stays locked to a process that stopped renewing (crashed).
    pub lease_ttl: Duration,
    /// (tenant, source) runs in flight at once.
    pub concurrency: usize,
}

impl Default for CollectSettings {
    fn default() -> Self {
        Self {
            overlap: Duration::from_secs(30 * 60),
            settle: Duration::from_secs(2 * 60),
            backfill: Duration::from_secs(24 * 3600),
            page_size: 1000,
            lease_ttl: Duration::from_secs(90),
            concurrency: 4,
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Fetch the last `hours` instead of from the watermark.
    pub hours: Option<u32>,
    /// Only this tenant.
    pub tenant: Option<TenantId>,
    /// Only these sources.
    pub sources: Option<Vec<SourceKind>>,
    /// End the window here instead of at now − settle (re-reading a past window).
    pub until: Option<DateTime<Utc>>,
}

pub struct Collector {
    store: Arc<dyn Store>,
    http: MsHttp,
    tokens: TokenCache,
    endpoints: Endpoints,
    settings: CollectSettings,
    tenants: Vec<TenantConfig>,
    holder: String,
    pacers: Mutex<HashMap<TenantId, Arc<Pacer>>>,
    subscriptions: Subscriptions,
}

impl Collector {
    /// `holder` names this process in leases (host and pid, say).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS setup).
    pub fn new(
        store: Arc<dyn Store>,
        endpoints: Endpoints,
        policy: HttpPolicy,
        settings: CollectSettings,
        tenants: Vec<TenantConfig>,
        holder: String,
    ) -> Result<Self, reqwest::Error> {
        let http = MsHttp::new(policy)?;
        Ok(Self {
            tokens: TokenCache::new(http.clone(), &endpoints),
            store,
            http,
            endpoints,
            settings,
            tenants,
            holder,
            pacers: Mutex::default(),
            subscriptions: Subscriptions::default(),
        })
    }

    pub fn tenants(&self) -> &[TenantConfig] {
        &self.tenants
    }

    pub fn settings(&self) -> &CollectSettings {
        &self.settings
    }

    /// A Graph subscription manager for this collector's tenants, sharing its HTTP client and
    /// tokens.
    pub fn graph_subscriptions(
        &self,
        notification_url: String,
        client_state: Secret,
    ) -> GraphSubscriptions {
        GraphSubscriptions::new(
            self.http.clone(),
            self.tokens.clone(),
            self.endpoints.clone(),
            self.tenants.clone(),
            notification_url,
            client_state,
        )
    }

    /// Runs every matching (tenant, source) once; returns one summary each, in tenant and
    /// source order.
    pub async fn run(&self, request: &RunRequest, progress: &dyn Progress) -> Vec<SourceRun> {
        let mut jobs = Vec::new();
        for tenant in &self.tenants {
            if request.tenant.as_ref().is_some_and(|t| t != &tenant.id) {
                continue;
            }
            for kind in &tenant.sources {
                if request
                    .sources
                    .as_ref()
                    .is_some_and(|only| !only.contains(kind))
                {
                    continue;
                }
                jobs.push((tenant, *kind));
            }
        }
        // Boxed as `Send` futures: a closure-built stream of borrowing futures defeats the
        // compiler's `Send` proof, and callers spawn this.
        let runs: Vec<Pin<Box<dyn Future<Output = SourceRun> + Send + '_>>> = jobs
            .into_iter()
            .map(|(tenant, kind)| {
                Box::pin(self.run_source(tenant, kind, request, progress))
                    as Pin<Box<dyn Future<Output = SourceRun> + Send + '_>>
            })
            .collect();
        let mut runs: Vec<SourceRun> = futures_util::stream::iter(runs)
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        runs.sort_by(|a, b| (&a.tenant_id, &a.source).cmp(&(&b.tenant_id, &b.source)));
        runs
    }

    async fn run_source(
        &self,
        tenant: &TenantConfig,
        kind: SourceKind,
        request: &RunRequest,
        progress: &dyn Progress,
    ) -> SourceRun {
        let started = Instant::now();
        let lease_name = format!("fetch:{}:{}", tenant.id, kind.name());
        let mut summary = SourceRun {
            tenant_id: tenant.id.clone(),
            source: kind.name().to_owned(),
            status: RunStatus::Ok,
            window_from: None,
            window_to: None,
            fetched: 0,
            new: 0,
            duplicate: 0,
            problem: None,
            duration_ms: 0,
        };
        let now = Utc::now();
        match self
            .store
            .try_acquire_lease(&lease_name, &self.holder, self.settings.lease_ttl)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                summary.status = RunStatus::Skipped;
                progress.finished(&summary);
                return summary;
            }
            Err(e) => {
                summary.status = RunStatus::Failed;
                summary.problem = Some(RunError::Store(e).to_problem(now));
                progress.finished(&summary);
                return summary;
            }
        }
        progress.started(&tenant.id, kind);
        let mut run = RunCtx {
            store: self.store.as_ref(),
            tenant,
            kind,
            progress,
            previous_watermark: None,
            fetched: 0,
            new: 0,
            duplicate: 0,
            problem: None,
        };
        // The lease is renewed beside the run, so a crashed process frees its sources within one
        // lease time while a slow page or a long backfill keeps them.
        let outcome = tokio::select! {
            outcome = self.collect(&mut run, request, &mut summary) => outcome,
            lost = self.keep_lease(&lease_name) => Err(lost),
        };
        let finished = Utc::now();
        summary.fetched = run.fetched;
        summary.new = run.new;
        summary.duplicate = run.duplicate;
        let record = match outcome {
            Ok(()) => {
                summary.problem = run.problem.clone();
                RunRecord::Succeeded {
                    at: finished,
                    fetched: run.fetched,
                    new: run.new,
                    problem: run.problem.clone(),
                }
            }
            Err(e) => {
                let problem = e.to_problem(finished);
                telemetry::RunFailed {
                    tenant: &tenant.id,
                    source: kind.name(),
                    problem: &problem,
                }
                .emit();
                summary.status = RunStatus::Failed;
                summary.problem = Some(problem.clone());
                RunRecord::Failed {
                    fetched: run.fetched,
                    new: run.new,
                    problem,
                }
            }
        };
        if let Err(e) = self
            .store
            .record_run(&tenant.id, kind.name(), &record)
            .await
        {
            tracing::warn!(tenant = %tenant.id, source = kind.name(), error = %e, "source health not recorded");
        }
        if let Err(e) = self.store.release_lease(&lease_name, &self.holder).await {
            tracing::warn!(lease = lease_name, error = %e, "lease not released; it expires by itself");
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        progress.finished(&summary);
        summary
    }

    /// Renews `lease` every third of its time; returns only when it is lost.
    async fn keep_lease(&self, lease: &str) -> RunError {
        let ttl = self.settings.lease_ttl;
        let mut tick = tokio::time::interval(ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.store.try_acquire_lease(lease, &self.holder, ttl).await {
                Ok(true) => {}
                Ok(false) => return RunError::LeaseLost,
                // The store is down: the run's own commits fail too; keep trying meanwhile.
                Err(e) => tracing::warn!(lease, error = %e, "lease not renewed"),
            }
        }
    }

    async fn collect(
        &self,
        run: &mut RunCtx<'_>,
        request: &RunRequest,
        summary: &mut SourceRun,
    ) -> Result<(), RunError> {
        let hours = request.hours;
        let (tenant, kind) = (run.tenant, run.kind);
        run.store
            .record_run(
                &tenant.id,
                kind.name(),
                &RunRecord::Started { at: Utc::now() },
            )
            .await?;
        let watermark = run.store.watermark(&tenant.id, kind.name()).await?;
        run.previous_watermark = watermark;
        let now = Utc::now()
            .duration_trunc(chrono::Duration::seconds(1))
            .unwrap_or_else(|_| Utc::now());
        let mut to = now - chrono_duration(self.settings.settle);
        if let Some(until) = request.until {
            to = to.min(until);
        }
        let mut from = match (hours, watermark) {
            (Some(h), _) => now - chrono::Duration::hours(i64::from(h)),
            (None, Some(wm)) => wm - chrono_duration(self.settings.overlap),
            (None, None) => now - chrono_duration(self.settings.backfill),
        };
        if matches!(kind, SourceKind::Management(_)) {
            from = from.max(now - MAX_LOOKBACK);
        }
        // A window that starts after the watermark leaves a gap before it: such a run (a short
        // manual fetch after downtime) must not move the watermark over the gap.
        let advance = watermark.is_none_or(|wm| from <= wm);
        summary.window_from = Some(from);
        summary.window_to = Some(to);
        if from >= to {
            return Ok(());
        }
        let bearer = |resource| AppBearer {
            cache: &self.tokens,
            app: &tenant.app,
            resource,
        };
        match kind.api() {
            SourceApi::Management(content_type) => {
                let (Some(base), Some(resource)) = (
                    self.endpoints.management.as_ref(),
                    self.endpoints.management_resource.as_deref(),
                ) else {
                    return Err(RunError::Call(super::error::CallError::Microsoft {
                        service: super::error::Service::Management,
                        status: 0,
                        code: Some("not_available".into()),
                        message: "Microsoft offers no Management Activity API in this cloud".into(),
                        request_id: None,
                    }));
                };
                ManagementSource {
                    http: &self.http,
                    root: ManagementSource::root(base, &tenant.id),
                    bearer: bearer(resource),
                    subscriptions: &self.subscriptions,
                    content_type,
                    publisher_id: &tenant.publisher_id,
                }
                .collect(run, from, to, advance)
                .await
            }
            SourceApi::Graph {
                collection,
                time_field,
            } => {
                let pacer = if kind.is_identity_report() {
                    Some(self.pacer(&tenant.id).await)
                } else {
                    None
                };
                GraphSource {
                    http: &self.http,
                    endpoints: &self.endpoints,
                    bearer: bearer(&self.endpoints.graph_resource),
                    pacer: pacer.as_deref(),
                    page_size: self.settings.page_size,
                    collection,
                    time_field,
                }
                .collect(run, from, to, advance)
                .await
            }
        }
    }

    async fn pacer(&self, tenant: &TenantId) -> Arc<Pacer> {
        self.pacers
            .lock()
            .await
            .entry(tenant.clone())
            .or_insert_with(|| Arc::new(Pacer::graph_reports()))
            .clone()
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// When the next scheduled run should start: `interval` ± 10 %, so replicas and tenants spread.
pub fn next_delay(interval: Duration) -> Duration {
    let spread = interval.as_secs_f64() * 0.1;
    let offset = (jitter_unit() * 2.0 - 1.0) * spread;
    Duration::from_secs_f64((interval.as_secs_f64() + offset).max(1.0))
}

fn jitter_unit() -> f64 {
    let nanos = Utc::now().timestamp_subsec_nanos();
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
