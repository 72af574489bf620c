//! Pure, total normalization of Microsoft 365 audit records into AOC [`Event`]s.
//!
//! Four record families are understood, each in its own module:
//!
//! | [`RecordKind`] | source | dedupe key |
//! | --- | --- | --- |
//! | `DirectoryAudit` | Graph `auditLogs/directoryAudits`, Entra admin-center JSON downloads | `graph.directory_audits:{id}` |
//! | `SignIn` | Graph `auditLogs/signIns` | `graph.sign_ins:{id}` |
//! | `IntuneAudit` | Graph `deviceManagement/auditEvents` | `graph.intune_audit:{id}` |
//! | `UnifiedAudit` | Office 365 Management Activity API blobs, Purview CSV `AuditData` | `o365:{Id}` |
//!
//! A record without its id gets `{family}:h:{hex}`, the BLAKE3 of its canonical JSON (keys sorted,
//! compact), so key order never matters; any other shape is `RecordKind::Unknown` with
//! `unknown:h:{hex}`. The unified-log key is the same whichever path the record took (Management
//! API or Purview export), so the two de-duplicate. The event id is
//! [`EventId::derive`]`(tenant, dedupe_key)`.
//!
//! Normalization never panics and never rejects a record for its content: unknown record types,
//! workloads and fields, numbers written as text, text written as numbers and `null`s are read as
//! far as they go, and `raw` keeps the whole record. The only errors are a value that is not a JSON
//! object ([`NormalizeError::NotAnObject`]) and an object without a readable event time
//! ([`NormalizeError::MissingTimestamp`]).
//!
//! Cross-path conventions worth knowing:
//! * Graph sign-ins take the unified log's operation names, `UserLoggedIn` / `UserLoginFailed`, so
//!   one filter finds sign-ins from both paths; their error code is in `details["errorCode"]`, as
//!   is the unified log's `ErrorNumber` / `ErrorCode`.
//! * Operation names lose the unified log's final period (`Add member to role.` is stored as
//!   `Add member to role`, as Graph names it), so one name filters and counts both paths.
//! * Services are `Entra ID`, `Exchange`, `SharePoint`, `OneDrive`, `Teams`, `Intune`; other
//!   workloads are kept as written.
//! * Graph `modifiedProperties` values that are JSON-encoded strings are stored decoded.
//! * Graph audit-log query records (`auditLogRecord`, with `auditData`) are `UnifiedAudit`, read
//!   through their `auditData`, and key as `o365:{id}` like the same record from the other paths.
//! * When a record lacks its family's time field, the usual names (`timestamp`, `CreationTime`,
//!   `createdDateTime`, `@timestamp`…) are tried before giving up.

mod fields;
mod graph;
mod intune;
mod known;
mod purview;
mod summary;
mod unified;

use std::collections::BTreeMap;
use std::net::IpAddr;

use aoc_model::{
    Actor, Change, DedupeKey, Event, EventId, EventResult, Location, Target, TenantId,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use purview::{PurviewRow, normalize_purview_row};
pub use unified::{record_type_name, record_type_number};

/// Where a record came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The tenant the collector reads for. `None` (imports): taken from the record (unified log
    /// `OrganizationId`; sign-ins `tenantId`, `resourceTenantId`, then `homeTenantId`; directory and
    /// Intune audits `tenantId`), else `unknown`.
    pub tenant: Option<TenantId>,
    /// The path it came through (`graph.directory_audits`, `o365.Audit.Exchange`, `import`…),
    /// copied to [`Event::source`].
    pub source: String,
}

impl Context {
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            tenant: None,
            source: source.into(),
        }
    }

    pub fn with_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }
}

/// The record families AOC understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    DirectoryAudit,
    SignIn,
    IntuneAudit,
    UnifiedAudit,
    Unknown,
}

impl RecordKind {
    /// The family prefix of dedupe keys.
    pub fn family(self) -> &'static str {
        match self {
            Self::DirectoryAudit => "graph.directory_audits",
            Self::SignIn => "graph.sign_ins",
            Self::IntuneAudit => "graph.intune_audit",
            Self::UnifiedAudit => "o365",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("record is not a json object")]
    NotAnObject,
    #[error("record has no parseable event time")]
    MissingTimestamp,
}

/// Recognizes a record by the fields it carries. Non-objects are `Unknown`.
pub fn detect_kind(raw: &Value) -> RecordKind {
    let Some(object) = raw.as_object() else {
        return RecordKind::Unknown;
    };
    let has = |key: &str| object.get(key).is_some_and(|v| !v.is_null());
    let any = |keys: &[&str]| keys.iter().any(|k| has(k));
    if has("CreationTime") && any(&["RecordType", "Operation", "Workload", "OrganizationId"])
        || has("RecordType") && has("Operation")
        || has("auditLogRecordType")
        || has("auditData") && has("createdDateTime")
    {
        return RecordKind::UnifiedAudit;
    }
    if has("activityDisplayName")
        || has("activityDateTime") && any(&["initiatedBy", "targetResources", "loggedByService"])
    {
        return RecordKind::DirectoryAudit;
    }
    let intune_type = object
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.auditEvent"));
    if intune_type
        || has("activityDateTime")
            && any(&[
                "activityType",
                "componentName",
                "activityResult",
                "actor",
                "resources",
            ])
    {
        return RecordKind::IntuneAudit;
    }
    if has("createdDateTime")
        && any(&[
            "status",
            "userPrincipalName",
            "appId",
            "appDisplayName",
            "clientAppUsed",
        ])
    {
        return RecordKind::SignIn;
    }
    RecordKind::Unknown
}

/// Normalizes a record of whatever kind [`detect_kind`] finds.
pub fn normalize(raw: Value, ctx: &Context) -> Result<Event, NormalizeError> {
    let kind = detect_kind(&raw);
    normalize_as(kind, raw, ctx)
}

/// Normalizes a record read as `kind` (for collectors that know what they fetched).
pub fn normalize_as(kind: RecordKind, raw: Value, ctx: &Context) -> Result<Event, NormalizeError> {
    if !raw.is_object() {
        return Err(NormalizeError::NotAnObject);
    }
    let draft = match kind {
        RecordKind::DirectoryAudit => graph::directory_audit(&raw),
        RecordKind::SignIn => graph::sign_in(&raw),
        RecordKind::IntuneAudit => intune::audit_event(&raw),
        RecordKind::UnifiedAudit => unified::record(&raw),
        RecordKind::Unknown => unknown(&raw),
    }?;
    let key = dedupe_key(kind, &raw);
    Ok(finish(kind, draft, key, raw, ctx))
}

/// The dedupe key of a record read as `kind` (see the crate docs).
pub fn dedupe_key(kind: RecordKind, raw: &Value) -> DedupeKey {
    let id_field = match kind {
        RecordKind::DirectoryAudit | RecordKind::SignIn | RecordKind::IntuneAudit => Some("id"),
        RecordKind::UnifiedAudit => Some("Id"),
        RecordKind::Unknown => None,
    };
    let native = id_field.and_then(|key| {
        fields::str_at(raw, key).or_else(|| {
            (kind == RecordKind::UnifiedAudit)
                .then(|| fields::str_path(raw, &["auditData", "Id"]))
                .flatten()
        })
    });
    match native {
        Some(id) => DedupeKey::new(format!("{}:{id}", kind.family())),
        None => DedupeKey::new(format!(
            "{}:h:{}",
            kind.family(),
            fields::canonical_hash(raw)
        )),
    }
}

/// What a family module reads from a record; [`finish`] adds ids, tenant and summary.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub timestamp: DateTime<Utc>,
    pub service: String,
    pub operation: String,
    pub category: Option<String>,
    pub result: EventResult,
    pub result_reason: Option<String>,
    pub actor: Actor,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub location: Option<Location>,
    pub targets: Vec<Target>,
    pub details: BTreeMap<String, String>,
    pub changes: BTreeMap<String, Change>,
    /// The tenant the record names, used when the context has none.
    pub record_tenant: Option<String>,
}

impl Draft {
    /// Adds a detail when `value` is non-blank text (or a number / boolean).
    pub(crate) fn detail(&mut self, name: &str, value: Option<&Value>) {
        if let Some(text) = value.and_then(fields::text) {
            fields::insert_unique(&mut self.details, name, text);
        }
    }

    /// Adds `Name`/`Value` (or `key`/`value`) pairs as details; values that are not text are kept
    /// as compact JSON.
    pub(crate) fn detail_pairs(&mut self, pairs: &[Value], name_key: &str, value_key: &str) {
        for pair in pairs {
            let Some(name) = fields::str_at(pair, name_key) else {
                continue;
            };
            let value = fields::field(pair, value_key)
                .map(fields::detail_text)
                .unwrap_or_default();
            fields::insert_unique(&mut self.details, &name, value);
        }
    }

    /// Adds modified properties as changes.
    pub(crate) fn change_list(&mut self, props: &[Value], name: &str, old: &str, new: &str) {
        for prop in props {
            let Some(prop_name) = fields::str_at(prop, name) else {
                continue;
            };
            let change = Change {
                old: fields::field(prop, old).and_then(fields::change_value),
                new: fields::field(prop, new).and_then(fields::change_value),
            };
            fields::insert_unique(&mut self.changes, &prop_name, change);
        }
    }
}

/// Time of a record: the family's own field, else any of the usual names.
pub(crate) fn timestamp(raw: &Value, primary: &str) -> Result<DateTime<Utc>, NormalizeError> {
    fields::field(raw, primary)
        .and_then(fields::parse_time)
        .or_else(|| common_timestamp(raw))
        .ok_or(NormalizeError::MissingTimestamp)
}

const TIME_FIELDS: [&str; 14] = [
    "timestamp",
    "time",
    "createdDateTime",
    "activityDateTime",
    "CreationTime",
    "eventTime",
    "@timestamp",
    "eventDateTime",
    "TimeGenerated",
    "CreationDate",
    "Date (UTC)",
    "dateTime",
    "created",
    "date",
];

fn common_timestamp(raw: &Value) -> Option<DateTime<Utc>> {
    TIME_FIELDS
        .iter()
        .find_map(|key| fields::field(raw, key).and_then(fields::parse_time))
}

/// A record of no known family: what the usual field names give.
fn unknown(raw: &Value) -> Result<Draft, NormalizeError> {
    let timestamp = common_timestamp(raw).ok_or(NormalizeError::MissingTimestamp)?;
    let upn = fields::first_str(raw, &["userPrincipalName", "UserId", "user", "upn"])
        .filter(|s| s.contains('@'));
    let actor = Actor {
        kind: if upn.is_some() {
            aoc_model::ActorKind::User
        } else {
            aoc_model::ActorKind::Unknown
        },
        id: fields::first_str(raw, &["userId", "actorId"]),
        upn,
        display_name: fields::first_str(raw, &["userDisplayName", "actorDisplayName"]),
    };
    Ok(Draft {
        timestamp,
        service: fields::first_str(raw, &["service", "Workload", "workload"])
            .unwrap_or_else(|| "Unknown".to_string()),
        operation: fields::first_str(
            raw,
            &[
                "operation",
                "activityDisplayName",
                "activityType",
                "activity",
                "operationName",
                "eventName",
                "action",
                "displayName",
            ],
        )
        .unwrap_or_else(|| "Unknown".to_string()),
        category: fields::str_at(raw, "category"),
        result: [
            "result",
            "ResultStatus",
            "activityResult",
            "status",
            "outcome",
        ]
        .iter()
        .find_map(|k| fields::field(raw, k))
        .map(fields::parse_result)
        .unwrap_or_default(),
        actor,
        client_ip: fields::ip_at(
            raw,
            &[
                "ipAddress",
                "ClientIP",
                "clientIp",
                "ip",
                "callerIpAddress",
                "sourceIp",
            ],
        ),
        user_agent: fields::first_str(raw, &["userAgent", "user_agent"]),
        record_tenant: fields::first_str(raw, &["tenantId", "OrganizationId", "tenant"]),
        ..Draft::default()
    })
}

/// The operation without the unified log's final period; a name that is nothing else stays.
fn canonical_operation(operation: String) -> String {
    match aoc_model::activity::canonical_operation(&operation) {
        "" => operation,
        canonical if canonical.len() == operation.len() => operation,
        canonical => canonical.to_owned(),
    }
}

fn finish(kind: RecordKind, draft: Draft, key: DedupeKey, raw: Value, ctx: &Context) -> Event {
    let tenant = ctx.tenant.clone().unwrap_or_else(|| {
        TenantId::new(draft.record_tenant.unwrap_or_else(|| "unknown".to_string()))
    });
    let mut event = Event {
        id: EventId::derive(&tenant, &key),
        dedupe_key: key,
        seq: None,
        tenant_id: tenant,
        source: ctx.source.clone(),
        service: draft.service,
        timestamp: draft.timestamp,
        ingested_at: None,
        operation: canonical_operation(draft.operation),
        category: draft.category,
        result: draft.result,
        result_reason: draft.result_reason,
        actor: draft.actor,
        client_ip: draft.client_ip,
        user_agent: draft.user_agent,
        location: draft.location,
        targets: draft.targets,
        details: draft.details,
        changes: draft.changes,
        summary: String::new(),
        raw,
        also_seen_via: Vec::new(),
    };
    explain_codes(&mut event.details);
    event.summary = summary::summarize(kind, &event);
    event
}

/// Names what the record gives only as numbers or ids: the sign-in error code's meaning, and a
/// Microsoft application's name where the record has only its id.
fn explain_codes(details: &mut BTreeMap<String, String>) {
    if let Some(meaning) = details
        .get("errorCode")
        .and_then(|c| known::error_meaning(c))
    {
        details.insert("errorMeaning".into(), meaning.into());
    }
    if details.contains_key("appDisplayName") || details.contains_key("applicationName") {
        return;
    }
    let name = ["ApplicationId", "AppId", "ClientAppId", "appId"]
        .iter()
        .find_map(|key| details.get(*key).and_then(|id| known::application_name(id)));
    if let Some(name) = name {
        details.insert("applicationName".into(), name.into());
    }
}
