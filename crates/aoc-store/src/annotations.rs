//! What analysts add to events: tags and comments.
//!
//! Annotations live beside the events, not in them: an event stays exactly what its source sent.
//! They follow their event, though: they are only added to a stored event, and
//! [`crate::EventStore::delete_events`] and retention ([`crate::EventStore::delete_events_before`])
//! delete them with it, in the same transaction. Each annotation keeps its event's time for that,
//! since PostgreSQL cannot point a foreign key at a partitioned events table.
//!
//! Engines keep tags in `event_tags (event_id, event_time, tag, …)`, whose `event_id` has the
//! type of `events.id`: the events query filters by tag with
//! `id IN (SELECT event_id FROM event_tags WHERE tag = ?)`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_model::{Author, CommentBody, CommentId, Event, EventId, Tag};

use crate::StoreResult;

/// The event an annotation is added to: its id and its time, which the engine checks against the
/// stored event (on PostgreSQL the time also picks the partition to look in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    pub id: EventId,
    pub timestamp: DateTime<Utc>,
}

impl From<&Event> for EventRef {
    fn from(event: &Event) -> Self {
        Self {
            id: event.id,
            timestamp: event.timestamp,
        }
    }
}

/// A tag on one event, with who added it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagRecord {
    pub tag: Tag,
    pub by: Author,
    pub at: DateTime<Utc>,
}

/// A tag in use and how many events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: Tag,
    pub events: u64,
}

/// A comment on an event. The body is stored as [`CommentBody`] gave it, except that NUL becomes
/// U+FFFD, as in every text column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: CommentId,
    pub event_id: EventId,
    pub author: Author,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the body was last changed; `None` for a comment never edited.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Tags and comments. Part of every [`crate::Store`].
///
/// Times are stored to the microsecond; what a call returns is what was stored. Who may change
/// what (only the author edits a comment, say) is the caller's rule, not the store's.
#[async_trait]
pub trait AnnotationStore: Send + Sync {
    /// Tags `event`. True when the event did not carry the tag yet; tagging again is harmless and
    /// keeps the first author and time.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when no event with that id and time is stored.
    async fn add_tag(
        &self,
        event: EventRef,
        tag: &Tag,
        by: &Author,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Takes the tag off the event. True when the event carried it.
    async fn remove_tag(&self, event: EventId, tag: &Tag) -> StoreResult<bool>;

    /// The tags of one event, oldest first (ties by tag).
    async fn event_tags(&self, event: EventId) -> StoreResult<Vec<TagRecord>>;

    /// Every tag in use with the number of events carrying it: most used first, ties by tag.
    async fn tag_counts(&self) -> StoreResult<Vec<TagCount>>;

    /// Adds a comment to `event`, with a new id.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when no event with that id and time is stored.
    async fn add_comment(
        &self,
        event: EventRef,
        author: &Author,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Comment>;

    async fn get_comment(&self, id: CommentId) -> StoreResult<Option<Comment>>;

    /// Replaces the body and sets `updated_at`; `None` when there is no such comment.
    async fn update_comment(
        &self,
        id: CommentId,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Comment>>;

    /// True when the comment existed.
    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool>;

    /// The comments of one event, oldest first (ties by id).
    async fn event_comments(&self, event: EventId) -> StoreResult<Vec<Comment>>;
}
