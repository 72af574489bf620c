//! Realistic test events: the Microsoft 365 fixtures, normalized, and variations of them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use aoc_model::{Event, TenantId};
use aoc_normalize::{Context, normalize};

const FIXTURES: [&str; 7] = [
    include_str!("../../../../fixtures/graph/directoryAudits.page1.json"),
    include_str!("../../../../fixtures/graph/directoryAudits.page2.json"),
    include_str!("../../../../fixtures/graph/signIns.json"),
    include_str!("../../../../fixtures/graph/intune.auditEvents.json"),
    include_str!("../../../../fixtures/o365mgmt/content.blob.Audit.Exchange.json"),
    include_str!("../../../../fixtures/o365mgmt/content.blob.Audit.SharePoint.json"),
    include_str!("../../../../fixtures/o365mgmt/content.blob.Audit.AzureActiveDirectory.json"),
];

pub const TENANTS: [&str; 2] = [
    "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
    "1b2c3d4e-0000-4000-8000-00000000fab1",
];
pub const USERS: [&str; 5] = [
    "admin.kim@contoso.com",
    "lee.gomez@contoso.com",
    "dana.park@contoso.com",
    "megan.ross@contoso.com",
    "omar.haddad@contoso.com",
];

/// Every record of every fixture, raw.
pub fn fixture_records() -> Vec<Value> {
    FIXTURES
        .iter()
        .flat_map(|text| match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Object(mut page)) => match page.remove("value") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
        .collect()
}

/// The fixtures normalized, as the store receives them.
pub fn fixture_events() -> Vec<Event> {
    fixture_records()
        .into_iter()
        .filter_map(|raw| {
            normalize(
                raw,
                &Context {
                    tenant: None,
                    source: "import".into(),
                },
            )
            .ok()
        })
        .collect()
}

pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn set(raw: &mut Value, path: &[&str], value: Value) {
    let mut at = raw;
    for key in &path[..path.len() - 1] {
        match at.get_mut(*key) {
            Some(next) if next.is_object() => at = next,
            _ => return,
        }
    }
    if let Some(obj) = at.as_object_mut()
        && obj.contains_key(path[path.len() - 1])
    {
        obj.insert(path[path.len() - 1].to_owned(), value);
    }
}

/// The collector that fetches a record of this shape, as events collected (not imported) name
/// it: retention counts their age from when they happened.
fn collector_source(raw: &Value) -> String {
    let kind = aoc_normalize::detect_kind(raw);
    match kind {
        aoc_normalize::RecordKind::UnifiedAudit => {
            let workload = raw
                .get("Workload")
                .and_then(Value::as_str)
                .unwrap_or("General");
            format!("o365.Audit.{workload}")
        }
        _ => aoc_normalize::dedupe_key(kind, raw)
            .as_str()
            .split(':')
            .next()
            .unwrap_or("unknown")
            .to_owned(),
    }
}

/// `n` distinct events cycling through the fixtures' shapes, with varied ids, times (a few
/// sharing one timestamp, to exercise the keyset's tie-break), users, addresses and tenants.
pub fn varied_events(n: usize) -> Vec<Event> {
    let records = fixture_records();
    (0..n)
        .filter_map(|i| {
            let mut raw = records[i % records.len()].clone();
            let id = format!("00000000-0000-4000-8000-{i:012}");
            // Every fourth event shares its minute with the previous one, to the microsecond.
            let minute = (i - i % 4 / 3) as i64;
            let time = base_time() + Duration::minutes(minute * 7);
            let user = USERS[i % USERS.len()];
            // Every fifth event comes from IPv6, the rest from two IPv4 blocks.
            let ip = match i % 5 {
                4 => format!("2001:db8:{:x}::{:x}", i % 3, i),
                _ => format!("198.51.{}.{}", 100 + i % 2, i % 50),
            };
            let graph_time =
                Value::String(time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            let ual_time = Value::String(time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
            set(&mut raw, &["id"], Value::String(id.clone()));
            set(&mut raw, &["Id"], Value::String(id.clone()));
            // Each a distinct request, so no two are one activity seen via two paths.
            set(&mut raw, &["correlationId"], Value::String(id.clone()));
            set(&mut raw, &["InterSystemsId"], Value::String(id));
            set(&mut raw, &["activityDateTime"], graph_time.clone());
            set(&mut raw, &["createdDateTime"], graph_time);
            set(&mut raw, &["CreationTime"], ual_time);
            set(&mut raw, &["UserId"], Value::String(user.into()));
            set(&mut raw, &["userPrincipalName"], Value::String(user.into()));
            set(
                &mut raw,
                &["initiatedBy", "user", "userPrincipalName"],
                Value::String(user.into()),
            );
            set(
                &mut raw,
                &["actor", "userPrincipalName"],
                Value::String(user.into()),
            );
            set(
                &mut raw,
                &["ClientIP"],
                Value::String(format!("{ip}:{}", 40000 + i)),
            );
            set(&mut raw, &["ipAddress"], Value::String(ip.clone()));
            set(
                &mut raw,
                &["initiatedBy", "user", "ipAddress"],
                Value::String(ip),
            );
            set(
                &mut raw,
                &["location", "countryOrRegion"],
                Value::String(["US", "fr", "DE"][i % 3].into()),
            );
            let tenant = TenantId::new(TENANTS[i % 7 % 2]);
            let source = collector_source(&raw);
            normalize(
                raw,
                &Context {
                    tenant: Some(tenant),
                    source,
                },
            )
            .ok()
        })
        .collect()
}
