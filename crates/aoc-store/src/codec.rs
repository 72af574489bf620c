//! How an [`Event`] maps to a row, shared by the engines so they cannot drift.
//!
//! Filterable fields are columns; the rest of the normalized event (`extra`) and the raw record
//! travel together in one compressed payload (see [`crate::payload`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aoc_model::{
    Actor, Change, DedupeKey, Event, EventId, EventResult, Location, Seq, Target, TenantId,
};

use crate::{StoreError, StoreResult};

/// The normalized fields that are not columns, borrowed for writing.
#[derive(Serialize)]
struct ExtraRef<'a> {
    category: &'a Option<String>,
    result_reason: &'a Option<String>,
    actor: &'a Actor,
    user_agent: &'a Option<String>,
    location: &'a Option<Location>,
    targets: &'a [Target],
    details: &'a BTreeMap<String, String>,
    changes: &'a BTreeMap<String, Change>,
}

/// The same fields, owned, for reading.
#[derive(Deserialize)]
struct EventExtra {
    category: Option<String>,
    result_reason: Option<String>,
    actor: Actor,
    user_agent: Option<String>,
    location: Option<Location>,
    #[serde(default)]
    targets: Vec<Target>,
    #[serde(default)]
    details: BTreeMap<String, String>,
    #[serde(default)]
    changes: BTreeMap<String, Change>,
}

/// Text as every engine can store and compare it: PostgreSQL's `text` cannot hold NUL, so NUL
/// becomes U+FFFD in columns and filter values alike (the JSON of `extra` and `raw` escapes it and
/// keeps it exactly).
pub fn clean_text(value: &str) -> Cow<'_, str> {
    if value.contains('\0') {
        Cow::Owned(value.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Everything an engine writes for one event, computed once.
pub struct EventColumns<'a> {
    pub event: &'a Event,
    pub tenant_id: Cow<'a, str>,
    pub dedupe_key: Cow<'a, str>,
    pub source: Cow<'a, str>,
    pub service: Cow<'a, str>,
    pub operation: Cow<'a, str>,
    pub summary: Cow<'a, str>,
    /// Lowercased UPN, the actor filter's key.
    pub actor_upn: Option<String>,
    /// Lowercased object id, the actor filter's other key.
    pub actor_id: Option<String>,
    pub client_ip: Option<String>,
    /// The address as 16 bytes that sort like addresses, for CIDR filters (see `aoc_model::ip_key`).
    pub client_ip_key: Option<[u8; 16]>,
    /// Lowercased country, the country filter's key.
    pub country: Option<String>,
    /// Target ids and names, the target filter's haystack (see `aoc_model::target_keys`).
    pub target_keys: String,
    /// Target names, the target facet's values (see `aoc_model::target_names`); `None` without
    /// targets.
    pub target_names: Option<String>,
    /// Actor UPN, name and id, the actor filter's haystack (see `aoc_model::actor_keys`).
    pub actor_keys: String,
    /// The application's name, the application facet's value.
    pub application: Option<String>,
    /// The name lowercased, the application filter's haystack.
    pub application_key: Option<String>,
    /// The key that finds this activity's record from another collection path (see
    /// `aoc_model::activity`).
    pub activity_key: Option<String>,
    /// `extra` and `raw`, compressed (see [`crate::payload`]).
    pub payload: Vec<u8>,
    /// The tokens the full-text index covers.
    pub search: String,
}

impl<'a> EventColumns<'a> {
    pub fn new(event: &'a Event) -> StoreResult<Self> {
        let extra = ExtraRef {
            category: &event.category,
            result_reason: &event.result_reason,
            actor: &event.actor,
            user_agent: &event.user_agent,
            location: &event.location,
            targets: &event.targets,
            details: &event.details,
            changes: &event.changes,
        };
        let extra = serde_json::to_string(&extra)
            .map_err(|e| StoreError::invalid("event", e.to_string()))?;
        let raw = serde_json::to_string(&event.raw)
            .map_err(|e| StoreError::invalid("raw", e.to_string()))?;
        let key = |value: &Option<String>| {
            value
                .as_deref()
                .map(|v| clean_text(&aoc_model::actor_key(v)).into_owned())
        };
        // The columns a later schema added are computed as the upgrade computes them.
        let derived = DerivedColumns::of(event);
        Ok(Self {
            event,
            tenant_id: clean_text(event.tenant_id.as_str()),
            dedupe_key: clean_text(event.dedupe_key.as_str()),
            source: clean_text(&event.source),
            service: clean_text(&event.service),
            operation: clean_text(&event.operation),
            summary: clean_text(&event.summary),
            actor_upn: key(&event.actor.upn),
            actor_id: key(&event.actor.id),
            client_ip: event.client_ip.map(|ip| ip.to_string()),
            client_ip_key: derived.client_ip_key,
            country: derived.country,
            target_keys: derived.target_keys,
            target_names: derived.target_names,
            actor_keys: derived.actor_keys,
            application: derived.application,
            application_key: derived.application_key,
            activity_key: aoc_model::activity::activity_key(event)
                .map(|key| clean_text(&key).into_owned()),
            payload: crate::payload::encode(&extra, &raw)?,
            search: derived.search,
        })
    }
}

/// The application's name as the filter compares it (see `aoc_model::TextMatch`).
fn application_key(event: &Event) -> Option<String> {
    event
        .application()
        .map(|a| clean_text(&a.to_lowercase()).into_owned())
}

fn country_of(location: &Option<Location>) -> Option<String> {
    let country = aoc_model::country_key(&location.as_ref().and_then(|l| l.country.clone()))?;
    Some(clean_text(&country).into_owned())
}

/// The columns a later schema added or changed, computed from a stored event: engines fill them
/// in for rows written before (the filter columns, and the full-text entry, whose words grow).
pub struct DerivedColumns {
    pub client_ip_key: Option<[u8; 16]>,
    pub country: Option<String>,
    pub target_keys: String,
    pub target_names: Option<String>,
    pub actor_keys: String,
    pub application: Option<String>,
    pub application_key: Option<String>,
    /// The tokens the full-text index covers ([`aoc_model::search::index_text`]).
    pub search: String,
    /// The actor's (UPN, display name), for the people table (see `sql::people`).
    pub actor_name: Option<(String, String)>,
}

impl DerivedColumns {
    pub fn of(event: &Event) -> Self {
        Self {
            client_ip_key: event.client_ip.map(aoc_model::ip_key),
            country: country_of(&event.location),
            target_keys: clean_text(&aoc_model::target_keys(&event.targets)).into_owned(),
            target_names: Some(aoc_model::target_names(&event.targets))
                .filter(|names| !names.is_empty())
                .map(|names| clean_text(&names).into_owned()),
            actor_keys: clean_text(&aoc_model::actor_keys(&event.actor)).into_owned(),
            application: event.application().map(|a| clean_text(a).into_owned()),
            application_key: application_key(event),
            search: aoc_model::search::index_text(event),
            actor_name: crate::sql::actor_name(&event.actor),
        }
    }
}

/// The columns of [`StoredRow`], as engines select them.
pub const SELECT_COLUMNS: &str = "seq, id, tenant_id, dedupe_key, source, service, timestamp, \
     ingested_at, operation, result, client_ip, summary, payload";

/// The columns an engine reads back, in its own types converted to the model's.
pub struct StoredRow {
    pub seq: i64,
    pub id: EventId,
    pub tenant_id: String,
    pub dedupe_key: String,
    pub source: String,
    pub service: String,
    pub timestamp: DateTime<Utc>,
    pub ingested_at: DateTime<Utc>,
    pub operation: String,
    pub result: String,
    pub client_ip: Option<String>,
    pub summary: String,
    pub payload: Vec<u8>,
}

/// Rebuilds the event from its row.
pub fn decode_event(row: StoredRow) -> StoreResult<Event> {
    decode_event_with(row, true)
}

/// Rebuilds the event from its row; without `with_raw` the raw record is left `null`, which
/// spares parsing the largest part of the row for readers that do not show it.
pub fn decode_event_with(row: StoredRow, with_raw: bool) -> StoreResult<Event> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("event {}: {what}: {e}", row.id))
    };
    let (extra, raw) = crate::payload::decode(&row.payload)?;
    let extra: EventExtra = serde_json::from_str(&extra).map_err(|e| corrupt("extra", &e))?;
    let raw = if with_raw {
        serde_json::from_str(&raw).map_err(|e| corrupt("raw", &e))?
    } else {
        serde_json::Value::Null
    };
    let client_ip = match &row.client_ip {
        Some(ip) => Some(ip.parse().map_err(|e| corrupt("client_ip", &e))?),
        None => None,
    };
    let result = EventResult::parse(&row.result).ok_or_else(|| corrupt("result", &row.result))?;
    Ok(Event {
        id: row.id,
        dedupe_key: DedupeKey::new(row.dedupe_key),
        seq: Some(Seq(row.seq)),
        tenant_id: TenantId::new(row.tenant_id),
        source: row.source,
        service: row.service,
        timestamp: row.timestamp,
        ingested_at: Some(row.ingested_at),
        operation: row.operation,
        category: extra.category,
        result,
        result_reason: extra.result_reason,
        actor: extra.actor,
        client_ip,
        user_agent: extra.user_agent,
        location: extra.location,
        targets: extra.targets,
        details: extra.details,
        changes: extra.changes,
        summary: row.summary,
        raw,
        also_seen_via: Vec::new(),
    })
}

/// The columns of a chunk of events. Engines prepare chunk k+1 (JSON, compression, tokens: about
/// a fifth of a write's cost) while chunk k is written, so the two overlap on separate cores.
pub fn encode_chunk(chunk: &[Event]) -> StoreResult<Vec<EventColumns<'_>>> {
    chunk.iter().map(EventColumns::new).collect()
}
