//! The actor filter by lookup. A tenant has thousands of actors and millions of events; testing
//! every event's `actor_keys` for the filter's value walks the time index until a page fills,
//! which for a person holding one event in two thousand reads 100,000 rows, and for a value
//! that matches nobody reads them all. So the value is first looked up in `event_actors` (each
//! distinct `actor_keys`, kept by every insert), with the people whose display name it matches
//! (`actor_names`). When a few actors answer (a person is often named three ways: by UPN alone,
//! with the object id, with the display name too) holding few events between them, the filter
//! becomes `actor_keys IN (…)`, read from `events_actor_keys_time`; when none does, nothing can
//! match; when many do, or their events are many, the filter tests each event as before (a page
//! of such common matches fills soon along the time index).
//!
//! The lookup finds every actor the filter matches, or more (a name that differs only in
//! letter case from a UPN's), never fewer: the table holds every stored event's keys.

use std::collections::{BTreeMap, HashSet};

use aoc_model::{Event, EventId, EventQuery, KEY_SEPARATOR, TextMatch};

use super::{Dialect, SqlEngine, SqlTransaction, Statement};
use crate::filter::{Bind, FilterDialect};
use crate::{StoreResult, clean_text};

/// Keys per insert statement.
const KEYS_PER_INSERT: usize = 500;
/// Actors a filter may stand for and still be read from the index…
const MAX_KEYS: usize = 16;
/// …holding at most this many events between them (every one is read and ordered).
const MAX_EVENTS: i64 = 20_000;
/// People whose name matches, beyond which the lookup gives up (the filter tests each event).
const MAX_NAMED: usize = 50;

/// What the lookup found for the query's actor filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorLookup {
    /// No stored actor matches: neither can an event.
    Nothing,
    /// A few, with few events: their `actor_keys`.
    Keys(Vec<String>),
    /// Many, or with many events (or too many names to look up): each event is tested.
    Many,
}

/// Events per `(tenant, actor_keys)`.
pub type ActorCounts = BTreeMap<(String, String), i64>;

/// The actors of the events in `events` whose id is in `new`, stored now, with their counts.
fn keys_of(events: &[Event], new: &[EventId]) -> ActorCounts {
    let new: HashSet<&EventId> = new.iter().collect();
    let mut counts = ActorCounts::new();
    for e in events.iter().filter(|e| new.contains(&e.id)) {
        let keys = aoc_model::actor_keys(&e.actor);
        if !keys.is_empty() {
            let key = (
                clean_text(e.tenant_id.as_str()).into_owned(),
                clean_text(&keys).into_owned(),
            );
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

fn inserts(dialect: Dialect, counts: ActorCounts) -> Vec<Statement> {
    let counts: Vec<((String, String), i64)> = counts.into_iter().collect();
    counts
        .chunks(KEYS_PER_INSERT)
        .map(|chunk| {
            Statement::raw(
                format!(
                    "INSERT INTO event_actors (tenant_id, actor_keys, events) VALUES {} \
                     ON CONFLICT (tenant_id, actor_keys) DO UPDATE SET \
                     events = event_actors.events + excluded.events",
                    dialect.value_rows(chunk.len(), 3)
                ),
                chunk
                    .iter()
                    .flat_map(|((tenant, keys), n)| {
                        [
                            tenant.clone().into(),
                            keys.clone().into(),
                            Bind::Integer(*n),
                        ]
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Records the actors of the events just stored (`new` among `events`), in their transaction.
pub async fn record_actors(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    events: &[Event],
    new: &[EventId],
) -> StoreResult<()> {
    for statement in inserts(dialect, keys_of(events, new)) {
        tx.execute(statement).await?;
    }
    Ok(())
}

/// Records actors and their counts on their own (rows whose keys were filled in later).
pub async fn record_actor_keys<E: SqlEngine + ?Sized>(
    engine: &E,
    counts: ActorCounts,
) -> StoreResult<()> {
    for statement in inserts(engine.dialect(), counts) {
        engine.write(statement).await?;
    }
    Ok(())
}

/// Looks up the actors `query`'s actor filter matches, where searches read; `None` when the
/// query has no actor filter.
pub async fn lookup<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    dialect: &(dyn FilterDialect + Send + Sync),
) -> StoreResult<Option<ActorLookup>> {
    let Some(actor) = query.actor.as_deref().and_then(TextMatch::parse) else {
        return Ok(None);
    };
    let sql_dialect = engine.dialect();
    let needle = clean_text(&actor.key_needle()).into_owned();

    // People whose display name the value matches, by UPN (as the filter's own test does).
    let named = match &actor {
        TextMatch::Whole(name) => Statement::raw(
            format!(
                "SELECT DISTINCT upn FROM actor_names WHERE name = {} LIMIT {}",
                sql_dialect.placeholder(1),
                MAX_NAMED + 1
            ),
            vec![Bind::Text(clean_text(name).into_owned())],
        ),
        _ => Statement::raw(
            format!(
                "SELECT DISTINCT upn FROM actor_names WHERE {} LIMIT {}",
                dialect.contains("name", &sql_dialect.placeholder(1)),
                MAX_NAMED + 1
            ),
            vec![Bind::Text(needle.clone())],
        ),
    };
    let mut upns = Vec::new();
    for mut row in engine.read_search(named).await? {
        upns.push(row.text("upn")?);
    }
    if upns.len() > MAX_NAMED {
        return Ok(Some(ActorLookup::Many));
    }

    let mut binds = vec![Bind::Text(needle)];
    let mut tests = vec![dialect.contains("actor_keys", &sql_dialect.placeholder(1))];
    for upn in upns {
        binds.push(Bind::Text(format!("{KEY_SEPARATOR}{upn}{KEY_SEPARATOR}")));
        tests.push(dialect.contains("actor_keys", &sql_dialect.placeholder(binds.len())));
    }
    let tenant = match &query.tenant {
        Some(tenant) => {
            binds.push(Bind::Text(clean_text(tenant.as_str()).into_owned()));
            format!("tenant_id = {} AND ", sql_dialect.placeholder(binds.len()))
        }
        None => String::new(),
    };
    let found = engine
        .read_search(Statement::raw(
            format!(
                "SELECT actor_keys, events FROM event_actors WHERE {tenant}({}) LIMIT {}",
                tests.join(" OR "),
                MAX_KEYS + 1
            ),
            binds,
        ))
        .await?;
    // The same keys in several tenants are one value to the filter.
    let mut keys = BTreeMap::new();
    for mut row in found {
        let events = row.integer("events")?;
        *keys.entry(row.text("actor_keys")?).or_insert(0) += events;
    }
    let events: i64 = keys.values().sum();
    Ok(Some(if keys.is_empty() {
        ActorLookup::Nothing
    } else if keys.len() > MAX_KEYS || events > MAX_EVENTS {
        ActorLookup::Many
    } else {
        ActorLookup::Keys(keys.into_keys().collect())
    }))
}

/// An engine's dialect with the actor filter's lookup.
pub struct WithActor {
    pub inner: Box<dyn FilterDialect + Send + Sync>,
    pub actor_keys: Vec<String>,
}

impl FilterDialect for WithActor {
    fn placeholder(&self, index: usize) -> String {
        self.inner.placeholder(index)
    }
    fn text_match(&self, placeholder: &str) -> String {
        self.inner.text_match(placeholder)
    }
    fn text_query(&self, text: &aoc_model::search::SearchText) -> String {
        self.inner.text_query(text)
    }
    fn unplanned_text_match(&self, placeholder: &str) -> String {
        self.inner.unplanned_text_match(placeholder)
    }
    fn unplanned_text_query(&self, text: &aoc_model::search::SearchText) -> String {
        self.inner.unplanned_text_query(text)
    }
    fn contains(&self, column: &str, placeholder: &str) -> String {
        self.inner.contains(column, placeholder)
    }
    fn time_bucket(&self, interval_seconds: i64) -> String {
        self.inner.time_bucket(interval_seconds)
    }
    fn byte_order(&self, expression: &str) -> String {
        self.inner.byte_order(expression)
    }
    fn actor_keys(&self) -> Option<&[String]> {
        Some(&self.actor_keys)
    }
}
