//! Source health and coverage: where each (tenant, source) stands, and how complete collection
//! was hour by hour. The source gauges of `/metrics` are set from here too.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use serde::Serialize;

use aoc_model::TenantId;
use aoc_store::{CoverageQuery, CoverageRow, SourceProblem, SourceState};

use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::filters::parse_time;
use crate::params::Params;
use crate::{Services, telemetry};

pub const COVERAGE_PARAMS: [&str; 4] = ["tenant", "source", "from", "to"];
/// Widest coverage range one request may ask for.
const MAX_COVERAGE_SPAN: TimeDelta = TimeDelta::days(31);
/// `/metrics` must answer even when the database does not.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorView {
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    pub code: Option<String>,
    pub message: String,
}

impl From<&SourceProblem> for ErrorView {
    fn from(p: &SourceProblem) -> Self {
        Self {
            at: rfc3339(p.at),
            code: p.code.clone(),
            message: p.message.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastRun {
    pub fetched: u64,
    pub new: u64,
}

/// How a source stands, judged from its health record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// The last finished run succeeded.
    Ok,
    /// The last finished run failed (its error is newer than the last success, or it never
    /// succeeded).
    Error,
    /// Never attempted.
    NeverRun,
    /// The first run started and has not finished (or was cut off before it could say).
    Running,
}

impl SourceStatus {
    pub fn of(state: Option<&SourceState>) -> Self {
        let Some(state) = state else {
            return Self::NeverRun;
        };
        match (state.last_success, state.last_error.as_ref()) {
            (_, Some(error)) if state.last_success.is_none_or(|ok| error.at > ok) => Self::Error,
            (Some(_), _) => Self::Ok,
            (None, _) if state.last_attempt.is_some() => Self::Running,
            (None, _) => Self::NeverRun,
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceEntry {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub source: String,
    pub configured: bool,
    pub status: SourceStatus,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub watermark: Option<String>,
    pub lag_seconds: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_attempt: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_success: Option<String>,
    pub last_error: Option<ErrorView>,
    /// `null` until a run has finished.
    pub last_run: Option<LastRun>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourcesPage {
    pub sources: Vec<SourceEntry>,
}

impl Services {
    /// Every configured (tenant, source) and every one with a stored state.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn list_sources(&self, caller: &Caller) -> ServiceResult<SourcesPage> {
        caller.require(Role::Reader)?;
        Ok(SourcesPage {
            sources: self.source_entries().await?,
        })
    }

    /// Collection figures per (tenant, source, hour), and their totals.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn coverage(
        &self,
        caller: &Caller,
        query: &CoverageQuery,
    ) -> ServiceResult<CoveragePage> {
        caller.require(Role::Reader)?;
        let hours = self.store.coverage(query).await?;
        let mut totals = CoverageTotals::default();
        for row in &hours {
            totals.records_fetched += row.records_fetched;
            totals.records_stored += row.records_stored;
            totals.content_listed += row.content_listed;
            totals.content_fetched += row.content_fetched;
            totals.content_expired += row.content_expired;
        }
        Ok(CoveragePage {
            from: query.from.map(rfc3339).unwrap_or_default(),
            to: query.to.map(rfc3339).unwrap_or_default(),
            hours,
            totals,
        })
    }

    /// Every configured (tenant, source) and every one with a stored state, ordered by tenant and
    /// source; sets the source gauges of `/metrics` on the way. One `source_states` call.
    async fn source_entries(&self) -> ServiceResult<Vec<SourceEntry>> {
        struct Merged {
            tenant_name: Option<String>,
            configured: bool,
            state: Option<SourceState>,
        }
        let mut merged: BTreeMap<(String, String), Merged> = BTreeMap::new();
        if let Some(collection) = &self.collection {
            for tenant in collection.tenants() {
                for kind in &tenant.sources {
                    merged.insert(
                        (tenant.id.as_str().to_owned(), kind.name().to_owned()),
                        Merged {
                            tenant_name: tenant.name.clone(),
                            configured: true,
                            state: None,
                        },
                    );
                }
            }
        }
        for stored in self.store.source_states().await? {
            let key = (stored.tenant_id.as_str().to_owned(), stored.source.clone());
            merged
                .entry(key)
                .or_insert(Merged {
                    tenant_name: None,
                    configured: false,
                    state: None,
                })
                .state = Some(stored);
        }
        // Configured tenants name tenants that have stopped being configured too.
        let names: BTreeMap<String, String> = self
            .collection
            .iter()
            .flat_map(|c| c.tenants())
            .filter_map(|t| Some((t.id.as_str().to_owned(), t.name.clone()?)))
            .collect();

        let now = Utc::now();
        let entries = merged
            .into_iter()
            .map(|((tenant_id, source), m)| {
                let s = m.state.as_ref();
                let status = SourceStatus::of(s);
                let watermark = s.and_then(|s| s.watermark);
                let lag_seconds = watermark.map(|w| (now - w).num_seconds().max(0));
                let finished = s.filter(|s| s.last_success.is_some() || s.last_error.is_some());
                let entry = SourceEntry {
                    tenant_name: m.tenant_name.or_else(|| names.get(&tenant_id).cloned()),
                    configured: m.configured,
                    status,
                    watermark: watermark.map(rfc3339),
                    lag_seconds,
                    last_attempt: s.and_then(|s| s.last_attempt).map(rfc3339),
                    last_success: s.and_then(|s| s.last_success).map(rfc3339),
                    last_error: s.and_then(|s| s.last_error.as_ref()).map(ErrorView::from),
                    last_run: finished.map(|s| LastRun {
                        fetched: s.last_run_fetched,
                        new: s.last_run_new,
                    }),
                    tenant_id,
                    source,
                };
                telemetry::source_gauges(&entry, s);
                entry
            })
            .collect();
        Ok(entries)
    }

    /// Brings the source gauges up to date before `/metrics` renders them. A store that does not
    /// answer in time leaves them as they were: the scrape still succeeds.
    pub async fn refresh_source_gauges(&self) {
        match tokio::time::timeout(SCRAPE_TIMEOUT, self.source_entries()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "source gauges not refreshed"),
            Err(_) => {
                tracing::debug!("source gauges not refreshed: the store did not answer in time")
            }
        }
    }
}

#[derive(Debug, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageTotals {
    pub records_fetched: u64,
    pub records_stored: u64,
    pub content_listed: u64,
    pub content_fetched: u64,
    pub content_expired: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoveragePage {
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub to: String,
    pub hours: Vec<CoverageRow>,
    pub totals: CoverageTotals,
}

/// Builds the store query, naming the parameter at fault. Without a range: the 24 hours up to
/// the end of the current one.
pub fn coverage_query(p: &Params, now: DateTime<Utc>) -> ServiceResult<CoverageQuery> {
    let tenant = p.parsed("tenant", |v| {
        uuid::Uuid::parse_str(v.trim())
            .map(|u| TenantId::new(u.hyphenated().to_string()))
            .map_err(|_| "expected a tenant id (a GUID)".to_owned())
    })?;
    let from = p.parsed("from", parse_time)?;
    let to = p.parsed("to", parse_time)?;
    let day = TimeDelta::hours(24);
    let (from, to) = match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, now),
        (None, Some(to)) => (to - day, to),
        (None, None) => {
            let next_hour = now
                .duration_trunc(TimeDelta::hours(1))
                .map_or(now, |h| h + TimeDelta::hours(1));
            (next_hour - day, next_hour)
        }
    };
    if from >= to {
        return Err(ServiceError::invalid("from", "must be before to"));
    }
    if to - from > MAX_COVERAGE_SPAN {
        return Err(ServiceError::invalid(
            "from",
            "from and to may be at most 31 days apart",
        ));
    }
    Ok(CoverageQuery {
        tenant,
        source: p.text("source")?,
        from: Some(from),
        to: Some(to),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn state(attempt: Option<&str>, success: Option<&str>, error: Option<&str>) -> SourceState {
        SourceState {
            tenant_id: TenantId::new("t"),
            source: "graph.sign_ins".into(),
            watermark: None,
            last_attempt: attempt.map(at),
            last_success: success.map(at),
            last_error: error.map(|e| SourceProblem {
                at: at(e),
                code: None,
                message: "m".into(),
            }),
            last_run_fetched: 0,
            last_run_new: 0,
        }
    }

    #[test]
    fn status_follows_the_newest_outcome() {
        let t1 = Some("2025-03-01T10:00:00Z");
        let t2 = Some("2025-03-01T11:00:00Z");
        assert_eq!(SourceStatus::of(None), SourceStatus::NeverRun);
        assert_eq!(
            SourceStatus::of(Some(&state(None, None, None))),
            SourceStatus::NeverRun
        );
        assert_eq!(
            SourceStatus::of(Some(&state(t1, None, None))),
            SourceStatus::Running
        );
        assert_eq!(
            SourceStatus::of(Some(&state(t1, t1, None))),
            SourceStatus::Ok
        );
        assert_eq!(SourceStatus::of(Some(&state(t2, t2, t1))), SourceStatus::Ok);
        assert_eq!(
            SourceStatus::of(Some(&state(t2, t1, t2))),
            SourceStatus::Error
        );
        assert_eq!(
            SourceStatus::of(Some(&state(t2, None, t2))),
            SourceStatus::Error
        );
        // A success that reported a skipped blob at the same instant is still a success.
        assert_eq!(SourceStatus::of(Some(&state(t2, t2, t2))), SourceStatus::Ok);
    }

    #[test]
    fn coverage_defaults_to_the_last_24_hours_on_hour_bounds() {
        let now = at("2025-03-01T10:37:12Z");
        let q = coverage_query(&Params::default(), now).expect("valid");
        assert_eq!(q.from, Some(at("2025-02-28T11:00:00Z")));
        assert_eq!(q.to, Some(at("2025-03-01T11:00:00Z")));
        let q = coverage_query(
            &Params::parse(Some("to=2025-03-01"), &COVERAGE_PARAMS).expect("params"),
            now,
        )
        .expect("valid");
        assert_eq!(q.from, Some(at("2025-02-28T00:00:00Z")));
        let q = coverage_query(
            &Params::parse(Some("from=2025-03-01T09:00:00%2B01:00"), &COVERAGE_PARAMS)
                .expect("params"),
            now,
        )
        .expect("valid");
        assert_eq!(q.from, Some(at("2025-03-01T08:00:00Z")));
        assert_eq!(q.to, Some(now));
    }
}
