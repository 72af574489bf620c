//! AOC's own audit trail, written for every door from here: the names of the actions, the
//! entry each call leaves, and the caller's first request ever (`user.first_request`).
//!
//! A door tells [`AuditTrail::record`] which action was asked, by whom, with which arguments,
//! and how it ended (an HTTP-like status: 2xx/3xx success, 401/403 denied, anything else
//! failed). A failure to write is logged and counted; the answer already given stands.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::{Map, Value};

use aoc_store::{AuditOutcome, NewAuditEntry, Store};

use crate::caller::Caller;
use crate::telemetry;

/// The actions the audit trail names. Reads of health, sources and who-am-I are not actions on
/// data and are left out.
pub mod actions {
    pub const EVENTS_SEARCH: &str = "events.search";
    pub const EVENTS_AGGREGATE: &str = "events.aggregate";
    pub const EVENTS_FACETS: &str = "events.facets";
    pub const SEARCH_SAVE: &str = "search.save";
    pub const SEARCH_DELETE: &str = "search.delete";
    pub const EVENTS_EXPORT: &str = "events.export";
    /// Written when an export's stream ends, with the rows delivered.
    pub const EVENTS_EXPORT_COMPLETED: &str = "events.export.completed";
    pub const EVENTS_VIEW: &str = "events.view";
    pub const TAG_ADD: &str = "tag.add";
    pub const TAG_REMOVE: &str = "tag.remove";
    pub const COMMENT_ADD: &str = "comment.add";
    pub const COMMENT_EDIT: &str = "comment.edit";
    pub const COMMENT_DELETE: &str = "comment.delete";
    pub const FETCH_TRIGGER: &str = "fetch.trigger";
    pub const EVENTS_ASK: &str = "events.ask";
    pub const EVENTS_EXPLAIN: &str = "events.explain";
    pub const AUDIT_SEARCH: &str = "audit.search";
    pub const JOB_VIEW: &str = "job.view";
    pub const FIRST_REQUEST: &str = "user.first_request";
}

/// Where a call came from, beside who made it.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The request's id (HTTP `X-Request-ID`), to find it in the logs.
    pub request_id: String,
    /// The caller's address, when the door knows it.
    pub client_ip: Option<String>,
}

/// What a use case adds to its call's audit entry (the tag it added, the rows it exported…).
#[derive(Debug, Clone, Default)]
pub struct AuditDetails(pub Map<String, Value>);

impl AuditDetails {
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }
}

/// How a call ended, from its HTTP-like status.
pub fn outcome(status: u16) -> AuditOutcome {
    match status {
        200..=399 => AuditOutcome::Success,
        401 | 403 => AuditOutcome::Denied,
        _ => AuditOutcome::Failed,
    }
}

/// One call, as the audit trail records it.
#[derive(Debug, Clone)]
pub struct AuditedCall<'a> {
    pub action: &'a str,
    /// The thing acted on (an event or comment id).
    pub target: Option<String>,
    /// The arguments as asked, and what the use case added.
    pub details: Map<String, Value>,
    pub status: u16,
}

/// Writes the audit trail.
pub struct AuditTrail {
    store: Arc<dyn Store>,
    /// The callers already seen by this process, so the store is asked once per caller.
    seen: Mutex<HashSet<(String, String)>>,
}

impl AuditTrail {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            seen: Mutex::default(),
        }
    }

    /// Records `user.first_request` the first time the store ever sees `caller`.
    pub async fn note_caller(&self, caller: &Caller, context: &CallContext) {
        let key = (caller.tenant_id.clone(), caller.object_id.clone());
        let first_here = self
            .seen
            .lock()
            .map(|mut seen| seen.insert(key))
            .unwrap_or(true);
        if !first_here {
            return;
        }
        let name = caller.name.as_deref().or(caller.username.as_deref());
        match self
            .store
            .note_user_seen(&caller.tenant_id, &caller.object_id, name, Utc::now())
            .await
        {
            Ok(true) => {
                let details = serde_json::json!({
                    "username": caller.username,
                    "roles": caller.effective_roles(),
                    "app": caller.app,
                });
                let call = AuditedCall {
                    action: actions::FIRST_REQUEST,
                    target: None,
                    details: details.as_object().cloned().unwrap_or_default(),
                    status: 200,
                };
                self.record(caller, context, call).await;
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "could not record a caller's first request"),
        }
    }

    /// Records one call, its outcome read from its status.
    pub async fn record(&self, caller: &Caller, context: &CallContext, call: AuditedCall<'_>) {
        let judged = outcome(call.status);
        self.record_as(caller, context, call, judged).await;
    }

    /// Records one call whose outcome its status does not tell (an export that failed after
    /// its 200 was sent).
    pub async fn record_as(
        &self,
        caller: &Caller,
        context: &CallContext,
        call: AuditedCall<'_>,
        outcome: AuditOutcome,
    ) {
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: caller.author(),
            actor_tenant: Some(caller.tenant_id.clone()),
            client_ip: context.client_ip.clone(),
            request_id: context.request_id.clone(),
            action: call.action.to_owned(),
            target: call.target,
            details: Value::Object(call.details),
            outcome,
            status: call.status,
        };
        self.append(&entry).await;
    }

    /// Writes an entry as it is; a failure is logged and counted.
    async fn append(&self, entry: &NewAuditEntry) {
        if let Err(e) = self.store.append_audit(entry).await {
            telemetry::audit_write_failed(&entry.action, &e);
        }
    }
}
