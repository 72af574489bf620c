//! One event per activity: a record that another collection path already delivered (the same
//! sign-in from Graph and from the unified log, see [`aoc_model::activity`]) joins the stored
//! event as a *sighting* — its own dedupe key, source and raw record kept in `event_sightings` —
//! instead of becoming a second event. Counts, pages, exports and figures then see one event.
//!
//! Pairing is one to one across paths: an event takes at most one record of each path, so two
//! distinct Graph sign-ins that share every key field stay two events, each joined by at most
//! one unified-log record. Engines call [`join_activities`] inside their write transaction,
//! after taking whatever lock serialises their writers, so concurrent collectors cannot both
//! store the same activity.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use aoc_model::activity::{activity_key, path_of};
use aoc_model::{DedupeKey, Event, EventId, Sighting};

use super::{Dialect, Row, SqlEngine, SqlTransaction, Statement};
use crate::filter::Bind;
use crate::{StoreError, StoreResult, clean_text};

/// Values per `IN (…)` list: far below either engine's limit on bound values.
const IN_CHUNK: usize = 500;

/// What [`join_activities`] left to write.
pub struct Joined<'a> {
    /// The events to write as events (all of them when nothing joined).
    pub events: Cow<'a, [Event]>,
    /// Records stored as sightings of events already stored or earlier in the batch.
    pub joined: u64,
}

/// An event that a record could join: its id and the paths it was seen via.
struct Candidate {
    id: EventId,
    paths: Vec<String>,
}

impl Candidate {
    /// `event`, stored as an event, seen via its own path.
    fn of(event: &Event) -> Self {
        Self {
            id: event.id,
            paths: vec![path_of(event.dedupe_key.as_str()).to_owned()],
        }
    }
}

/// The event of `list` that `event`'s record joins — one not yet seen via its path, never the
/// record's own — marked as seen via it now; `None` when there is none (it stands alone).
fn claim(list: &mut [Candidate], event: &Event) -> Option<EventId> {
    let path = path_of(event.dedupe_key.as_str());
    let candidate = list
        .iter_mut()
        .find(|c| c.id != event.id && !c.paths.iter().any(|p| p == path))?;
    candidate.paths.push(path.to_owned());
    Some(candidate.id)
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(dialect: Dialect, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| dialect.placeholder(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stores the records of `events` that another path already delivered as sightings of the event
/// they belong to, in `tx`; returns the rest to write as events.
///
/// # Errors
/// The engine's errors; nothing is kept of a transaction that fails.
pub async fn join_activities<'a>(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    events: &'a [Event],
    now: DateTime<Utc>,
) -> StoreResult<Joined<'a>> {
    let keyed: Vec<(usize, String)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| activity_key(e).map(|k| (i, clean_text(&k).into_owned())))
        .collect();
    if keyed.is_empty() {
        return Ok(Joined {
            events: Cow::Borrowed(events),
            joined: 0,
        });
    }
    // Records already stored as sightings are repeats (a fetch overlap): they are dropped.
    let ids: Vec<EventId> = keyed.iter().map(|(i, _)| events[*i].id).collect();
    let seen = known_sightings(tx, dialect, &ids).await?;
    let keys: Vec<&str> = keyed
        .iter()
        .map(|(_, k)| k.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut candidates = candidates(tx, dialect, &keys).await?;
    let stored: HashSet<EventId> = candidates.values().flatten().map(|c| c.id).collect();

    let mut skip = vec![false; events.len()];
    let mut sightings: Vec<(EventId, &Event)> = Vec::new();
    for (i, key) in &keyed {
        let event = &events[*i];
        if seen.contains(&event.id) {
            skip[*i] = true;
            continue;
        }
        if stored.contains(&event.id) {
            // Stored as an event already: the write reports it as a duplicate.
            continue;
        }
        let list = candidates.entry(key.clone()).or_default();
        if let Some(joined) = claim(list, event) {
            sightings.push((joined, event));
            skip[*i] = true;
        } else if !list.iter().any(|c| c.id == event.id) {
            list.push(Candidate::of(event));
        }
    }
    let joined = sightings.len() as u64;
    for (event_id, event) in sightings {
        tx.execute(insert_sighting(dialect, event_id, event, now)?)
            .await?;
    }
    let seen_before = seen.len();
    let events = if skip.iter().any(|s| *s) {
        Cow::Owned(
            events
                .iter()
                .zip(&skip)
                .filter(|(_, skip)| !**skip)
                .map(|(e, _)| e.clone())
                .collect(),
        )
    } else {
        Cow::Borrowed(events)
    };
    tracing::trace!(joined, seen_before, "activities joined");
    Ok(Joined { events, joined })
}

/// The ids among `ids` that are stored as sightings.
async fn known_sightings(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    ids: &[EventId],
) -> StoreResult<HashSet<EventId>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id FROM event_sightings WHERE id IN ({})",
            placeholders(dialect, 1, chunk.len())
        );
        let statement = Statement::raw(sql, chunk.iter().map(|id| Bind::Id(*id)).collect());
        for mut row in tx.fetch(statement).await? {
            found.insert(EventId::from_uuid(row.uuid("id")?));
        }
    }
    Ok(found)
}

/// The stored events with one of `keys`, by key, oldest first, with the paths each was seen via.
async fn candidates(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    keys: &[&str],
) -> StoreResult<HashMap<String, Vec<Candidate>>> {
    let mut by_key: HashMap<String, Vec<Candidate>> = HashMap::new();
    let mut ids = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id, dedupe_key, activity_key FROM events WHERE activity_key IN ({}) \
             ORDER BY seq",
            placeholders(dialect, 1, chunk.len())
        );
        let binds = chunk.iter().map(|k| Bind::Text((*k).to_owned())).collect();
        for mut row in tx.fetch(Statement::raw(sql, binds)).await? {
            let id = EventId::from_uuid(row.uuid("id")?);
            let path = path_of(&row.text("dedupe_key")?).to_owned();
            ids.push(id);
            by_key
                .entry(row.text("activity_key")?)
                .or_default()
                .push(Candidate {
                    id,
                    paths: vec![path],
                });
        }
    }
    let mut more: HashMap<EventId, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT event_id, dedupe_key FROM event_sightings WHERE event_id IN ({})",
            placeholders(dialect, 1, chunk.len())
        );
        let statement = Statement::raw(sql, chunk.iter().map(|id| Bind::Id(*id)).collect());
        for mut row in tx.fetch(statement).await? {
            let event = EventId::from_uuid(row.uuid("event_id")?);
            more.entry(event)
                .or_default()
                .push(path_of(&row.text("dedupe_key")?).to_owned());
        }
    }
    for candidate in by_key.values_mut().flatten() {
        if let Some(paths) = more.remove(&candidate.id) {
            candidate.paths.extend(paths);
        }
    }
    Ok(by_key)
}

/// The row of `event`'s record as a sighting of the event `event_id`.
fn insert_sighting(
    dialect: Dialect,
    event_id: EventId,
    event: &Event,
    now: DateTime<Utc>,
) -> StoreResult<Statement> {
    let raw =
        serde_json::to_string(&event.raw).map_err(|e| StoreError::invalid("raw", e.to_string()))?;
    Ok(Statement::new(
        dialect,
        "INSERT INTO event_sightings \
         (id, event_id, tenant_id, dedupe_key, source, timestamp, ingested_at, raw) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(event.id)
    .bind(event_id)
    .bind(clean_text(event.tenant_id.as_str()).into_owned())
    .bind(clean_text(event.dedupe_key.as_str()).into_owned())
    .bind(clean_text(&event.source).into_owned())
    .bind(event.timestamp)
    .bind(now)
    .bind(crate::payload::encode("null", &raw)?))
}

/// Fills in `also_seen_via` of `events` from their sightings; the raw records only `with_raw`.
pub async fn attach_sightings<E: SqlEngine + ?Sized>(
    engine: &E,
    events: &mut [Event],
    with_raw: bool,
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let dialect = engine.dialect();
    let mut by_event: HashMap<EventId, Vec<Sighting>> = HashMap::new();
    let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
    let columns = if with_raw {
        "event_id, dedupe_key, source, ingested_at, raw"
    } else {
        "event_id, dedupe_key, source, ingested_at"
    };
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT {columns} FROM event_sightings WHERE event_id IN ({}) ORDER BY ingested_at",
            placeholders(dialect, 1, chunk.len())
        );
        let statement = Statement::raw(sql, chunk.iter().map(|id| Bind::Id(*id)).collect());
        for row in engine.read(statement).await? {
            let (event, sighting) = decode_sighting(row, with_raw)?;
            by_event.entry(event).or_default().push(sighting);
        }
    }
    for event in events {
        if let Some(sightings) = by_event.remove(&event.id) {
            event.also_seen_via = sightings;
        }
    }
    Ok(())
}

fn decode_sighting(mut row: Row, with_raw: bool) -> StoreResult<(EventId, Sighting)> {
    let event = EventId::from_uuid(row.uuid("event_id")?);
    let raw = if with_raw {
        let (_, raw) = crate::payload::decode(&row.bytes("raw")?)?;
        serde_json::from_str(&raw)
            .map_err(|e| StoreError::Corrupt(format!("sighting of event {event}: {e}")))?
    } else {
        serde_json::Value::Null
    };
    Ok((
        event,
        Sighting {
            source: row.text("source")?,
            dedupe_key: DedupeKey::new(row.text("dedupe_key")?),
            ingested_at: row.opt_time("ingested_at")?,
            raw,
        },
    ))
}

/// Marks rows whose activity key is still to compute (set by the migration that added it).
pub const PENDING_KEY: &str = "?";

/// Rows per pass of [`merge_stored_activities`].
const MERGE_CHUNK: i64 = 1_000;

/// The upgrade path: rows stored before activities were joined (their `activity_key` is
/// [`PENDING_KEY`]) get their key, and a row that another path's earlier row already stands
/// for becomes a sighting of it, its tags and comments moving with it. A no-op once done.
pub async fn merge_stored_activities<E: SqlEngine + ?Sized>(engine: &E) -> StoreResult<()> {
    let dialect = engine.dialect();
    let (mut kept, mut merged) = (0u64, 0u64);
    loop {
        let select = Statement::new(
            dialect,
            &format!(
                "SELECT {} FROM events WHERE activity_key = $1 ORDER BY seq LIMIT $2",
                crate::SELECT_COLUMNS
            ),
        )
        .bind(PENDING_KEY)
        .bind(MERGE_CHUNK);
        let rows = engine.read(select).await?;
        if rows.is_empty() {
            break;
        }
        let events = rows
            .into_iter()
            .map(|row| super::events::decode_row(row, true))
            .collect::<StoreResult<Vec<_>>>()?;
        let keys: Vec<Option<String>> = events
            .iter()
            .map(|e| activity_key(e).map(|k| clean_text(&k).into_owned()))
            .collect();
        let mut tx = engine.begin().await?;
        let wanted: Vec<&str> = keys
            .iter()
            .flatten()
            .map(String::as_str)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut candidates = candidates(&mut *tx, dialect, &wanted).await?;
        let mut count_merged = 0i64;
        for (event, key) in events.iter().zip(keys) {
            let seq = event.seq.map_or(0, |s| s.0);
            let Some(key) = key else {
                let clear = Statement::new(
                    dialect,
                    "UPDATE events SET activity_key = NULL WHERE seq = $1",
                )
                .bind(seq);
                tx.execute(clear).await?;
                continue;
            };
            let list = candidates.entry(key.clone()).or_default();
            if let Some(joined) = claim(list, event) {
                let at = event.ingested_at.unwrap_or_else(Utc::now);
                tx.execute(insert_sighting(dialect, joined, event, at)?)
                    .await?;
                for statement in move_annotations(dialect, event.id, joined) {
                    tx.execute(statement).await?;
                }
                let this = Statement::new(dialect, "seq = $1").bind(seq);
                super::rollup::remove_from_rollup(&mut *tx, dialect, this).await?;
                let delete = Statement::new(dialect, "DELETE FROM events WHERE seq = $1").bind(seq);
                tx.execute(delete).await?;
                merged += 1;
                count_merged += 1;
            } else {
                list.push(Candidate::of(event));
                let set = Statement::new(
                    dialect,
                    "UPDATE events SET activity_key = $1 WHERE seq = $2",
                )
                .bind(key)
                .bind(seq);
                tx.execute(set).await?;
                kept += 1;
            }
        }
        tx.execute(super::totals_change(dialect, -count_merged))
            .await?;
        tx.commit().await?;
    }
    if kept + merged > 0 {
        tracing::info!(
            kept,
            merged,
            "joined stored events that several collection paths delivered"
        );
    }
    Ok(())
}

/// Tags and comments of the event `from` moved to the event `to`.
fn move_annotations(dialect: Dialect, from: EventId, to: EventId) -> [Statement; 3] {
    [
        Statement::new(
            dialect,
            "UPDATE event_comments SET event_id = $1 WHERE event_id = $2",
        )
        .bind(to)
        .bind(from),
        Statement::new(
            dialect,
            "INSERT INTO event_tags \
             (tenant_id, event_id, event_time, tag, tagged_by_id, tagged_by_name, tagged_at) \
             SELECT tenant_id, $1, event_time, tag, tagged_by_id, tagged_by_name, tagged_at \
             FROM event_tags WHERE event_id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(to)
        .bind(from),
        Statement::new(dialect, "DELETE FROM event_tags WHERE event_id = $1").bind(from),
    ]
}
