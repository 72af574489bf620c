//! The HTTP door's side of AOC's audit trail: one middleware, so no audited route can forget it.
//!
//! The middleware sits inside authentication (it knows the caller) and outside the role gates
//! (it sees refusals too). It names the action from the route, records the query parameters as
//! details, merges what the handler added ([`AuditDetails`]), and hands the call to the
//! services' [`aoc_services::AuditTrail`] once the answer is known — the one writer every door
//! uses. A caller's first request ever is recorded as `user.first_request`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::{Extensions, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

pub use aoc_services::AuditDetails;
use aoc_services::audit::{AuditedCall, actions};
use aoc_services::{CallContext, Caller};

use crate::Api;
use crate::telemetry::RequestId;

/// Put on a response by a handler whose route is audited but whose request is routine (the owner
/// of a job polling it): no entry is written.
#[derive(Debug, Clone, Copy)]
pub struct NotAudited;

/// A handler's answer with what it adds to the audit entry.
pub fn with_details(answer: impl IntoResponse, details: AuditDetails) -> Response {
    let mut response = answer.into_response();
    response.extensions_mut().insert(details);
    response
}

/// The audited routes: (method, route) → action. Reads of health, sources and `/api/me` are not
/// actions on data and are left out.
fn action(method: &Method, route: &str) -> Option<&'static str> {
    Some(match (method.as_str(), route) {
        ("GET", "/api/events") => actions::EVENTS_SEARCH,
        ("GET", "/api/events/aggregations") => actions::EVENTS_AGGREGATE,
        ("GET", "/api/events/facets") => actions::EVENTS_FACETS,
        ("POST", "/api/saved-searches") => actions::SEARCH_SAVE,
        ("DELETE", "/api/saved-searches/{id}") => actions::SEARCH_DELETE,
        ("GET", "/api/events/export") => actions::EVENTS_EXPORT,
        ("GET", "/api/events/{id}") => actions::EVENTS_VIEW,
        ("POST", "/api/events/{id}/tags") => actions::TAG_ADD,
        ("DELETE", "/api/events/{id}/tags/{tag}") => actions::TAG_REMOVE,
        ("POST", "/api/events/{id}/comments") => actions::COMMENT_ADD,
        ("PATCH", "/api/comments/{id}") => actions::COMMENT_EDIT,
        ("DELETE", "/api/comments/{id}") => actions::COMMENT_DELETE,
        ("POST", "/api/fetch-audit-logs") => actions::FETCH_TRIGGER,
        ("POST", "/api/ask") => actions::EVENTS_ASK,
        ("POST", "/api/events/{id}/explain") => actions::EVENTS_EXPLAIN,
        ("GET", "/api/audit-trail") => actions::AUDIT_SEARCH,
        ("GET", "/api/jobs/{job_id}") => actions::JOB_VIEW,
        _ => return None,
    })
}

/// The query string as a JSON object: the filters of a search, exactly as asked.
fn query_details(query: Option<&str>) -> Map<String, Value> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// Where the request came from: its id and the client's address.
pub fn call_context(extensions: &Extensions) -> CallContext {
    CallContext {
        request_id: extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default(),
        client_ip: extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical().to_string()),
    }
}

/// The route's first path parameter: the event of /api/events/{id}/…, the comment of
/// /api/comments/{id}. Read from the original URI: inside `/api` the path is shortened.
fn target(request: &Request) -> Option<String> {
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
}

pub async fn middleware(State(api): State<Api>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    let context = call_context(request.extensions());
    let action = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| action(request.method(), route.as_str()));
    let target = action.and_then(|_| target(&request));
    let details = query_details(request.uri().query());

    let audit = api.services.audit();
    audit.note_caller(&caller, &context).await;
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
    let call = AuditedCall {
        action,
        target,
        details,
        status: response.status().as_u16(),
    };
    audit.record(&caller, &context, call).await;
    response
}
