//! The bundled sample tenant (`aoc serve --sample`): the synthetic Contoso records AOC's tests
//! use, one of each kind the collectors and imports read. Their times are moved forward so the
//! newest record is a few minutes old: a sample from 2025 would fall outside any retention.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use aoc_model::{Event, TenantId};
use aoc_normalize::{Context, normalize};
use aoc_store::{InsertReport, Store, StoreResult};

const SAMPLE_FILES: [&str; 7] = [
    include_str!("../../../fixtures/graph/directoryAudits.page1.json"),
    include_str!("../../../fixtures/graph/directoryAudits.page2.json"),
    include_str!("../../../fixtures/graph/signIns.json"),
    include_str!("../../../fixtures/graph/intune.auditEvents.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.Exchange.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.SharePoint.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.AzureActiveDirectory.json"),
];

fn records() -> Vec<Value> {
    SAMPLE_FILES
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .flat_map(|value| match value {
            Value::Array(items) => items,
            Value::Object(mut page) => match page.remove("value") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
        .collect()
}

/// Rewrites the record's own time field, in the format its source uses.
fn shift(raw: &mut Value, to: DateTime<Utc>) {
    let Some(record) = raw.as_object_mut() else {
        return;
    };
    for field in ["activityDateTime", "createdDateTime"] {
        if record.contains_key(field) {
            record.insert(
                field.into(),
                Value::String(to.to_rfc3339_opts(SecondsFormat::Micros, true)),
            );
        }
    }
    if record.contains_key("CreationTime") {
        // The unified log writes UTC without a zone.
        record.insert(
            "CreationTime".into(),
            Value::String(to.format("%Y-%m-%dT%H:%M:%S").to_string()),
        );
    }
}

/// The synthetic Contoso tenant of the sample records.
pub const SAMPLE_TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

/// The sample's events, the newest five minutes before `now`, all in the Contoso tenant (Graph
/// audit records do not name their tenant; a collector knows it).
pub fn events(now: DateTime<Utc>) -> Vec<Event> {
    let context = Context::new("sample").with_tenant(TenantId::new(SAMPLE_TENANT));
    let normalized: Vec<(Value, Event)> = records()
        .into_iter()
        .filter_map(|raw| {
            normalize(raw.clone(), &context)
                .ok()
                .map(|event| (raw, event))
        })
        .collect();
    let Some(newest) = normalized.iter().map(|(_, e)| e.timestamp).max() else {
        return Vec::new();
    };
    let offset = now - Duration::minutes(5) - newest;
    normalized
        .into_iter()
        .filter_map(|(mut raw, event)| {
            shift(&mut raw, event.timestamp + offset);
            normalize(raw, &context).ok()
        })
        .collect()
}

/// Stores the sample's events; the records keep their ids, so a second call stores nothing new.
pub async fn import(store: &dyn Store) -> StoreResult<InsertReport> {
    store.insert_events(&events(Utc::now())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_recent_and_complete() {
        let now = Utc::now();
        let events = events(now);
        assert_eq!(events.len(), records().len());
        let newest = events.iter().map(|e| e.timestamp).max().expect("events");
        assert!(newest <= now - Duration::minutes(4) && newest >= now - Duration::minutes(6));
        // Ids do not depend on the shift: a restart with --sample adds nothing.
        let again = super::events(now + Duration::hours(1));
        let ids = |e: &[Event]| e.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&events), ids(&again));
        assert!(events.iter().all(|e| e.tenant_id.as_str() == SAMPLE_TENANT));
    }
}
