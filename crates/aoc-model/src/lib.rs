//! AOC's shared vocabulary: the normalized [`Event`], its ids, the [`EventQuery`] that every
//! front end (API, CLI, later MCP and AI) builds, the opaque [`Cursor`] of keyset paging, and
//! the analysts' annotations ([`Tag`], [`CommentBody`], [`Author`]).
//!
//! Pure data and pure functions only: no I/O (new comment ids read the clock), so every other
//! crate can depend on it.

pub mod activity;
pub mod aggregate;
mod annotation;
mod countries;
mod event;
mod ids;
mod ip;
mod matching;
mod query;
pub mod query_language;
pub mod search;

pub use aggregate::{AggregateSpec, EventAggregates, Facet, TimeBucket, ValueCount};
pub use annotation::{
    Author, CommentBody, CommentBodyError, CommentId, DEFAULT_TAGS, MAX_COMMENT_CHARS,
    MAX_TAG_CHARS, Tag, TagError,
};
pub use countries::country_code;
pub use event::{Actor, ActorKind, Change, Event, EventResult, Location, Sighting, Target};
pub use ids::{DedupeKey, EventId, Seq, TenantId};
pub use ip::{IpRange, ip_key, parse_client_ip};
pub use matching::{KEY_SEPARATOR, TextMatch, actor_keys, split_keys, target_keys, target_names};
pub use query::{
    Cursor, CursorError, DEFAULT_PAGE_SIZE, EventPage, EventQuery, Exclusions, MAX_PAGE_SIZE,
    Order, PageSize, QueryError, actor_key, country_key,
};
pub use query_language::{QueryExpr, QueryTextError, Term};
