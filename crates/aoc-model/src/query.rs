//! The events query every front end builds, and the opaque keyset cursor.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventResult};
use crate::ids::{EventId, TenantId};
use crate::ip::IpRange;
use crate::matching::{TextMatch, actor_keys, target_keys};
use crate::query_language::QueryExpr;
use crate::search::SearchText;

pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page of internal bulk readers (exports), which page through a whole result.
pub const MAX_BULK_PAGE_SIZE: u32 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// A validated events query. Every filter is optional; all given filters must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// Inclusive lower bound on the event time.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on the event time.
    pub to: Option<DateTime<Utc>>,
    pub tenant: Option<TenantId>,
    /// A collection path the event was seen via, or part of one ([`TextMatch`]).
    pub source: Option<String>,
    /// Service name, or part of one ([`TextMatch`]).
    pub service: Option<String>,
    /// Operation name, or part of one; the filters' rules are [`TextMatch`]'s.
    pub operation: Option<String>,
    /// Operations that start with this text (case-sensitive, like the names themselves).
    pub operation_prefix: Option<String>,
    /// Actor UPN, display name or object id, or part of one ([`TextMatch`]).
    pub actor: Option<String>,
    pub client_ip: Option<IpAddr>,
    /// Client addresses inside a CIDR block.
    pub ip_range: Option<IpRange>,
    /// A target's object id, UPN or name, or part of one ([`TextMatch`]).
    pub target: Option<String>,
    /// The application signed in to or acting, by name or part of one ([`TextMatch`]).
    pub application: Option<String>,
    /// The country or region the source reported (`US`, `FR`), case-insensitive.
    pub country: Option<String>,
    /// An analyst tag (already normalized); engines match it against their tag table.
    pub tag: Option<String>,
    pub result: Option<EventResult>,
    pub text: Option<SearchText>,
    pub order: Order,
    pub cursor: Option<Cursor>,
    pub page_size: PageSize,
    /// Leave each event's `raw` out (`null`), for readers that do not show it (CSV exports):
    /// the raw record is most of what a page costs to read.
    pub without_raw: bool,
    /// What the events must not match (`not_operation=…`): each read as its filter is.
    pub exclude: Exclusions,
    /// What the search box's query language asks beyond the fields above (`OR`, a second
    /// actor, a group turned around): see [`crate::query_language`].
    pub expr: Option<QueryExpr>,
}

/// Filters turned around: an event that matches one of them is left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exclusions {
    pub source: Option<String>,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub application: Option<String>,
    pub country: Option<String>,
    pub result: Option<EventResult>,
}

impl Exclusions {
    /// Each exclusion as the filter it turns around, one query per set field.
    pub fn as_filters(&self) -> Vec<EventQuery> {
        let mut out = Vec::new();
        let mut push = |query: EventQuery| out.push(query);
        if let Some(v) = &self.source {
            push(EventQuery {
                source: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.service {
            push(EventQuery {
                service: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.operation {
            push(EventQuery {
                operation: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.actor {
            push(EventQuery {
                actor: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.target {
            push(EventQuery {
                target: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.application {
            push(EventQuery {
                application: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = &self.country {
            push(EventQuery {
                country: Some(v.clone()),
                ..EventQuery::default()
            });
        }
        if let Some(v) = self.result {
            push(EventQuery {
                result: Some(v),
                ..EventQuery::default()
            });
        }
        out
    }
}

/// Events per page: 1 to [`MAX_PAGE_SIZE`], checked when made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub fn new(size: u32) -> Result<Self, QueryError> {
        if (1..=MAX_PAGE_SIZE).contains(&size) {
            Ok(Self(size))
        } else {
            Err(QueryError::PageSize)
        }
    }

    /// A page for bulk readers, clamped to 1..=[`MAX_BULK_PAGE_SIZE`].
    pub fn bulk(size: u32) -> Self {
        Self(size.clamp(1, MAX_BULK_PAGE_SIZE))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self(DEFAULT_PAGE_SIZE)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("page_size must be between 1 and {MAX_PAGE_SIZE}")]
    PageSize,
    #[error("from must be before to")]
    EmptyRange,
    #[error("{0} must not contain control characters")]
    ControlCharacter(&'static str),
}

impl EventQuery {
    pub fn page_size(&self) -> u32 {
        self.page_size.get()
    }

    pub fn with_page_size(mut self, page_size: u32) -> Result<Self, QueryError> {
        self.page_size = PageSize::new(page_size)?;
        Ok(self)
    }

    /// Checks the relations between fields that single values cannot.
    pub fn validate(&self) -> Result<(), QueryError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(QueryError::EmptyRange);
        }
        for (name, value) in [
            ("target", &self.target),
            ("actor", &self.actor),
            ("application", &self.application),
            ("country", &self.country),
            ("operation", &self.operation_prefix),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Err(QueryError::ControlCharacter(name));
            }
        }
        Ok(())
    }

    /// True when `event` passes every filter except the cursor: the reference the behaviour
    /// suite checks the engines against.
    pub fn matches(&self, event: &Event) -> bool {
        self.matches_included(event)
            && !self
                .exclude
                .as_filters()
                .iter()
                .any(|q| q.matches_included(event))
    }

    /// [`EventQuery::matches`] without the exclusions.
    fn matches_included(&self, event: &Event) -> bool {
        let text = |value: &Option<String>, name: &str| {
            value
                .as_deref()
                .and_then(TextMatch::parse)
                .is_none_or(|m| m.matches(name))
        };
        self.from.is_none_or(|from| event.timestamp >= from)
            && self.to.is_none_or(|to| event.timestamp < to)
            && self.tenant.as_ref().is_none_or(|t| *t == event.tenant_id)
            && self
                .source
                .as_deref()
                .and_then(TextMatch::parse)
                .is_none_or(|m| event.seen_via().any(|source| m.matches(source)))
            && text(&self.service, &event.service)
            && self
                .operation
                .as_deref()
                .and_then(TextMatch::operation)
                .is_none_or(|m| m.matches(&event.operation))
            && self
                .actor
                .as_deref()
                .and_then(TextMatch::parse)
                .is_none_or(|m| m.matches_keys(&actor_keys(&event.actor)))
            && self
                .operation_prefix
                .as_ref()
                .is_none_or(|p| event.operation.starts_with(p.as_str()))
            && self.client_ip.is_none_or(|ip| event.client_ip == Some(ip))
            && self
                .ip_range
                .is_none_or(|range| event.client_ip.is_some_and(|ip| range.contains(ip)))
            && self
                .target
                .as_deref()
                .and_then(TextMatch::parse)
                .is_none_or(|m| m.matches_keys(&target_keys(&event.targets)))
            && self
                .application
                .as_deref()
                .and_then(TextMatch::parse)
                .is_none_or(|m| event.application().is_some_and(|app| m.matches(app)))
            && self.country.as_ref().is_none_or(|c| {
                country_key(&event.location.as_ref().and_then(|l| l.country.clone()))
                    == Some(actor_key(c))
            })
            && self.result.is_none_or(|r| r == event.result)
            && self
                .text
                .as_ref()
                .is_none_or(|t| t.matches(&crate::search::index_text(event)))
            && self.expr.as_ref().is_none_or(|e| e.matches(event))
    }
}

/// Lowercases an actor UPN or id for comparison.
pub fn actor_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The country as stored and compared: trimmed, lowercased, `None` when empty.
pub fn country_key(country: &Option<String>) -> Option<String> {
    country.as_deref().map(actor_key).filter(|c| !c.is_empty())
}

/// Position after the last row of a page: keyset on (timestamp, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub timestamp: DateTime<Utc>,
    pub id: EventId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this server issued")]
pub struct CursorError;

impl Cursor {
    pub fn after(event: &Event) -> Self {
        Self {
            timestamp: event.timestamp,
            id: event.id,
        }
    }

    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(25);
        bytes.push(1u8); // format version
        bytes.extend_from_slice(&self.timestamp.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(token: &str) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| CursorError)?;
        let [1, rest @ ..] = bytes.as_slice() else {
            return Err(CursorError);
        };
        if rest.len() != 24 {
            return Err(CursorError);
        }
        let micros = i64::from_be_bytes(rest[..8].try_into().map_err(|_| CursorError)?);
        let id: [u8; 16] = rest[8..].try_into().map_err(|_| CursorError)?;
        let timestamp = DateTime::from_timestamp_micros(micros).ok_or(CursorError)?;
        Ok(Self {
            timestamp,
            id: EventId::from_bytes(id),
        })
    }
}

/// One page of events and the cursor of the next, if there may be one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            timestamp: DateTime::from_timestamp_micros(1_740_823_342_183_746).expect("valid"),
            id: EventId::from_bytes([7; 16]),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "abc", "!!!", "AQ", &"A".repeat(10_000)] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad}");
        }
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(EventQuery::default().with_page_size(0).is_err());
        assert!(EventQuery::default().with_page_size(501).is_err());
        assert_eq!(
            EventQuery::default()
                .with_page_size(500)
                .map(|q| q.page_size()),
            Ok(500)
        );
    }
}
