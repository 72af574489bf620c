//! Operator and test endpoints under `/_simulator/`.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration as ChronoDuration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::{FaultKind, Faults, TenantBehaviour};
use crate::graph::parse_literal;
use crate::profile::tenant_id;
use crate::state::{Inner, lock};

/// Longest window `/_simulator/events` answers.
const MAX_EVENTS_DAYS: i64 = 31;

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    tenant: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /_simulator/events?tenant=&from=&to=`: the ground truth as NDJSON.
pub(crate) async fn events(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let (Some(tenant), Some(from), Some(to)) = (query.tenant, query.from, query.to) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "tenant, from and to are required (from/to: RFC 3339 or YYYY-MM-DD)",
        );
    };
    let (Some(from_t), Some(to_t)) = (parse_literal(&from), parse_literal(&to)) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "from and to must be RFC 3339 date-times or YYYY-MM-DD dates",
        );
    };
    if to_t - from_t > ChronoDuration::days(MAX_EVENTS_DAYS) {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("the window may span at most {MAX_EVENTS_DAYS} days"),
        );
    }
    let tid = tenant_id(&tenant);
    let records = inner.data.ground_truth(&tid, from_t, to_t);
    let mut body = String::with_capacity(records.iter().map(|r| r.json.len() + 1).sum());
    for r in &records {
        body.push_str(&r.json);
        body.push('\n');
    }
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// `GET /_simulator/stats`.
pub(crate) async fn stats(State(inner): State<Arc<Inner>>) -> Response {
    Json(lock(&inner.stats).clone()).into_response()
}

/// `GET /_simulator/tenants/{tenant}`.
pub(crate) async fn get_tenant(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
) -> Response {
    let tid = tenant_id(&tenant);
    let profile = inner.data.profile(&tid);
    Json(json!({
        "tenantId": tid,
        "domain": profile.domain,
        "organization": profile.org,
        "users": profile.users.iter().map(|u| json!({
            "id": u.id, "userPrincipalName": u.upn, "displayName": u.display, "admin": u.admin
        })).collect::<Vec<_>>(),
        "behaviour": inner.behaviour(&tid)
    }))
    .into_response()
}

/// `PUT /_simulator/tenants/{tenant}` with a [`TenantBehaviour`] body.
pub(crate) async fn put_tenant(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let behaviour: TenantBehaviour = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("not a tenant behaviour: {e}"),
            );
        }
    };
    let tid = tenant_id(&tenant);
    inner
        .tenants
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(tid, behaviour.clone());
    Json(behaviour).into_response()
}

/// Request faults as JSON (`/_simulator/faults`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct FaultsSpec {
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    pub retry_after_ms: u64,
    pub slow_ms: u64,
}

impl Default for FaultsSpec {
    fn default() -> Self {
        Self::from(&Faults::default())
    }
}

impl From<&Faults> for FaultsSpec {
    fn from(f: &Faults) -> Self {
        Self {
            rate: f.rate,
            kinds: f.kinds.clone(),
            retry_after_ms: f.retry_after.as_millis() as u64,
            slow_ms: f.slow.as_millis() as u64,
        }
    }
}

/// `GET /_simulator/faults`.
pub(crate) async fn get_faults(State(inner): State<Arc<Inner>>) -> Response {
    Json(FaultsSpec::from(&inner.faults())).into_response()
}

/// `PUT /_simulator/faults`: replaces the request faults. `duplicate` and `late` shape the data
/// and stay as configured at start.
pub(crate) async fn put_faults(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let spec: FaultsSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("not a faults spec: {e}")),
    };
    if !(0.0..=1.0).contains(&spec.rate) {
        return problem(StatusCode::BAD_REQUEST, "rate must be within 0..=1");
    }
    let faults = Faults {
        rate: spec.rate,
        kinds: spec.kinds,
        retry_after: Duration::from_millis(spec.retry_after_ms),
        slow: Duration::from_millis(spec.slow_ms),
    };
    crate::set_faults_inner(&inner, faults);
    Json(FaultsSpec::from(&inner.faults())).into_response()
}
