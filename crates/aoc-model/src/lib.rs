//! AOC's shared vocabulary: the normalized [`Event`], its ids, the [`EventQuery`] that every
//! front end (API, CLI, later MCP and AI) builds, and the opaque [`Cursor`] of keyset paging.
//!
//! Pure data and pure functions only: no I/O, so every other crate can depend on it.

mod event;
mod ids;
mod ip;
mod query;
pub mod search;

pub use event::{Actor, ActorKind, Change, Event, EventResult, Location, Target};
pub use ids::{DedupeKey, EventId, Seq, TenantId};
pub use ip::parse_client_ip;
pub use query::{
    ActorFilter, Cursor, CursorError, DEFAULT_PAGE_SIZE, EventPage, EventQuery, MAX_PAGE_SIZE,
    Order, PageSize, QueryError, actor_key,
};
