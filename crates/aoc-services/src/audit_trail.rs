//! Reading AOC's own audit trail (Admin), newest first. Read-only: no use case changes or
//! deletes an entry; only retention removes old ones.

use aoc_store::{AuditCursor, AuditOutcome, AuditPage, AuditQuery};

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::filters::parse_time;
use crate::params::Params;

/// The use case's arguments.
pub const AUDIT_PARAMS: [&str; 7] = [
    "from",
    "to",
    "actor",
    "action",
    "outcome",
    "cursor",
    "page_size",
];

/// An action (`events.export`), or a family of them: `events.*` (as the dashboard suggests) or
/// `events.` (what the store takes).
fn action_filter(value: &str) -> Result<String, String> {
    match value.strip_suffix('*') {
        None if value.contains('*') => Err("`*` may only end a prefix: events.*".into()),
        None => Ok(value.to_owned()),
        Some(prefix) if prefix.ends_with('.') && !prefix.contains('*') => Ok(prefix.to_owned()),
        Some(_) => Err("a family of actions is written with a dot and a star: events.*".into()),
    }
}

/// The audit trail's query from its arguments.
///
/// # Errors
/// The argument at fault.
pub fn audit_query(p: &Params) -> ServiceResult<AuditQuery> {
    let mut query = AuditQuery {
        from: p.parsed("from", parse_time)?,
        to: p.parsed("to", parse_time)?,
        actor: p.text("actor")?,
        action: p.parsed("action", action_filter)?,
        outcome: p.parsed("outcome", |v| {
            AuditOutcome::parse(v).ok_or_else(|| "expected success, denied or failed".to_owned())
        })?,
        cursor: p.parsed("cursor", |v| {
            AuditCursor::decode(v).map_err(|e| e.to_string())
        })?,
        ..AuditQuery::default()
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(ServiceError::invalid("from", "from must be before to"));
    }
    if let Some(size) = p.page_size()? {
        query = query
            .with_page_size(size)
            .map_err(|e| ServiceError::invalid("page_size", e.to_string()))?;
    }
    Ok(query)
}

impl Services {
    /// One page of the audit trail.
    ///
    /// # Errors
    /// A caller without the Admin role; the store's errors.
    pub async fn read_audit_trail(
        &self,
        caller: &Caller,
        query: &AuditQuery,
    ) -> ServiceResult<AuditPage> {
        caller.require(Role::Admin)?;
        Ok(self.store.query_audit(query).await?)
    }
}
