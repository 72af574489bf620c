//! Reading events: search, one event with its annotations, figures, and the tags in use.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use aoc_model::{
    AggregateSpec, CommentId, DEFAULT_TAGS, Event, EventAggregates, EventId, EventPage, EventQuery,
    Facet,
};
use aoc_store::{Comment, TagRecord};

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};

/// An event id from its text.
///
/// # Errors
/// Not a UUID, named `id`.
pub fn event_id(value: &str) -> ServiceResult<EventId> {
    value
        .parse()
        .map_err(|_| ServiceError::invalid("id", "expected an event id (a UUID)"))
}

/// A comment id from its text.
///
/// # Errors
/// Not a UUID, named `id`.
pub fn comment_id(value: &str) -> ServiceResult<CommentId> {
    value
        .parse::<uuid::Uuid>()
        .map(CommentId::from_uuid)
        .map_err(|_| ServiceError::invalid("id", "expected a comment id (a UUID)"))
}

/// An event with its raw record, tags and comments.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: Event,
    pub tags: Vec<TagRecord>,
    pub comments: Vec<Comment>,
}

/// The most frequent values of each facet asked for, by the facet's name (`operation`, `actor`,
/// `service`, `result`, `country`, `source`, `ip`), which is also the filter a value goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventFacets {
    pub facets: std::collections::BTreeMap<String, Vec<aoc_model::ValueCount>>,
}

/// A tag in use or offered by default.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagSummary {
    pub tag: String,
    /// Events that carry it.
    pub events: u64,
    /// One of the tags AOC offers from the start.
    pub default: bool,
}

impl Services {
    /// One page of the events that match `query`, without their raw records (`raw` is `null`):
    /// those are most of a page's bytes, and [`Services::get_event`] carries them. The page is
    /// shared with every caller of the same search over the same data.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn search_events(
        &self,
        caller: &Caller,
        query: &EventQuery,
    ) -> ServiceResult<Arc<EventPage>> {
        caller.require(Role::Reader)?;
        let query = EventQuery {
            without_raw: true,
            ..query.clone()
        };
        self.cached("events", caller, &query, async {
            Ok(self.store.query_events(&query).await?)
        })
        .await
    }

    /// The most frequent values of each of `facets` among the events that match `query`.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn facets(
        &self,
        caller: &Caller,
        query: &EventQuery,
        facets: &[Facet],
        top: u32,
    ) -> ServiceResult<EventFacets> {
        caller.require(Role::Reader)?;
        self.cached("facets", caller, &(query, facets, top), async {
            let found = self.store.facets(query, facets, top).await?;
            Ok(EventFacets {
                facets: found
                    .into_iter()
                    .map(|(facet, values)| (facet.name().to_owned(), values))
                    .collect(),
            })
        })
        .await
        .map(Arc::unwrap_or_clone)
    }

    /// Figures over the events that match `query`.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn aggregate_events(
        &self,
        caller: &Caller,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> ServiceResult<EventAggregates> {
        caller.require(Role::Reader)?;
        self.cached("aggregations", caller, &(query, spec), async {
            Ok(self.store.aggregate_events(query, spec).await?)
        })
        .await
        .map(Arc::unwrap_or_clone)
    }

    /// The event with its raw record, tags and comments.
    ///
    /// # Errors
    /// A caller without the Reader role; no such event; the store's errors.
    pub async fn get_event(&self, caller: &Caller, id: EventId) -> ServiceResult<EventDetail> {
        caller.require(Role::Reader)?;
        let event = self.stored_event(id).await?;
        let (tags, comments) =
            tokio::try_join!(self.store.event_tags(id), self.store.event_comments(id))?;
        Ok(EventDetail {
            event,
            tags,
            comments,
        })
    }

    /// The tags in use, most used first, then the defaults nobody has used yet.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn list_tags(&self, caller: &Caller) -> ServiceResult<Vec<TagSummary>> {
        caller.require(Role::Reader)?;
        let mut tags: Vec<TagSummary> = self
            .store
            .tag_counts()
            .await?
            .into_iter()
            .map(|c| TagSummary {
                default: DEFAULT_TAGS.contains(&c.tag.as_str()),
                tag: c.tag.as_str().to_owned(),
                events: c.events,
            })
            .collect();
        for default in DEFAULT_TAGS {
            if !tags.iter().any(|t| t.tag == default) {
                tags.push(TagSummary {
                    tag: default.to_owned(),
                    events: 0,
                    default: true,
                });
            }
        }
        Ok(tags)
    }

    /// `compute`'s answer, or the one kept for the same `kind` of request over the same data
    /// (the store's data version) and the same tenants (see [`crate::query_cache`]).
    async fn cached<T>(
        &self,
        kind: &'static str,
        caller: &Caller,
        request: &(impl std::fmt::Debug + Sync),
        compute: impl std::future::Future<Output = ServiceResult<T>> + Send,
    ) -> ServiceResult<Arc<T>>
    where
        T: Clone
            + Serialize
            + serde::de::DeserializeOwned
            + crate::query_cache::Weighed
            + Send
            + Sync
            + 'static,
    {
        let version = self.store.data_version().await?;
        let key = (version, caller.scope.label(), request);
        self.query_cache.get_or_compute(kind, &key, compute).await
    }

    /// The stored event, or not found.
    pub(crate) async fn stored_event(&self, id: EventId) -> ServiceResult<Event> {
        self.store
            .get_event(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("event {id}")))
    }
}
