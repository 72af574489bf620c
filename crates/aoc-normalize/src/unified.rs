//! Unified audit log records: the Office 365 Management Activity API blobs and the `AuditData` of
//! Purview exports share this schema (office365-management-api.md §7).

use aoc_model::{Actor, ActorKind, Change, EventResult, Target};
use serde_json::Value;

use crate::fields::{array, field, first_str, int, ip_at, is_guid, parse_result, str_at, text};
use crate::{Draft, NormalizeError};

/// `RecordType` numbers and their names (the main ones; unknown numbers are kept as their number).
const RECORD_TYPES: [(i64, &str); 43] = [
    (1, "ExchangeAdmin"),
    (2, "ExchangeItem"),
    (3, "ExchangeItemGroup"),
    (4, "SharePoint"),
    (5, "SyntheticProbe"),
    (6, "SharePointFileOperation"),
    (7, "OneDrive"),
    (8, "AzureActiveDirectory"),
    (9, "AzureActiveDirectoryAccountLogon"),
    (10, "DataCenterSecurityCmdlet"),
    (11, "ComplianceDLPSharePoint"),
    (13, "ComplianceDLPExchange"),
    (14, "SharePointSharingOperation"),
    (15, "AzureActiveDirectoryStsLogon"),
    (18, "SecurityComplianceCenterEOPCmdlet"),
    (19, "ExchangeAggregatedOperation"),
    (20, "PowerBIAudit"),
    (21, "CRM"),
    (22, "Yammer"),
    (23, "SkypeForBusinessCmdlets"),
    (24, "Discovery"),
    (25, "MicrosoftTeams"),
    (28, "ThreatIntelligence"),
    (29, "MailSubmission"),
    (30, "MicrosoftFlow"),
    (32, "MicrosoftStream"),
    (36, "SharePointListOperation"),
    (40, "SecurityComplianceAlerts"),
    (41, "ThreatIntelligenceUrl"),
    (44, "WorkplaceAnalytics"),
    (47, "ThreatIntelligenceAtpContent"),
    (50, "ExchangeItemAggregated"),
    (54, "SharePointListItemOperation"),
    (57, "MicrosoftTeamsAdmin"),
    (63, "DLPEndpoint"),
    (64, "AirInvestigation"),
    (65, "Quarantine"),
    (66, "MicrosoftForms"),
    (78, "WDATPAlerts"),
    (83, "SensitivityLabelAction"),
    (98, "MCASAlerts"),
    (261, "CopilotInteraction"),
    (294, "AadRiskDetection"),
];

/// The name of a `RecordType` number.
pub fn record_type_name(number: i64) -> Option<&'static str> {
    RECORD_TYPES
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| *name)
}

/// The number of a `RecordType` name (case-insensitive: the Graph audit query API writes
/// `exchangeAdmin`).
pub fn record_type_number(name: &str) -> Option<i64> {
    RECORD_TYPES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(number, _)| *number)
}

/// `RecordType` as (number if known, name or number as text).
fn record_type(raw: &Value) -> (Option<i64>, Option<String>) {
    let Some(value) = field(raw, "RecordType") else {
        return (None, None);
    };
    if let Some(number) = int(value) {
        let name = record_type_name(number).map_or_else(|| number.to_string(), str::to_string);
        return (Some(number), Some(name));
    }
    match text(value) {
        Some(name) => match record_type_number(&name) {
            Some(number) => (Some(number), record_type_name(number).map(str::to_string)),
            None => (None, Some(name)),
        },
        None => (None, None),
    }
}

/// The AOC service of a `Workload`.
fn service_of_workload(workload: &str) -> String {
    let known = [
        ("AzureActiveDirectory", "Entra ID"),
        ("Exchange", "Exchange"),
        ("SharePoint", "SharePoint"),
        ("OneDrive", "OneDrive"),
        ("MicrosoftTeams", "Teams"),
    ];
    known
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(workload.trim()))
        .map_or_else(
            || workload.to_string(),
            |(_, service)| (*service).to_string(),
        )
}

/// The service a `RecordType` obviously belongs to, for records without `Workload`.
fn service_of_record_type(number: i64) -> Option<&'static str> {
    Some(match number {
        1 | 2 | 3 | 19 | 29 | 50 => "Exchange",
        4 | 6 | 14 | 36 | 54 => "SharePoint",
        7 => "OneDrive",
        8 | 9 | 15 | 294 => "Entra ID",
        25 | 57 => "Teams",
        20 => "Power BI",
        21 => "Dynamics 365",
        22 => "Viva Engage",
        30 => "Power Automate",
        32 => "Stream",
        66 => "Forms",
        261 => "Copilot",
        _ => return None,
    })
}

/// Workload-specific scalars admins filter on, copied to details under their own names.
const SCALAR_DETAILS: [&str; 22] = [
    "MailboxOwnerUPN",
    "ClientInfoString",
    "LogonType",
    "ExternalAccess",
    "AppId",
    "ClientAppId",
    "OperationCount",
    "ModifiedObjectResolvedName",
    "SiteUrl",
    "SourceRelativeUrl",
    "SourceFileName",
    "SourceFileExtension",
    "DestinationRelativeUrl",
    "DestinationFileName",
    "TargetUserOrGroupName",
    "TargetUserOrGroupType",
    "EventData",
    "ApplicationId",
    "ApplicationDisplayName",
    "LogonError",
    "TeamName",
    "ChannelName",
];

/// A unified audit record.
///
/// A Graph audit-log query record (`auditLogRecord`: `id`, `createdDateTime`, `auditData`…) is
/// read through its `auditData`, the same unified record, so it keys as `o365:{id}` too.
pub(crate) fn record(outer: &Value) -> Result<Draft, NormalizeError> {
    let raw = field(outer, "auditData")
        .filter(|data| data.is_object())
        .unwrap_or(outer);
    let timestamp = crate::timestamp(raw, "CreationTime")
        .or_else(|_| crate::timestamp(outer, "createdDateTime"))?;
    let (record_number, record_name) = record_type(raw);
    let service = str_at(raw, "Workload")
        .map(|w| service_of_workload(&w))
        .or_else(|| {
            record_number
                .and_then(service_of_record_type)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Unknown".to_string());
    let operation = str_at(raw, "Operation").unwrap_or_else(|| "Unknown".to_string());

    let error_code = first_str(raw, &["ErrorNumber", "ErrorCode"]);
    let mut result = field(raw, "ResultStatus")
        .map(parse_result)
        .unwrap_or_default();
    if operation.eq_ignore_ascii_case("UserLoginFailed") {
        result = EventResult::Failure;
    }
    // SharePoint and OneDrive write a record only for an action that happened (a file downloaded,
    // a link created) and carry no ResultStatus: that is a success, not an unknown.
    if field(raw, "ResultStatus").is_none() && matches!(service.as_str(), "SharePoint" | "OneDrive")
    {
        result = EventResult::Success;
    }
    let result_reason = (result == EventResult::Failure)
        .then(|| str_at(raw, "LogonError").or_else(|| error_code.clone()))
        .flatten();

    let mut draft = Draft {
        timestamp,
        service,
        category: record_name,
        result,
        result_reason,
        actor: actor(raw),
        // Exchange mailbox records carry the client in `ClientIPAddress`; their `ClientIP` is
        // often a Microsoft front end (`2603:10b6:…`), kept as a detail below.
        client_ip: ip_at(raw, &["ClientIPAddress", "ClientIP", "ActorIpAddress"]),
        record_tenant: str_at(raw, "OrganizationId").or_else(|| str_at(outer, "organizationId")),
        ..Draft::default()
    };
    draft.targets = targets(raw, &operation, record_number);
    draft.operation = operation;

    draft.detail_pairs(array(raw, "Parameters"), "Name", "Value");
    draft.detail_pairs(array(raw, "ExtendedProperties"), "Name", "Value");
    draft.detail_pairs(array(raw, "OperationProperties"), "Name", "Value");
    draft.detail_pairs(array(raw, "DeviceProperties"), "Name", "Value");
    for name in SCALAR_DETAILS {
        draft.detail(name, field(raw, name));
    }
    if field(raw, "ClientIPAddress").is_some() {
        draft.detail("ClientIP", field(raw, "ClientIP"));
    }
    if let Some(code) = error_code {
        crate::fields::insert_unique(&mut draft.details, "errorCode", code);
    }
    draft.user_agent = user_agent(raw);
    draft.change_list(
        array(raw, "ModifiedProperties"),
        "Name",
        "OldValue",
        "NewValue",
    );
    cmdlet_parameters_as_changes(&mut draft, array(raw, "Parameters"));
    Ok(draft)
}

/// An Exchange cmdlet (`Set-Mailbox`, `New-InboxRule`…) records what it set as `Parameters`,
/// not `ModifiedProperties`: each parameter but the object it acts on (`Identity`) is a change
/// to that value (the previous value is not recorded).
fn cmdlet_parameters_as_changes(draft: &mut Draft, parameters: &[Value]) {
    if !draft.changes.is_empty() {
        // The record lists its changes itself.
        return;
    }
    for parameter in parameters {
        let Some(name) = str_at(parameter, "Name") else {
            continue;
        };
        if name.eq_ignore_ascii_case("Identity") {
            continue;
        }
        let new = field(parameter, "Value").and_then(crate::fields::change_value);
        crate::fields::insert_unique(&mut draft.changes, &name, Change { old: None, new });
    }
}

/// `UserAgent` (SharePoint), or the Entra records' `ExtendedProperties` `UserAgent`, or the
/// `User-Agent` inside their `additionalDetails` JSON text.
fn user_agent(raw: &Value) -> Option<String> {
    if let Some(agent) = str_at(raw, "UserAgent") {
        return Some(agent);
    }
    let props = array(raw, "ExtendedProperties");
    let named = |wanted: &str| {
        props
            .iter()
            .filter(|p| str_at(p, "Name").is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
            .find_map(|p| str_at(p, "Value"))
    };
    named("UserAgent").or_else(|| {
        let details = named("additionalDetails")?;
        let parsed: Value = serde_json::from_str(&details).ok()?;
        first_str(&parsed, &["User-Agent", "UserAgent"])
    })
}

/// The kind a `UserType` (number or name) gives.
fn kind_of_user_type(value: &Value) -> Option<ActorKind> {
    if let Some(number) = int(value) {
        return Some(match number {
            0 | 2 | 3 | 9 | 10 => ActorKind::User,
            4 | 7 | 8 => ActorKind::System,
            5 => ActorKind::App,
            6 => ActorKind::ServicePrincipal,
            _ => ActorKind::Unknown,
        });
    }
    let name = text(value)?.to_ascii_lowercase();
    Some(match name.as_str() {
        "regular" | "admin" | "dcadmin" | "partnertechnician" | "guest" => ActorKind::User,
        "system" | "custompolicy" | "systempolicy" => ActorKind::System,
        "application" => ActorKind::App,
        "serviceprincipal" => ActorKind::ServicePrincipal,
        _ => ActorKind::Unknown,
    })
}

/// The `IdentityType` of an Entra `Actor` / `Target` entry: 0 Claim, 1 Name, 2 Other, 3 PUID,
/// 4 SPN, 5 UPN (number or name).
fn identity_type(entry: &Value) -> Option<i64> {
    let value = field(entry, "Type")?;
    int(value).or_else(|| {
        let name = text(value)?;
        ["Claim", "Name", "Other", "PUID", "SPN", "UPN"]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name.trim()))
            .and_then(|i| i64::try_from(i).ok())
    })
}

fn entry_ids(entries: &[Value], wanted: i64) -> impl Iterator<Item = String> + '_ {
    entries
        .iter()
        .filter(move |e| identity_type(e) == Some(wanted))
        .filter_map(|e| str_at(e, "ID"))
}

/// The actor: `UserId` with `UserType`, completed from the Entra `Actor` array and token claims.
fn actor(raw: &Value) -> Actor {
    let user_id = str_at(raw, "UserId");
    let entries = array(raw, "Actor");
    let lower = user_id
        .as_deref()
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let kind = if lower.starts_with("nt authority\\")
        || lower.starts_with("sharepoint\\system")
        || lower == "s-1-5-18"
    {
        ActorKind::System
    } else if lower == "app@sharepoint" {
        ActorKind::App
    } else {
        match field(raw, "UserType").and_then(kind_of_user_type) {
            Some(kind) => kind,
            None if user_id.is_some() || !entries.is_empty() => ActorKind::User,
            None => ActorKind::Unknown,
        }
    };
    let user_like = matches!(kind, ActorKind::User | ActorKind::Unknown);
    let mut actor = Actor {
        kind,
        ..Actor::default()
    };
    match user_id {
        Some(id) if is_guid(&id) => actor.id = Some(id),
        Some(upn) if user_like && upn.contains('@') => actor.upn = Some(upn),
        Some(name) => actor.display_name = Some(name),
        None => {}
    }
    if actor.upn.is_none() && user_like {
        actor.upn = entry_ids(entries, 5).next();
    }
    if actor.id.is_none() {
        actor.id = entries
            .iter()
            .filter_map(|e| str_at(e, "ID"))
            .find(|id| is_guid(id))
            .or_else(|| str_at(raw, "TokenObjectId").filter(|id| is_guid(id)))
            .or_else(|| str_at(raw, "UserKey").filter(|id| is_guid(id)));
    }
    actor
}

/// What the record touched, by record shape.
fn targets(raw: &Value, operation: &str, record_number: Option<i64>) -> Vec<Target> {
    let object_id = str_at(raw, "ObjectId");
    let entries = array(raw, "Target");
    if !entries.is_empty() {
        return vec![entra_target(entries, object_id, operation, record_number)];
    }
    let parameter = |name: &str| {
        array(raw, "Parameters")
            .iter()
            .filter(|p| str_at(p, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .find_map(|p| str_at(p, "Value"))
    };
    if record_number == Some(1) || field(raw, "Parameters").is_some() {
        // Exchange admin cmdlets: `Verb-Noun`; the noun is what was touched.
        let noun = operation.split_once('-').map(|(_, noun)| noun.to_string());
        let name = parameter("Identity")
            .or_else(|| str_at(raw, "ModifiedObjectResolvedName"))
            .or_else(|| {
                parameter("Name").filter(|_| noun.as_deref().is_some_and(|n| n.ends_with("Rule")))
            });
        if object_id.is_some() || name.is_some() {
            return vec![Target {
                kind: noun,
                id: object_id,
                name,
            }];
        }
    }
    if field(raw, "MailboxGuid").is_some() || field(raw, "MailboxOwnerUPN").is_some() {
        return vec![Target {
            kind: Some("Mailbox".to_string()),
            id: str_at(raw, "MailboxGuid"),
            name: str_at(raw, "MailboxOwnerUPN"),
        }];
    }
    let mut targets = Vec::new();
    let item = Target {
        kind: item_type(raw),
        id: object_id,
        name: str_at(raw, "SourceFileName"),
    };
    if item.kind.is_some() || item.id.is_some() || item.name.is_some() {
        targets.push(item);
    }
    if let Some(name) = str_at(raw, "TargetUserOrGroupName") {
        targets.push(Target {
            kind: str_at(raw, "TargetUserOrGroupType"),
            id: None,
            name: Some(name),
        });
    }
    targets
}

/// SharePoint `ItemType`: real records write names (`File`), the docs numbers.
fn item_type(raw: &Value) -> Option<String> {
    let value = field(raw, "ItemType")?;
    let Some(number) = int(value) else {
        return text(value);
    };
    let name = match number {
        1 => "File",
        5 => "Folder",
        6 => "Web",
        7 => "Site",
        8 => "Tenant",
        9 => "DocumentLibrary",
        11 => "Page",
        _ => return Some(number.to_string()),
    };
    Some(name.to_string())
}

/// One target from the Entra `Target` array, whose entries describe the same object several ways:
/// its class (`User`), its object id, its UPN or name.
fn entra_target(
    entries: &[Value],
    object_id: Option<String>,
    operation: &str,
    record_number: Option<i64>,
) -> Target {
    let is_class = |id: &String| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphabetic());
    let sign_in = matches!(record_number, Some(9 | 15))
        || operation.eq_ignore_ascii_case("UserLoggedIn")
        || operation.eq_ignore_ascii_case("UserLoginFailed");
    let kind = entry_ids(entries, 2)
        .find(is_class)
        .or_else(|| sign_in.then(|| "Resource".to_string()));
    let id = entries
        .iter()
        .filter_map(|e| str_at(e, "ID"))
        .find(|id| is_guid(id));
    let name = entry_ids(entries, 5)
        .next()
        .or_else(|| entry_ids(entries, 4).next())
        .or_else(|| entry_ids(entries, 1).next())
        .or_else(|| object_id.filter(|o| Some(o) != id.as_ref()));
    Target { kind, id, name }
}
