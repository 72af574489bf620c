//! Shared simulator state: config, data, statistics, fault decisions, limits and the answers
//! every surface shares (error bodies, fault responses).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::config::{FaultKind, Faults, SimulatorConfig, TenantBehaviour};
use crate::data::DataStore;
use crate::generate::ContentType;
use crate::notify::GraphSubscription;
use crate::profile::tenant_id;
use crate::rng::{SplitMix64, derive, derive_bytes, mix64};

/// Counters the operator endpoint `/_simulator/stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// API requests per endpoint (`token`, `graph.signIns`, `mgmt.content`, …).
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Injected request faults by kind (`throttle`, `server_error`, `slow`, `truncated`,
    /// `expired`).
    pub faults_injected: BTreeMap<String, u64>,
    /// `429` answers of the identity-reports limit (5 requests / 10 s per app per tenant),
    /// apart from injected faults.
    pub limit_throttles: u64,
    /// Management API requests without the `PublisherIdentifier` query parameter.
    pub requests_without_publisher_identifier: u64,
    /// Content ids that answer `AF20051` because of an injected `Expired` fault.
    pub expired_content_ids: Vec<String>,
    /// Change-notification endpoint validations performed (handshakes).
    pub validation_requests: u64,
    /// Change and lifecycle notification POSTs answered with 2xx.
    pub notifications_sent: u64,
    /// Notification POSTs that failed (no 2xx in time).
    pub notification_failures: u64,
}

/// A Management API subscription of one content type.
#[derive(Debug, Clone)]
pub(crate) struct MgmtSubscription {
    pub enabled: bool,
    pub webhook: Value,
}

/// Which API a request hit (for error bodies and fault answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    Token,
    Graph,
    Management,
}

pub(crate) struct Inner {
    pub config: SimulatorConfig,
    pub data: DataStore,
    pub faults: RwLock<Faults>,
    pub tenants: RwLock<HashMap<String, TenantBehaviour>>,
    pub stats: Mutex<Stats>,
    pub token_key: [u8; 32],
    fault_seed: u64,
    counter: AtomicU64,
    limiter: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
    pub expired_blobs: Mutex<HashSet<String>>,
    pub mgmt_subscriptions: Mutex<HashMap<String, BTreeMap<ContentType, MgmtSubscription>>>,
    pub graph_subscriptions: Mutex<BTreeMap<String, GraphSubscription>>,
    pub notify_cursor: Mutex<Option<DateTime<Utc>>>,
    notifier: Mutex<Option<JoinHandle<()>>>,
    pub http: reqwest::Client,
}

/// Lock a mutex, ignoring poisoning (state stays usable after a panicking request).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The identity-reports limit: this many requests per window, per app per tenant.
pub(crate) const REPORTS_LIMIT: usize = 5;
pub(crate) const REPORTS_WINDOW: Duration = Duration::from_secs(10);

impl Inner {
    pub(crate) fn new(config: SimulatorConfig) -> Self {
        let faults = config.faults.clone();
        let data = DataStore::new(
            config.seed,
            config.records_per_hour,
            faults.has(FaultKind::Late),
            faults.has(FaultKind::Duplicate),
            config.blob_max_records,
        );
        let tenants = config
            .tenants
            .iter()
            .map(|(k, v)| (tenant_id(k), v.clone()))
            .collect();
        let secret = config.required_client_secret.clone().unwrap_or_default();
        let token_key =
            derive_bytes(&[b"token-key", &config.seed.to_le_bytes(), secret.as_bytes()]);
        // Request faults may differ between runs; data never does.
        let fault_seed = derive(&[
            b"faults",
            &config.seed.to_le_bytes(),
            &Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes(),
        ]);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            config,
            data,
            faults: RwLock::new(faults),
            tenants: RwLock::new(tenants),
            stats: Mutex::new(Stats::default()),
            token_key,
            fault_seed,
            counter: AtomicU64::new(0),
            limiter: Mutex::new(HashMap::new()),
            expired_blobs: Mutex::new(HashSet::new()),
            mgmt_subscriptions: Mutex::new(HashMap::new()),
            graph_subscriptions: Mutex::new(BTreeMap::new()),
            notify_cursor: Mutex::new(None),
            notifier: Mutex::new(None),
            http,
        }
    }

    /// A fresh random generator (counter-based; not reproducible across runs).
    pub(crate) fn rng(&self) -> SplitMix64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        SplitMix64::new(mix64(self.fault_seed ^ mix64(n)))
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn behaviour(&self, tid: &str) -> TenantBehaviour {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tid)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn count_request(&self, endpoint: &str) {
        *lock(&self.stats)
            .requests_by_endpoint
            .entry(endpoint.to_string())
            .or_default() += 1;
    }

    pub(crate) fn count_fault(&self, kind: FaultKind) {
        *lock(&self.stats)
            .faults_injected
            .entry(kind.name().to_string())
            .or_default() += 1;
    }

    /// Decides whether this request fails, and how: with probability `rate`, one of the enabled
    /// request-failing kinds that `applicable` allows.
    pub(crate) fn pick_fault(&self, applicable: &[FaultKind]) -> Option<FaultKind> {
        let faults = self.faults();
        let kinds: Vec<FaultKind> = faults
            .kinds
            .iter()
            .copied()
            .filter(|k| k.fails_requests() && applicable.contains(k))
            .collect();
        if kinds.is_empty() || faults.rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng();
        if rng.unit() >= faults.rate {
            return None;
        }
        Some(*rng.pick(&kinds))
    }

    /// The identity-reports limit; `Some(wait)` when this request is over it.
    pub(crate) fn reports_limit(&self, tid: &str, app: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut limiter = lock(&self.limiter);
        let window = limiter
            .entry((tid.to_string(), app.to_string()))
            .or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= REPORTS_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= REPORTS_LIMIT {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = REPORTS_WINDOW.saturating_sub(now.duration_since(oldest));
            drop(limiter);
            lock(&self.stats).limit_throttles += 1;
            return Some(wait);
        }
        window.push_back(now);
        None
    }

    /// Starts the change-notification task if it is not running (needs a Tokio runtime).
    pub(crate) fn ensure_notifier(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut slot = lock(&self.notifier);
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(self);
        *slot = Some(tokio::spawn(crate::notify::run(weak)));
    }

    pub(crate) fn stop_notifier(&self) {
        if let Some(handle) = lock(&self.notifier).take() {
            handle.abort();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_notifier();
    }
}

/// Whole seconds for a `Retry-After` header (rounded up; at least 1 unless zero).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if wait.is_zero() { 0 } else { secs.max(1) }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Graph ids on every Graph answer: `request-id`, and `client-request-id` echoed or made up.
pub(crate) fn graph_ids(inner: &Inner, request: &HeaderMap) -> (String, String) {
    let request_id = inner.rng().guid();
    let client = request
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| inner.rng().guid());
    (request_id, client)
}

pub(crate) fn with_graph_ids(mut response: Response, ids: &(String, String)) -> Response {
    let headers = response.headers_mut();
    headers.insert("request-id", header_value(&ids.0));
    headers.insert("client-request-id", header_value(&ids.1));
    response
}

/// A Graph error answer (`{"error":{"code","message","innerError":{…}}}`).
pub(crate) fn graph_error(
    ids: &(String, String),
    status: StatusCode,
    code: &str,
    message: &str,
    inner_code: Option<&str>,
) -> Response {
    let mut inner_error = serde_json::Map::new();
    if let Some(c) = inner_code {
        inner_error.insert("code".into(), json!(c));
    }
    inner_error.insert(
        "date".into(),
        json!(Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()),
    );
    inner_error.insert("request-id".into(), json!(ids.0));
    inner_error.insert("client-request-id".into(), json!(ids.1));
    let body = json!({ "error": { "code": code, "message": message, "innerError": inner_error } });
    with_graph_ids(json_response(status, body.to_string()), ids)
}

/// A Management API error answer (`{"error":{"code":"AF…","message":"…"}}`).
pub(crate) fn mgmt_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    json_response(status, body.to_string())
}

/// A token endpoint error answer (`token.error.json` shape).
pub(crate) fn token_error(
    inner: &Inner,
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
    let now = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = inner.rng().guid();
    let correlation = inner.rng().guid();
    let text = format!(
        "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
    );
    let body = json!({
        "error": error,
        "error_description": text,
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation
    });
    json_response(status, body.to_string())
}

fn set_retry_after(response: &mut Response, wait: Duration) {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header_value(&retry_after_secs(wait).to_string()),
    );
}

/// The answer of an injected `Throttle` or `ServerError` fault.
pub(crate) fn fault_response(
    inner: &Inner,
    surface: Surface,
    kind: FaultKind,
    ids: &(String, String),
) -> Response {
    let faults = inner.faults();
    let flip = inner.rng().chance(0.5);
    match (surface, kind) {
        (Surface::Graph, FaultKind::Throttle) => {
            let mut r = graph_error(
                ids,
                StatusCode::TOO_MANY_REQUESTS,
                "activityLimitReached",
                "The request has been throttled",
                Some("throttledRequest"),
            );
            set_retry_after(&mut r, faults.retry_after);
            r
        }
        (Surface::Graph, _) if flip => {
            let mut r = graph_error(
                ids,
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. (simulated)",
                None,
            );
            set_retry_after(&mut r, faults.retry_after);
            r
        }
        (Surface::Graph, _) => graph_error(
            ids,
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An unspecified error has occurred. (simulated)",
            None,
        ),
        (Surface::Management, FaultKind::Throttle) => {
            let status = if flip {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut r = mgmt_error(
                status,
                "AF429",
                "Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000 (simulated)",
            );
            if !flip {
                set_retry_after(&mut r, faults.retry_after);
            }
            r
        }
        (Surface::Management, _) => {
            let status = if flip {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let mut r = mgmt_error(
                status,
                "AF50000",
                "An internal error occurred. Retry the request. (simulated)",
            );
            if flip {
                set_retry_after(&mut r, faults.retry_after);
            }
            r
        }
        (Surface::Token, FaultKind::Throttle) => {
            let mut r = token_error(
                inner,
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                50196,
                "The server is temporarily throttling requests. (simulated)",
            );
            set_retry_after(&mut r, faults.retry_after);
            r
        }
        (Surface::Token, _) => {
            let status = if flip {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let mut r = token_error(
                inner,
                status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again. (simulated)",
            );
            if flip {
                set_retry_after(&mut r, faults.retry_after);
            }
            r
        }
    }
}

/// Runs `handler` under an injected fault: throttling and server errors replace it, `Slow`
/// delays it, `Truncated` cuts a `200` body in half. `Expired` is the blob handler's business.
pub(crate) async fn run_with_fault<F>(
    inner: &Inner,
    surface: Surface,
    fault: Option<FaultKind>,
    ids: &(String, String),
    handler: F,
) -> Response
where
    F: Future<Output = Response>,
{
    match fault {
        Some(kind @ (FaultKind::Throttle | FaultKind::ServerError)) => {
            inner.count_fault(kind);
            fault_response(inner, surface, kind, ids)
        }
        Some(FaultKind::Slow) => {
            inner.count_fault(FaultKind::Slow);
            tokio::time::sleep(inner.faults().slow).await;
            handler.await
        }
        Some(FaultKind::Truncated) => {
            let response = handler.await;
            if response.status() != StatusCode::OK {
                return response;
            }
            let (mut parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            if bytes.is_empty() {
                return Response::from_parts(parts, Body::from(bytes));
            }
            inner.count_fault(FaultKind::Truncated);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        _ => handler.await,
    }
}

/// The `Host` of a request, for absolute links back to the simulator.
pub(crate) fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost")
        .to_string()
}
