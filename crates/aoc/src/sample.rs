//! The bundled sample tenant (`aoc serve --sample`): the synthetic Contoso records AOC's tests
//! use, one of each kind the collectors and imports read.

use aoc_normalize::{Context, normalize};
use aoc_store::{InsertReport, Store, StoreResult};
use serde_json::Value;

const SAMPLE_FILES: [&str; 7] = [
    include_str!("../../../fixtures/graph/directoryAudits.page1.json"),
    include_str!("../../../fixtures/graph/directoryAudits.page2.json"),
    include_str!("../../../fixtures/graph/signIns.json"),
    include_str!("../../../fixtures/graph/intune.auditEvents.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.Exchange.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.SharePoint.json"),
    include_str!("../../../fixtures/o365mgmt/content.blob.Audit.AzureActiveDirectory.json"),
];

/// Stores the sample's events; a second call stores nothing new.
pub async fn import(store: &dyn Store) -> StoreResult<InsertReport> {
    let context = Context::new("sample");
    let events: Vec<_> = SAMPLE_FILES
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
        .filter_map(|raw| normalize(raw, &context).ok())
        .collect();
    store.insert_events(&events).await
}
