//! The events query every front end builds, and the opaque keyset cursor.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::{Event, EventResult};
use crate::ids::{EventId, TenantId};
use crate::search::SearchText;

pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

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
    pub source: Option<String>,
    pub service: Option<String>,
    /// Exact operation name.
    pub operation: Option<String>,
    /// Actor UPN, or object id when it is a GUID; compared case-insensitively
    /// (see [`EventQuery::actor_filter`]).
    pub actor: Option<String>,
    pub client_ip: Option<IpAddr>,
    pub result: Option<EventResult>,
    pub text: Option<SearchText>,
    pub order: Order,
    pub cursor: Option<Cursor>,
    pub page_size: PageSize,
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
        Ok(())
    }

    /// The actor filter as engines compare it: a GUID is an object id, anything else a UPN,
    /// lowercased either way. One column per case keeps each lookup on one index.
    pub fn actor_filter(&self) -> Option<ActorFilter> {
        self.actor.as_deref().map(|value| {
            let key = actor_key(value);
            if uuid::Uuid::parse_str(&key).is_ok() {
                ActorFilter::Id(key)
            } else {
                ActorFilter::Upn(key)
            }
        })
    }

    /// True when `event` passes every filter except the cursor: the reference the behaviour
    /// suite checks the engines against.
    pub fn matches(&self, event: &Event) -> bool {
        let actor = self.actor_filter();
        self.from.is_none_or(|from| event.timestamp >= from)
            && self.to.is_none_or(|to| event.timestamp < to)
            && self.tenant.as_ref().is_none_or(|t| *t == event.tenant_id)
            && self.source.as_ref().is_none_or(|s| *s == event.source)
            && self.service.as_ref().is_none_or(|s| *s == event.service)
            && self
                .operation
                .as_ref()
                .is_none_or(|o| *o == event.operation)
            && actor.is_none_or(|a| match a {
                ActorFilter::Upn(upn) => event.actor.upn.as_deref().map(actor_key) == Some(upn),
                ActorFilter::Id(id) => event.actor.id.as_deref().map(actor_key) == Some(id),
            })
            && self.client_ip.is_none_or(|ip| event.client_ip == Some(ip))
            && self.result.is_none_or(|r| r == event.result)
            && self
                .text
                .as_ref()
                .is_none_or(|t| t.matches(&crate::search::index_text(event)))
    }
}

/// How the actor filter compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// A lowercased user principal name.
    Upn(String),
    /// A lowercased object id.
    Id(String),
}

/// Lowercases an actor UPN or id for comparison.
pub fn actor_key(value: &str) -> String {
    value.trim().to_lowercase()
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
