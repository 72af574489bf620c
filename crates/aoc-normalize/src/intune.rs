//! Microsoft Graph `deviceManagement/auditEvents` records (Intune `auditEvent`).

use aoc_model::{Actor, ActorKind, Target};
use serde_json::Value;

use crate::fields::{array, field, first_str, ip_at, parse_result, str_at};
use crate::{Draft, NormalizeError};

/// An Intune audit event. The operation is `activityType` (`Create DeviceCompliancePolicy`,
/// `wipe ManagedDevice`), falling back to `displayName` and `activity`.
pub(crate) fn audit_event(raw: &Value) -> Result<Draft, NormalizeError> {
    let timestamp = crate::timestamp(raw, "activityDateTime")?;
    let mut draft = Draft {
        timestamp,
        service: "Intune".to_string(),
        operation: first_str(raw, &["activityType", "displayName", "activity"])
            .unwrap_or_else(|| "Unknown".to_string()),
        category: first_str(raw, &["category", "componentName"]),
        result: field(raw, "activityResult")
            .map(parse_result)
            .unwrap_or_default(),
        record_tenant: str_at(raw, "tenantId"),
        ..Draft::default()
    };

    if let Some(actor) = field(raw, "actor") {
        let upn = str_at(actor, "userPrincipalName");
        let user_id = str_at(actor, "userId");
        draft.actor = if upn.is_some() || user_id.is_some() {
            Actor {
                kind: ActorKind::User,
                id: user_id,
                upn,
                display_name: None,
            }
        } else if let Some(name) = first_str(
            actor,
            &[
                "servicePrincipalName",
                "applicationDisplayName",
                "applicationId",
            ],
        ) {
            Actor {
                kind: ActorKind::App,
                id: str_at(actor, "applicationId"),
                upn: None,
                display_name: Some(name),
            }
        } else {
            Actor::default()
        };
        draft.client_ip = ip_at(actor, &["ipAddress"]);
        draft.detail("auditActorType", field(actor, "auditActorType"));
        draft.detail(
            "applicationDisplayName",
            field(actor, "applicationDisplayName"),
        );
    }

    for resource in array(raw, "resources") {
        let target = Target {
            kind: first_str(resource, &["auditResourceType", "type"]),
            id: str_at(resource, "resourceId"),
            name: str_at(resource, "displayName"),
        };
        if target.kind.is_some() || target.id.is_some() || target.name.is_some() {
            draft.targets.push(target);
        }
        draft.change_list(
            array(resource, "modifiedProperties"),
            "displayName",
            "oldValue",
            "newValue",
        );
    }

    for name in [
        "componentName",
        "activityOperationType",
        "activity",
        "correlationId",
    ] {
        draft.detail(name, field(raw, name));
    }
    Ok(draft)
}
