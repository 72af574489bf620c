//! A fake Microsoft 365 that speaks the real protocols, so AOC's collectors can be developed,
//! demonstrated and tested against it over real HTTP. Pointing AOC at Microsoft instead changes
//! only base URLs and credentials: one listener serves the token endpoint, Microsoft Graph and
//! the Office 365 Management Activity API, so `LOGIN_BASE_URL`, `GRAPH_BASE_URL` and
//! `MANAGEMENT_BASE_URL` all point at it (`http://127.0.0.1:<port>`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use aoc_simulator::{Simulator, SimulatorConfig};
//! let simulator = Simulator::new(SimulatorConfig { seed: 7, ..Default::default() });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! simulator.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Endpoints
//!
//! ## Token endpoint (Entra ID client credentials)
//! `POST /{tenant}/oauth2/v2.0/token`, form body: `grant_type=client_credentials`, `client_id`
//! (a GUID), `scope=<resource>/.default` (exactly one; `https://graph.microsoft.com` or
//! `https://manage.office.com` or a national-cloud variant — classified by containing `graph`,
//! or `manage` / `office365` / `protection.apps.mil`), and either `client_secret` (also HTTP
//! Basic) or `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` +
//! `client_assertion`. An assertion must be three base64url parts whose payload has `aud`,
//! `iss == sub == client_id` and a future `exp`; its signature is not checked. `{tenant}` is a
//! GUID or a domain (a domain maps to a stable GUID of its own); `common`, `organizations` and
//! `consumers` answer `400`. Any credentials pass unless
//! [`SimulatorConfig::required_client_secret`] is set: then anything but that secret answers
//! `401 invalid_client` `AADSTS7000215`. Errors use the `token.error.json` shape
//! (`error`, `error_description`, `error_codes`, `timestamp`, `trace_id`, `correlation_id`);
//! success is `{token_type, expires_in, ext_expires_in, access_token}`.
//!
//! Access tokens are opaque (`sim.<claims>.<mac>`), carry tenant, audience, app and expiry, and
//! are checked on every API call: missing, foreign, expired or wrong-audience tokens answer
//! `401` (Graph `InvalidAuthenticationToken`; Management API `AF10001` — the reference gives no
//! Management API 401 body, so that code is the simulator's choice).
//!
//! ## Microsoft Graph v1.0 (tenant = the token's tenant)
//! * `GET /v1.0/auditLogs/directoryAudits` (also `directoryaudits`), `GET /v1.0/auditLogs/signIns`
//!   (also `signins`), `GET /v1.0/deviceManagement/auditEvents`.
//! * `$filter` on the time field only (`activityDateTime`, sign-ins `createdDateTime`):
//!   `ge gt le lt eq` joined by `and`, unquoted ISO 8601 literals or dates. Anything else answers
//!   `400 BadRequest`. `$top` (1–1000; default [`SimulatorConfig::page_size`]),
//!   `$orderby=<time field> asc|desc` (default newest first). Other options are ignored.
//! * Paging: `@odata.nextLink` is an absolute `http://<Host header>/…` URL with the original
//!   options plus an opaque `$skiptoken` holding the offset and a snapshot of the query, including
//!   the instant of the first page, so later pages are consistent. `@odata.context` is present.
//! * Only records available at that instant are served, and only the last 30 days (P1/P2
//!   retention).
//! * Identity reports (directoryAudits + signIns) allow 5 requests per 10 s per app per tenant;
//!   beyond that `429` + `Retry-After` (`activityLimitReached`), counted as `limit_throttles`.
//!   Refused requests do not count against the window.
//! * [`TenantBehaviour`]: `sign_ins_premium = false` → signIns answer `403`
//!   `Authentication_RequestFromNonPremiumTenantOrB2CTenant`; `intune_permission = false` →
//!   auditEvents answer `403 Authorization_RequestDenied`.
//!
//! ## Graph change notifications
//! `POST /v1.0/subscriptions` (resources `users`, `groups`, `users/{id}`, `groups/{id}`,
//! `groups/{id}/members|owners`; `changeType` of `updated`/`deleted`; `clientState` ≤ 128
//! characters; `expirationDateTime` in the future, at most 41,760 minutes away, raised to 45
//! minutes; 100 per app per tenant). Before answering `201` the simulator performs the
//! validation handshake: it POSTs `{notificationUrl}?validationToken=<form-encoded token with
//! spaces and colons>` with `Content-Type: text/plain; charset=utf-8` and requires, within 10 s,
//! `200`, a `text/plain` content type and the decoded token as the exact body — else `400`. The
//! same for `lifecycleNotificationUrl`. `http://` URLs are accepted (Microsoft requires HTTPS).
//! `GET /v1.0/subscriptions`, `GET|PATCH|DELETE /v1.0/subscriptions/{id}` (PATCH renews and
//! reauthorizes), `POST /v1.0/subscriptions/{id}/reauthorize` (`204`).
//!
//! Every 2 s a background task looks for directory-audit records that became available since
//! the last look and POSTs a `changeNotificationCollection` (`changeType: updated`,
//! `resource: Users/{id}` or `Groups/{id}` of the records' targets, `clientState`,
//! `resourceData` with `@odata.type`, `@odata.id`, `id`, `organizationId`, `sequenceNumber`) to
//! each live subscription's `notificationUrl` (3 s timeout; without a 2xx it retries on later
//! ticks for up to 4 hours). [`SimulatorConfig::notify`] does the same for one tenant without a
//! subscription. While a `reauthorizationRequired` event is pending, changes are not delivered
//! (and are lost, as documented).
//!
//! ## Office 365 Management Activity API
//! Under `/api/v1.0/{tenant}/activity/feed/` (also `/api/v1/`); `{tenant}` must be a GUID
//! (`AF20013`) equal to the token's tenant (`AF20010`). Content types: `Audit.AzureActiveDirectory`,
//! `Audit.Exchange`, `Audit.SharePoint`, `Audit.General`, `DLP.All` (others `AF20020`). Errors
//! are `{"error":{"code":"AF…","message":"…"}}`, `400` unless said otherwise.
//! * `POST subscriptions/start?contentType=` → `{contentType, status: "enabled", webhook}`;
//!   already enabled → `AF20024`; disabled by the tenant ([`TenantBehaviour::disabled_content_types`])
//!   → `AF20023`. A `webhook` body is stored and listed but not validated or called.
//! * `POST subscriptions/stop?contentType=`, `GET subscriptions/list`.
//! * `GET subscriptions/content?contentType=&startTime=&endTime=`: both or neither (neither = the
//!   last 24 hours), `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS` (a trailing `Z` and
//!   fractional seconds are also accepted; other text `AF20002`), at most 24 hours, start no more
//!   than 7 days back (`AF20030`), start before end (`AF20055`); no subscription `AF20022`;
//!   disabled `AF20023`. Blobs with `startTime <= contentCreated < endTime` and
//!   `contentCreated <= now`, oldest first, 20 per page; more pages are announced by a
//!   `NextPageUri` header holding the full URL (same window plus `nextPage=`, and
//!   `PublisherIdentifier` when given); a bad `nextPage` answers `AF20031`.
//! * `GET audit/{contentId}` → the JSON array of records; unknown or not yet available
//!   `AF20050`; older than 7 days `AF20051`.
//! * Every request without the `PublisherIdentifier` query parameter is counted
//!   (`requests_without_publisher_identifier`).
//!
//! ## Operator endpoints
//! * `GET /_simulator/events?tenant=&from=&to=` → the ground truth of `[from, to)` as NDJSON
//!   (`application/x-ndjson`), one record per line exactly as served (≤ 31 days).
//! * `GET /_simulator/stats` → [`Stats`] as JSON.
//! * `PUT /_simulator/tenants/{tenant}` with a [`TenantBehaviour`] JSON body (missing fields take
//!   their defaults); `GET` shows the tenant's domain, users and behaviour.
//! * `GET|PUT /_simulator/faults` (like [`Simulator::set_faults`]) with `{"rate":0.2,"kinds":["throttle","slow"],
//!   "retry_after_ms":1000,"slow_ms":3000}` changes request faults at runtime.
//! * `POST /_simulator/subscriptions/{id}/lifecycle?event=reauthorizationRequired|subscriptionRemoved|missed`
//!   sends a lifecycle notification to the subscription's `lifecycleNotificationUrl`.
//!
//! # Data
//! Every tenant id asked for exists, with its own seed derived from ([`SimulatorConfig::seed`],
//! tenant id): organisation name, domain `tenant-<8 hex>.onmicrosoft.com`, 15 users (2–3 of
//! them admins, `admin.<name>@…`), an HR portal, a third-party "Mail Sync Helper" app, an
//! automation service principal, groups, SharePoint sites, Teams. Data exists for all time: the
//! records of each (tenant, UTC hour) are generated from (tenant seed, hour) alone — about
//! [`SimulatorConfig::records_per_hour`] of them, more in local business hours, fewer at night
//! and on weekends — so the same seed and volume always give the same records and ids, whatever
//! the faults. Generated hours are cached in memory (bounded).
//!
//! The mix: Graph sign-ins (most; successes, `50126` bad passwords, `500121` MFA denials,
//! `53003` Conditional Access blocks, `50053` lockouts, risky sign-ins with
//! `riskLevelDuringSignIn` high/medium and `riskEventTypes_v2`, from several countries with city
//! and coordinates, password sprays) with unified-log `UserLoggedIn` / `UserLoginFailed` twins;
//! directory audits (role assignments incl. Global Administrator, app consents, password resets,
//! user and group changes, Conditional Access policy changes) with `Add member to role.` /
//! `Consent to application.` … twins in `Audit.AzureActiveDirectory`; Intune audit events;
//! SharePoint/OneDrive file activity with bursts of mass downloads and deletions, sharing
//! (incl. `AnonymousLinkCreated`); Exchange `New-InboxRule` forwarding outside and `Set-Mailbox`
//! `ForwardingSmtpAddress`, `MailItemsAccessed`; Teams and Power BI in `Audit.General`; a few
//! `DLP.All` matches. Hostile activity weighs more at night local time. Addresses come from the
//! documentation ranges 203.0.113.0/24, 198.51.100.0/24, 192.0.2.0/24 and 2001:db8::/32.
//! Timestamps follow each source (Graph RFC 3339 with seven fractional digits and `Z`; unified
//! log `CreationTime` without `Z`, whole seconds).
//!
//! # Availability
//! Each record has an event time and an availability time. Graph records become visible 1–10
//! minutes after the event. Unified-log records go into content blobs per (tenant, content type)
//! every 15 minutes (`contentCreated` up to 2 minutes after the slot boundary, records 20–80
//! minutes old, not time-ordered, at most [`SimulatorConfig::blob_max_records`] per blob,
//! `contentExpiration` = `contentCreated` + 7 days). Nothing becomes available more than
//! 2 hours after its event, Late included, so a comparison window ending 2 h 15 min before now
//! is exact. Management API content is listed whenever a subscription is enabled, including
//! content created before it was started (no 12-hour warm-up).
//!
//! # Faults
//! [`Faults::rate`] of API requests fail with one of the enabled request-failing kinds that fits
//! the endpoint (decisions are random per request and differ between runs):
//! * `throttle`: Graph `429` + `Retry-After` with `activityLimitReached`; Management API `403` or
//!   `429` (+ `Retry-After`) with `AF429`; token endpoint `429` + `Retry-After`.
//! * `server_error`: `500`, or `503` + `Retry-After` (Graph `generalException` /
//!   `serviceNotAvailable`, Management API `AF50000`, token endpoint `temporarily_unavailable`).
//! * `slow`: the answer comes after [`Faults::slow`] (not on the token endpoint).
//! * `truncated`: `200` with the first half of the JSON body (not on the token endpoint).
//! * `expired`: a content blob GET answers `AF20051`, and keeps doing so for that blob
//!   (listed in [`Stats::expired_content_ids`]).
//!
//! Two kinds shape the data instead (fixed at start, whatever `rate`):
//! * `duplicate`: the last record of each Graph page is also the first of the next page, and
//!   about 5 % of unified-log records are in a second blob 30 minutes later.
//! * `late`: about 7 % of records become available 1–2 hours after their event.
//!
//! # Ground truth
//! [`Simulator::ground_truth`] (and `/_simulator/events`) lists every record whose event time is
//! in `[from, to)` once, exactly as served (same text, same native ids), sorted by event time:
//! Graph directory audits, sign-ins and Intune events, and unified-log records of every content
//! type. It is the data itself: retention limits (Graph 30 days, Management API 7 days), records
//! not yet available and records behind injected `expired` faults are still listed; `duplicate`
//! copies are listed once.

mod auth;
mod config;
mod control;
mod data;
mod generate;
mod graph;
mod mgmt;
mod notify;
mod profile;
mod rng;
mod state;

use std::future::Future;
use std::sync::{Arc, PoisonError};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use config::{
    FaultKind, Faults, NotifyTarget, ParseFaultKindError, SimulatorConfig, TenantBehaviour,
};
pub use state::Stats;

use state::Inner;

/// The simulator. Cheap to clone; clones share all state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.inner.config.seed)
            .finish_non_exhaustive()
    }
}

/// Replaces the request faults; `duplicate` and `late` stay as configured at start.
pub(crate) fn set_faults_inner(inner: &Inner, mut faults: Faults) {
    faults.kinds.retain(|k| k.fails_requests());
    for kind in [FaultKind::Duplicate, FaultKind::Late] {
        if inner.config.faults.has(kind) {
            faults.kinds.push(kind);
        }
    }
    faults.rate = faults.rate.clamp(0.0, 1.0);
    *inner.faults.write().unwrap_or_else(PoisonError::into_inner) = faults;
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        Self {
            inner: Arc::new(Inner::new(config)),
        }
    }

    /// All endpoints (see the crate docs). Starts the change-notification task when called
    /// inside a Tokio runtime.
    pub fn router(&self) -> Router {
        self.inner.ensure_notifier();
        Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
            .route(
                "/v1.0/auditLogs/directoryAudits",
                get(graph::directory_audits),
            )
            .route(
                "/v1.0/auditLogs/directoryaudits",
                get(graph::directory_audits),
            )
            .route(
                "/v1.0/auditlogs/directoryaudits",
                get(graph::directory_audits),
            )
            .route("/v1.0/auditLogs/signIns", get(graph::sign_ins))
            .route("/v1.0/auditLogs/signins", get(graph::sign_ins))
            .route("/v1.0/auditlogs/signins", get(graph::sign_ins))
            .route(
                "/v1.0/deviceManagement/auditEvents",
                get(graph::intune_audit_events),
            )
            .route(
                "/v1.0/devicemanagement/auditevents",
                get(graph::intune_audit_events),
            )
            .route(
                "/v1.0/subscriptions",
                post(notify::create).get(notify::list),
            )
            .route(
                "/v1.0/subscriptions/{id}",
                get(notify::get_one)
                    .patch(notify::update)
                    .delete(notify::delete),
            )
            .route(
                "/v1.0/subscriptions/{id}/reauthorize",
                post(notify::reauthorize),
            )
            .route(
                "/api/{version}/{tenant}/activity/feed/subscriptions/{operation}",
                any(mgmt::subscriptions),
            )
            .route(
                "/api/{version}/{tenant}/activity/feed/audit/{content_id}",
                get(mgmt::audit),
            )
            .route("/_simulator/events", get(control::events))
            .route("/_simulator/stats", get(control::stats))
            .route(
                "/_simulator/tenants/{tenant}",
                get(control::get_tenant).put(control::put_tenant),
            )
            .route(
                "/_simulator/faults",
                get(control::get_faults).put(control::put_faults),
            )
            .route(
                "/_simulator/subscriptions/{id}/lifecycle",
                post(notify::lifecycle),
            )
            .fallback(fallback)
            .with_state(self.inner.clone())
    }

    /// Serves [`Simulator::router`] on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router();
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, seed = self.inner.config.seed, "simulator listening");
        }
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        self.inner.stop_notifier();
        result
    }

    /// Every record of `tenant` (GUID or domain) with event time in `[from, to)`, once each,
    /// exactly as served, sorted by event time (see the crate docs).
    pub fn ground_truth(&self, tenant: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
        let tid = profile::tenant_id(tenant);
        self.inner
            .data
            .ground_truth(&tid, from, to)
            .iter()
            .map(|r| {
                serde_json::from_str(&r.json).unwrap_or_else(|_| Value::String(r.json.to_string()))
            })
            .collect()
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        state::lock(&self.inner.stats).clone()
    }

    /// Replaces the request faults at runtime (`duplicate` and `late` stay as configured).
    pub fn set_faults(&self, faults: Faults) {
        set_faults_inner(&self.inner, faults);
    }

    /// Changes a tenant's behaviour at runtime.
    pub fn set_tenant_behaviour(&self, tenant: &str, behaviour: TenantBehaviour) {
        self.inner
            .tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(profile::tenant_id(tenant), behaviour);
    }

    /// The domain of a tenant's synthetic users (`tenant-<8 hex>.onmicrosoft.com`).
    pub fn tenant_domain(&self, tenant: &str) -> String {
        self.inner
            .data
            .profile(&profile::tenant_id(tenant))
            .domain
            .clone()
    }
}

async fn fallback(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/v1.0/") {
        let segment = rest.split('/').next().unwrap_or(rest);
        let body = serde_json::json!({
            "error": {
                "code": "BadRequest",
                "message": format!("Resource not found for the segment '{segment}'."),
            }
        });
        return state::json_response(StatusCode::BAD_REQUEST, body.to_string());
    }
    StatusCode::NOT_FOUND.into_response()
}
