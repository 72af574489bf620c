//! AOC's own audit trail: who searched, viewed, exported, fetched, tagged or commented, when,
//! from where, and with what outcome.
//!
//! Append-only, and the database itself enforces it: both engines refuse any `UPDATE` of the
//! `audit_trail` table with a trigger (and PostgreSQL refuses `TRUNCATE`). Rows are only ever
//! deleted by retention ([`AuditTrailStore::delete_audit_before`]); nothing else in AOC deletes
//! them.
//!
//! The query is built here once for both engines, like the events query (see [`crate::filter`]).

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_model::{Author, PageSize, QueryError};

use crate::filter::{Bind, SqlFilter};
use crate::sql::Dialect;
use crate::{StoreError, StoreResult, clean_text};

/// Whether the audited request did what it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditOutcome {
    Success,
    /// Refused: not signed in, or a role too low.
    Denied,
    /// Accepted but failed (bad input, an error on AOC's side).
    Failed,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 3] = [Self::Success, Self::Denied, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// One audited action, as the API records it.
///
/// Text is stored as event columns are (NUL becomes U+FFFD); `details` is stored as JSON text
/// and read back exactly, key order and `\u0000` included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Author,
    /// The tenant of the actor's token (`tid`), when signed in.
    pub actor_tenant: Option<String>,
    pub client_ip: Option<String>,
    /// The request's `X-Request-ID`, to find it in the logs.
    pub request_id: String,
    /// What was done: `events.search`, `events.view`, `events.export`, `fetch.trigger`,
    /// `tag.add`, `tag.remove`, `comment.add`, `comment.edit`, `comment.delete`,
    /// `user.first_request`, …
    pub action: String,
    /// What it was done to: an event id, a comment id, a source…
    pub target: Option<String>,
    /// The request's parameters (filters, tag, …), as the caller chose to record them.
    pub details: serde_json::Value,
    pub outcome: AuditOutcome,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// A stored entry: [`NewAuditEntry`] and its place in the trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Assigned at append, increasing in commit order.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: Author,
    pub actor_tenant: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: String,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub outcome: AuditOutcome,
    pub status: u16,
}

/// Position after the last entry of a page: keyset on `seq`, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub seq: i64,
}

/// A cursor that this server did not issue for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this server issued")]
pub struct AuditCursorError;

/// Distinguishes audit cursors from events cursors.
const AUDIT_CURSOR_VERSION: u8 = 0xA1;

impl AuditCursor {
    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(9);
        bytes.push(AUDIT_CURSOR_VERSION);
        bytes.extend_from_slice(&self.seq.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// # Errors
    /// [`AuditCursorError`] for anything [`AuditCursor::encode`] did not make.
    pub fn decode(token: &str) -> Result<Self, AuditCursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| AuditCursorError)?;
        let [AUDIT_CURSOR_VERSION, rest @ ..] = bytes.as_slice() else {
            return Err(AuditCursorError);
        };
        let seq: [u8; 8] = rest.try_into().map_err(|_| AuditCursorError)?;
        Ok(Self {
            seq: i64::from_be_bytes(seq),
        })
    }
}

/// A query of the audit trail, newest first. Every filter is optional; all given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Inclusive lower bound on `at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `at`.
    pub to: Option<DateTime<Utc>>,
    /// The actor: their id exactly, or part of their name (a UPN or display name); case does
    /// not matter for a value in ASCII letters.
    pub actor: Option<String>,
    /// An action exactly (`comment.add`), or every action under a prefix ending with a period
    /// (`comment.`).
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub cursor: Option<AuditCursor>,
    /// 1 to 500 entries.
    pub page_size: PageSize,
}

impl AuditQuery {
    pub fn page_size(&self) -> u32 {
        self.page_size.get()
    }

    /// # Errors
    /// [`QueryError::PageSize`] outside 1 to 500.
    pub fn with_page_size(mut self, page_size: u32) -> Result<Self, QueryError> {
        self.page_size = PageSize::new(page_size)?;
        Ok(self)
    }

    /// True when `entry` passes every filter except the cursor: the reference the behaviour
    /// suite checks the engines against.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.from.is_none_or(|from| entry.at >= from)
            && self.to.is_none_or(|to| entry.at < to)
            && self.actor.as_ref().is_none_or(|a| {
                *a == entry.actor.id
                    || entry
                        .actor
                        .name
                        .as_deref()
                        .is_some_and(|name| name_matches(name, a))
            })
            && self
                .action
                .as_deref()
                .is_none_or(|a| match action_prefix(a) {
                    Some(prefix) => entry.action.starts_with(prefix),
                    None => a == entry.action,
                })
            && self.outcome.is_none_or(|o| o == entry.outcome)
    }
}

/// The prefix an action filter stands for, when it is one (`comment.`); `None` for an exact
/// action.
/// The actor filter on a name: part of it, in any case when the value is ASCII (both engines
/// lowercase ASCII alike), else as written.
fn name_matches(name: &str, value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() {
        return false;
    }
    if value.is_ascii() {
        name.to_ascii_lowercase()
            .contains(&value.to_ascii_lowercase())
    } else {
        name.contains(value)
    }
}

fn action_prefix(action: &str) -> Option<&str> {
    action.ends_with('.').then_some(action)
}

/// One page of the trail and the cursor of the next, if there may be one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// AOC's own audit trail and the people it has seen. Part of every [`crate::Store`].
#[async_trait]
pub trait AuditTrailStore: Send + Sync {
    /// Appends one entry; returns its `seq`.
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64>;

    /// One page of the entries matching `query`, newest (highest `seq`) first, with the cursor of
    /// the next page. Paging with that cursor returns every matching entry exactly once.
    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage>;

    /// Retention, and the only way entries ever leave the trail: deletes those whose `at` is
    /// before `cutoff`; returns how many.
    async fn delete_audit_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// Records that the user `object_id` of `tenant` made a request at `at`. True only the very
    /// first time that (tenant, object id) is seen, even when several requests race; later
    /// calls move its `last_seen` forward and refresh its name when one is given.
    async fn note_user_seen(
        &self,
        tenant: &str,
        object_id: &str,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The columns of [`AuditRow`], as engines select them.
pub const AUDIT_COLUMNS: &str = "seq, at, actor_id, actor_name, actor_tenant, client_ip, \
     request_id, action, target, details, outcome, status";

/// The text columns of a [`NewAuditEntry`], cleaned as every engine stores them.
pub struct AuditColumns {
    pub actor_id: String,
    pub actor_name: Option<String>,
    pub actor_tenant: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: String,
    pub action: String,
    pub target: Option<String>,
    /// `details` as JSON text.
    pub details: String,
    pub outcome: &'static str,
    pub status: i32,
}

impl AuditColumns {
    /// # Errors
    /// [`StoreError::InvalidArgument`] when `details` cannot be written as JSON.
    pub fn new(entry: &NewAuditEntry) -> StoreResult<Self> {
        let clean = |text: &str| clean_text(text).into_owned();
        Ok(Self {
            actor_id: clean(&entry.actor.id),
            actor_name: entry.actor.name.as_deref().map(clean),
            actor_tenant: entry.actor_tenant.as_deref().map(clean),
            client_ip: entry.client_ip.as_deref().map(clean),
            request_id: clean(&entry.request_id),
            action: clean(&entry.action),
            target: entry.target.as_deref().map(clean),
            details: serde_json::to_string(&entry.details)
                .map_err(|e| StoreError::invalid("details", e.to_string()))?,
            outcome: entry.outcome.as_str(),
            status: i32::from(entry.status),
        })
    }
}

/// The columns an engine reads back, its times already converted.
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: Option<String>,
    pub actor_tenant: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: String,
    pub action: String,
    pub target: Option<String>,
    pub details: String,
    pub outcome: String,
    pub status: i64,
}

/// Rebuilds the entry from its row.
///
/// # Errors
/// [`StoreError::Corrupt`] for values no engine writes.
pub fn decode_audit(row: AuditRow) -> StoreResult<AuditEntry> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("audit entry {}: {what}: {e}", row.seq))
    };
    let details = serde_json::from_str(&row.details).map_err(|e| corrupt("details", &e))?;
    let outcome =
        AuditOutcome::parse(&row.outcome).ok_or_else(|| corrupt("outcome", &row.outcome))?;
    let status = u16::try_from(row.status).map_err(|e| corrupt("status", &e))?;
    Ok(AuditEntry {
        seq: row.seq,
        at: row.at,
        actor: Author {
            id: row.actor_id,
            name: row.actor_name,
        },
        actor_tenant: row.actor_tenant,
        client_ip: row.client_ip,
        request_id: row.request_id,
        action: row.action,
        target: row.target,
        details,
        outcome,
        status,
    })
}

/// The audit query as SQL: [`SqlFilter::select_from`] with [`AUDIT_COLUMNS`] and `audit_trail`
/// gives the page query.
pub fn audit_filter(query: &AuditQuery, dialect: Dialect) -> SqlFilter {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut bind = |value: Bind| {
        binds.push(value);
        dialect.placeholder(binds.len())
    };
    if let Some(from) = query.from {
        clauses.push(format!("at >= {}", bind(Bind::Timestamp(from))));
    }
    if let Some(to) = query.to {
        clauses.push(format!("at < {}", bind(Bind::Timestamp(to))));
    }
    if let Some(actor) = &query.actor {
        let id = bind(Bind::Text(clean_text(actor).into_owned()));
        let value = actor.trim();
        let name = if value.is_empty() {
            "FALSE".to_owned()
        } else if value.is_ascii() {
            let ph = bind(Bind::Text(
                clean_text(&value.to_ascii_lowercase()).into_owned(),
            ));
            dialect.contains("lower(coalesce(actor_name, ''))", &ph)
        } else {
            let ph = bind(Bind::Text(clean_text(value).into_owned()));
            dialect.contains("coalesce(actor_name, '')", &ph)
        };
        clauses.push(format!("(actor_id = {id} OR {name})"));
    }
    if let Some(action) = &query.action {
        let action = clean_text(action).into_owned();
        match action_prefix(&action) {
            // substr counts characters on both engines; the length is a number we computed.
            Some(prefix) => {
                let length = prefix.chars().count();
                let ph = bind(Bind::Text(action.clone()));
                clauses.push(format!("substr(action, 1, {length}) = {ph}"));
            }
            None => {
                let ph = bind(Bind::Text(action.clone()));
                clauses.push(format!("action = {ph}"));
            }
        }
    }
    if let Some(outcome) = query.outcome {
        let ph = bind(Bind::Text(outcome.as_str().to_owned()));
        clauses.push(format!("outcome = {ph}"));
    }
    if let Some(cursor) = query.cursor {
        clauses.push(format!("seq < {}", bind(Bind::Integer(cursor.seq))));
    }
    SqlFilter {
        where_sql: if clauses.is_empty() {
            "TRUE".to_owned()
        } else {
            clauses.join(" AND ")
        },
        order_sql: "seq DESC",
        binds,
        limit: query.page_size() + 1,
    }
}

/// Turns the rows fetched with [`SqlFilter::limit`] into a page and its next cursor.
pub fn into_audit_page(mut items: Vec<AuditEntry>, query: &AuditQuery) -> AuditPage {
    let page_size = query.page_size() as usize;
    let next_cursor = if items.len() > page_size {
        items.truncate(page_size);
        items
            .last()
            .map(|last| AuditCursor { seq: last.seq }.encode())
    } else {
        None
    };
    AuditPage { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for seq in [0, 1, 42, i64::MAX] {
            let cursor = AuditCursor { seq };
            assert_eq!(AuditCursor::decode(&cursor.encode()), Ok(cursor));
        }
        let events_cursor = aoc_model::Cursor {
            timestamp: DateTime::from_timestamp_micros(0).expect("epoch"),
            id: aoc_model::EventId::from_bytes([1; 16]),
        }
        .encode();
        for bad in ["", "abc", "!!!", "oQ", events_cursor.as_str()] {
            assert_eq!(AuditCursor::decode(bad), Err(AuditCursorError), "{bad}");
        }
    }

    #[test]
    fn every_value_is_a_bound_parameter() {
        let query = AuditQuery {
            actor: Some("'; DROP TABLE audit_trail; --".into()),
            action: Some("comment.".into()),
            outcome: Some(AuditOutcome::Denied),
            cursor: Some(AuditCursor { seq: 9 }),
            ..AuditQuery::default()
        };
        let sql = audit_filter(&query, Dialect::Postgres);
        assert_eq!(
            sql.where_sql,
            "(actor_id = $1 OR strpos(lower(coalesce(actor_name, '')), $2) > 0) AND \
             substr(action, 1, 8) = $3 AND outcome = $4 AND seq < $5"
        );
        assert_eq!(
            sql.binds,
            vec![
                Bind::Text("'; DROP TABLE audit_trail; --".into()),
                Bind::Text("'; drop table audit_trail; --".into()),
                Bind::Text("comment.".into()),
                Bind::Text("denied".into()),
                Bind::Integer(9),
            ]
        );
        assert_eq!(sql.limit, 51);
        let exact = AuditQuery {
            action: Some("comment.add".into()),
            ..AuditQuery::default()
        };
        assert_eq!(
            audit_filter(&exact, Dialect::Postgres).where_sql,
            "action = $1"
        );
        assert_eq!(
            audit_filter(&AuditQuery::default(), Dialect::Postgres).where_sql,
            "TRUE"
        );
    }

    #[test]
    fn prefixes_end_with_a_period() {
        assert_eq!(action_prefix("comment."), Some("comment."));
        assert_eq!(action_prefix("comment"), None);
        assert_eq!(action_prefix("comment.add"), None);
    }
}
