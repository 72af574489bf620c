//! Microsoft Graph `auditLogs/directoryAudits` and `auditLogs/signIns` records (also the Entra
//! admin-center JSON downloads, which carry the same shapes).

use aoc_model::{Actor, ActorKind, EventResult, Location, Target};
use serde_json::Value;

use crate::fields::{
    array, field, first_str, int, ip_at, parse_result, path, str_at, str_path, text,
};
use crate::{Draft, NormalizeError};

/// A directory audit (`microsoft.graph.directoryAudit`).
pub(crate) fn directory_audit(raw: &Value) -> Result<Draft, NormalizeError> {
    let timestamp = crate::timestamp(raw, "activityDateTime")?;
    let mut draft = Draft {
        timestamp,
        service: "Entra ID".to_string(),
        operation: str_at(raw, "activityDisplayName").unwrap_or_else(|| "Unknown".to_string()),
        category: str_at(raw, "category"),
        result: field(raw, "result").map(parse_result).unwrap_or_default(),
        result_reason: str_at(raw, "resultReason"),
        record_tenant: str_at(raw, "tenantId"),
        ..Draft::default()
    };
    initiator(raw, &mut draft);

    for resource in array(raw, "targetResources") {
        let target = Target {
            kind: str_at(resource, "type"),
            id: str_at(resource, "id"),
            name: first_str(resource, &["userPrincipalName", "displayName"]),
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

    let details = array(raw, "additionalDetails");
    draft.user_agent = details
        .iter()
        .filter(|pair| {
            str_at(pair, "key").is_some_and(|k| {
                k.eq_ignore_ascii_case("User-Agent") || k.eq_ignore_ascii_case("UserAgent")
            })
        })
        .find_map(|pair| str_at(pair, "value"));
    draft.detail_pairs(details, "key", "value");
    for name in ["loggedByService", "operationType", "correlationId"] {
        draft.detail(name, field(raw, name));
    }
    Ok(draft)
}

/// `initiatedBy.user` or `initiatedBy.app`: the actor and, for users, the client address.
fn initiator(raw: &Value, draft: &mut Draft) {
    let has_any = |v: &&Value, keys: &[&str]| keys.iter().any(|k| str_at(v, k).is_some());
    let user = path(raw, &["initiatedBy", "user"])
        .filter(|u| has_any(u, &["id", "userPrincipalName", "displayName", "ipAddress"]));
    if let Some(user) = user {
        draft.actor = Actor {
            kind: ActorKind::User,
            id: str_at(user, "id"),
            upn: str_at(user, "userPrincipalName"),
            display_name: str_at(user, "displayName"),
        };
        draft.client_ip = ip_at(user, &["ipAddress"]);
        return;
    }
    let app = path(raw, &["initiatedBy", "app"]).filter(|a| {
        has_any(
            a,
            &[
                "appId",
                "displayName",
                "servicePrincipalId",
                "servicePrincipalName",
            ],
        )
    });
    if let Some(app) = app {
        draft.actor = Actor {
            kind: ActorKind::App,
            id: first_str(app, &["servicePrincipalId", "appId"]),
            upn: None,
            display_name: first_str(app, &["displayName", "servicePrincipalName"]),
        };
        if str_at(app, "servicePrincipalId").is_some() {
            draft.detail("actorAppId", field(app, "appId"));
        }
        draft.client_ip = ip_at(app, &["ipAddress"]);
    }
}

/// Scalars of a sign-in that admins filter on, copied to details under the Graph name.
const SIGN_IN_DETAILS: [&str; 12] = [
    "appDisplayName",
    "appId",
    "resourceDisplayName",
    "clientAppUsed",
    "conditionalAccessStatus",
    "riskLevelDuringSignIn",
    "riskLevelAggregated",
    "riskState",
    "riskDetail",
    "authenticationProtocol",
    "isInteractive",
    "correlationId",
];

/// A sign-in (`microsoft.graph.signIn`). Named with the unified log's operations:
/// `UserLoggedIn` unless the sign-in failed (`status.errorCode` ≠ 0), then `UserLoginFailed`.
pub(crate) fn sign_in(raw: &Value) -> Result<Draft, NormalizeError> {
    let timestamp = crate::timestamp(raw, "createdDateTime")?;
    let status = field(raw, "status");
    let code_value = status.and_then(|s| field(s, "errorCode"));
    let result = match code_value.and_then(int) {
        Some(0) => EventResult::Success,
        Some(_) => EventResult::Failure,
        // Flattened exports write `status` as a word (`Success`, `Failure`).
        None => status.map(parse_result).unwrap_or_default(),
    };
    let reason = status.and_then(|s| {
        first_str(s, &["failureReason", "additionalDetails"]).or_else(|| {
            field(s, "errorCode")
                .and_then(text)
                .map(|code| format!("error {code}"))
        })
    });
    let mut draft = Draft {
        timestamp,
        service: "Entra ID".to_string(),
        operation: if result == EventResult::Failure {
            "UserLoginFailed"
        } else {
            "UserLoggedIn"
        }
        .to_string(),
        category: Some("SignIn".to_string()),
        result,
        result_reason: reason.filter(|_| result == EventResult::Failure),
        client_ip: ip_at(raw, &["ipAddress"]),
        user_agent: str_at(raw, "userAgent"),
        record_tenant: first_str(raw, &["tenantId", "resourceTenantId", "homeTenantId"]),
        ..Draft::default()
    };

    let user_id = str_at(raw, "userId");
    let upn = str_at(raw, "userPrincipalName");
    let display_name = str_at(raw, "userDisplayName");
    draft.actor = if user_id.is_some() || upn.is_some() || display_name.is_some() {
        Actor {
            kind: ActorKind::User,
            id: user_id,
            upn,
            display_name,
        }
    } else if let Some(sp) = first_str(raw, &["servicePrincipalId", "servicePrincipalName"]) {
        Actor {
            kind: ActorKind::ServicePrincipal,
            id: str_at(raw, "servicePrincipalId").or(Some(sp)),
            upn: None,
            display_name: str_at(raw, "servicePrincipalName"),
        }
    } else {
        Actor::default()
    };

    let city = str_path(raw, &["location", "city"]);
    let state = str_path(raw, &["location", "state"]);
    let country = str_path(raw, &["location", "countryOrRegion"]);
    if city.is_some() || state.is_some() || country.is_some() {
        draft.location = Some(Location {
            country,
            state,
            city,
        });
    }

    let app = Target {
        kind: Some("Application".to_string()),
        id: str_at(raw, "appId"),
        name: str_at(raw, "appDisplayName"),
    };
    let resource = Target {
        kind: Some("Resource".to_string()),
        id: str_at(raw, "resourceId"),
        name: str_at(raw, "resourceDisplayName"),
    };
    let same_as_app = resource.id.is_some() && resource.id == app.id;
    if app.id.is_some() || app.name.is_some() {
        draft.targets.push(app);
    }
    if !same_as_app && (resource.id.is_some() || resource.name.is_some()) {
        draft.targets.push(resource);
    }

    draft.detail("errorCode", code_value);
    if let Some(status) = status {
        draft.detail("additionalDetails", field(status, "additionalDetails"));
    }
    for name in SIGN_IN_DETAILS {
        draft.detail(name, field(raw, name));
    }
    // The Conditional Access policies that applied, each with its result, in one line.
    let policies: Vec<String> = field(raw, "appliedConditionalAccessPolicies")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    let name = str_at(p, "displayName")?;
                    Some(match str_at(p, "result") {
                        Some(result) => format!("{name}: {result}"),
                        None => name,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !policies.is_empty() {
        crate::fields::insert_unique(
            &mut draft.details,
            "conditionalAccessPolicies",
            policies.join("; "),
        );
    }
    let risks = field(raw, "riskEventTypes_v2").or_else(|| field(raw, "riskEventTypes"));
    if let Some(risks) = risks.filter(|r| r.as_array().is_some_and(|a| !a.is_empty())) {
        crate::fields::insert_unique(&mut draft.details, "riskEventTypes", risks.to_string());
    }
    draft.detail(
        "operatingSystem",
        path(raw, &["deviceDetail", "operatingSystem"]),
    );
    draft.detail("browser", path(raw, &["deviceDetail", "browser"]));
    Ok(draft)
}
