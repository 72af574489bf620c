//! Saved searches: a name and the dashboard's query string (`range=today&actor=ravi`), kept by
//! their owner and, when shared, offered to every reader. The query is kept as written: a
//! relative range (`hours=24`, `range=today`) stays relative, a fixed one (`from`, `to`) fixed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use aoc_model::Author;

use crate::StoreResult;

/// One saved search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedSearch {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    pub name: String,
    /// The dashboard's query string, e.g. `range=today&operation=%22Set-Mailbox%22`.
    pub query: String,
    /// Offered to every reader, not only its owner.
    pub shared: bool,
    pub owner: Author,
    pub created_at: DateTime<Utc>,
}

/// A search to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSavedSearch {
    pub name: String,
    pub query: String,
    pub shared: bool,
    pub owner: Author,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait SavedSearchStore: Send + Sync {
    /// Saves `search` under a new id.
    async fn save_search(&self, search: &NewSavedSearch) -> StoreResult<SavedSearch>;

    /// The searches `owner_id` saved and every shared one, newest first.
    async fn saved_searches(&self, owner_id: &str) -> StoreResult<Vec<SavedSearch>>;

    async fn get_saved_search(&self, id: Uuid) -> StoreResult<Option<SavedSearch>>;

    /// True when it existed.
    async fn delete_saved_search(&self, id: Uuid) -> StoreResult<bool>;
}
