//! AOC's own audit trail, written by one middleware so no audited route can forget it.
//!
//! The middleware sits inside authentication (it knows the caller) and outside the role gates
//! (it sees refusals too). It names the action from the route, records the query parameters as
//! details, merges what the handler added ([`AuditDetails`]), and writes the entry once the
//! answer is known. A caller's first request ever is recorded as `user.first_request`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value};

use aoc_model::Author;
use aoc_store::{AuditOutcome, NewAuditEntry};

use crate::AppState;
use crate::auth::Principal;
use crate::telemetry::RequestId;

/// What a handler adds to its route's audit entry (the tag it added, the rows it exported…).
#[derive(Debug, Clone, Default)]
pub struct AuditDetails(pub Map<String, Value>);

impl AuditDetails {
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }
}

/// Put on a response by a handler whose route is audited but whose request is routine (the owner
/// of a job polling it): no entry is written.
#[derive(Debug, Clone, Copy)]
pub struct NotAudited;

/// The audited routes: (method, route) → action. Reads of health, sources and `/api/me` are not
/// actions on data and are left out.
fn action(method: &Method, route: &str) -> Option<&'static str> {
    Some(match (method.as_str(), route) {
        ("GET", "/api/events") => "events.search",
        ("GET", "/api/events/aggregations") => "events.aggregate",
        ("GET", "/api/events/export") => "events.export",
        ("GET", "/api/events/{id}") => "events.view",
        ("POST", "/api/events/{id}/tags") => "tag.add",
        ("DELETE", "/api/events/{id}/tags/{tag}") => "tag.remove",
        ("POST", "/api/events/{id}/comments") => "comment.add",
        ("PATCH", "/api/comments/{id}") => "comment.edit",
        ("DELETE", "/api/comments/{id}") => "comment.delete",
        ("POST", "/api/fetch-audit-logs") => "fetch.trigger",
        ("POST", "/api/ask") => "events.ask",
        ("POST", "/api/events/{id}/explain") => "events.explain",
        ("GET", "/api/audit-trail") => "audit.search",
        ("GET", "/api/jobs/{job_id}") => "job.view",
        _ => return None,
    })
}

/// The callers already seen by this process, so the store is asked once per caller.
#[derive(Default)]
pub struct SeenUsers(Mutex<HashSet<(String, String)>>);

impl SeenUsers {
    fn first_here(&self, principal: &Principal) -> bool {
        let key = (principal.tenant_id.clone(), principal.object_id.clone());
        self.0
            .lock()
            .map(|mut seen| seen.insert(key))
            .unwrap_or(true)
    }
}

pub fn author(principal: &Principal) -> Author {
    Author::new(
        principal.object_id.clone(),
        principal
            .name
            .clone()
            .or_else(|| principal.username.clone()),
    )
}

fn outcome(status: u16) -> AuditOutcome {
    match status {
        200..=399 => AuditOutcome::Success,
        401 | 403 => AuditOutcome::Denied,
        _ => AuditOutcome::Failed,
    }
}

/// The query string as a JSON object: the filters of a search, exactly as asked.
fn query_details(query: Option<&str>) -> Map<String, Value> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// The middleware's state: the app's, and the callers this router has seen.
#[derive(Clone)]
pub struct AuditState {
    pub app: AppState,
    pub seen: Arc<SeenUsers>,
}

pub async fn middleware(
    State(AuditState { app: state, seen }): State<AuditState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical().to_string());
    let action = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| action(request.method(), route.as_str()));
    // The route's first path parameter: the event of /api/events/{id}/…, the comment of
    // /api/comments/{id}. Read from the original URI: inside `/api` the path is shortened.
    let target = action.and_then(|_| {
        let route = request
            .extensions()
            .get::<MatchedPath>()?
            .as_str()
            .to_owned();
        let path = request
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned());
        route
            .split('/')
            .zip(path.split('/'))
            .find(|(pattern, _)| pattern.starts_with('{'))
            .map(|(_, value)| value.to_owned())
    });
    let details = query_details(request.uri().query());

    if seen.first_here(&principal) {
        first_request(&state, &principal, &request_id, client_ip.clone()).await;
    }
    let response = next.run(request).await;
    let Some(action) = action else {
        return response;
    };
    if response.extensions().get::<NotAudited>().is_some() {
        return response;
    }
    let mut details = details;
    if let Some(extra) = response.extensions().get::<AuditDetails>() {
        details.extend(extra.0.clone());
    }
    let status = response.status().as_u16();
    let entry = NewAuditEntry {
        at: Utc::now(),
        actor: author(&principal),
        actor_tenant: Some(principal.tenant_id.clone()),
        client_ip,
        request_id,
        action: action.to_owned(),
        target,
        details: Value::Object(details),
        outcome: outcome(status),
        status,
    };
    append(&state, &entry).await;
    response
}

/// Records `user.first_request` when the store has never seen the caller.
async fn first_request(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    client_ip: Option<String>,
) {
    let name = principal.name.as_deref().or(principal.username.as_deref());
    match state
        .store
        .note_user_seen(&principal.tenant_id, &principal.object_id, name, Utc::now())
        .await
    {
        Ok(true) => {
            let entry = NewAuditEntry {
                at: Utc::now(),
                actor: author(principal),
                actor_tenant: Some(principal.tenant_id.clone()),
                client_ip,
                request_id: request_id.to_owned(),
                action: "user.first_request".to_owned(),
                target: None,
                details: serde_json::json!({
                    "username": principal.username,
                    "roles": principal.effective_roles(),
                    "app": principal.app,
                }),
                outcome: AuditOutcome::Success,
                status: 200,
            };
            append(state, &entry).await;
        }
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "could not record a caller's first request"),
    }
}

/// Writes an entry; a failure is logged and counted, and the answer already given stands.
pub async fn append(state: &AppState, entry: &NewAuditEntry) {
    if let Err(e) = state.store.append_audit(entry).await {
        metrics::counter!("aoc_audit_trail_write_failures_total").increment(1);
        tracing::error!(error = %e, action = %entry.action, "could not write the audit trail");
    }
}
