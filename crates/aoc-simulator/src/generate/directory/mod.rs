//! Entra ID directory audits: Graph `directoryAudit` records and, for most, their unified-log
//! twins (RecordType 8). This module picks the change and writes both record shapes; the
//! changes themselves are in [`accounts`] and [`apps_and_policies`].

mod accounts;
mod apps_and_policies;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ContentType, Generator, Source, graph_time};
use crate::profile::User;

impl<'a> Generator<'a> {
    /// One directory change, chosen by weight.
    pub(super) fn directory_activity(&mut self) {
        let time = self.at();
        match self.rng.weighted(&[20, 5, 12, 15, 20, 6, 4, 12, 4, 2]) {
            0 => self.role_change(time, true),
            1 => self.role_change(time, false),
            2 => self.consent(time),
            3 => self.user_change(
                time,
                "Reset user password",
                "Update",
                "Reset user password.",
            ),
            4 => self.user_change(time, "Update user", "Update", "Update user."),
            5 => self.user_change(time, "Add user", "Add", "Add user."),
            6 => self.user_change(time, "Delete user", "Delete", "Delete user."),
            7 => self.group_member(time),
            8 => self.ca_policy(time),
            _ => self.add_service_principal(time),
        }
    }

    fn directory_id(&mut self, prefix: &str, correlation: &str) -> String {
        let code = self.rng.alnum_upper(5);
        let n = self.rng.range(10_000_000, 99_999_999);
        format!("{prefix}_{correlation}_{code}_{n}")
    }

    fn initiator_user(user: &User, ip: &str) -> Value {
        json!({
            "user": {
                "id": user.id, "displayName": user.display, "userPrincipalName": user.upn,
                "ipAddress": ip, "userType": null, "homeTenantId": null, "homeTenantName": null
            },
            "app": null
        })
    }

    /// Emits a Graph directory audit and, when `ual` is given, its unified-log twin.
    #[allow(clippy::too_many_arguments)]
    fn emit_directory(
        &mut self,
        time: DateTime<Utc>,
        prefix: &str,
        correlation: String,
        activity: &str,
        category: &str,
        service: &str,
        operation_type: &str,
        initiated_by: Value,
        targets: Value,
        details: Value,
        ual: Option<UalDirectory>,
    ) {
        let id = self.directory_id(prefix, &correlation);
        let record = json!({
            "id": id,
            "category": category,
            "correlationId": correlation,
            "result": "success",
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": graph_time(time),
            "loggedByService": service,
            "operationType": operation_type,
            "initiatedBy": initiated_by,
            "targetResources": targets,
            "additionalDetails": details
        });
        self.emit(Source::DirectoryAudits, time, id, record);
        if let Some(ual) = ual
            && self.rng.chance(0.9)
        {
            self.emit_ual_directory(time, &correlation, ual);
        }
    }

    fn emit_ual_directory(&mut self, time: DateTime<Utc>, correlation: &str, u: UalDirectory) {
        let (id, mut m) = self.ual_base(8, "AzureActiveDirectory", &u.operation, time);
        let removal = u.operation.starts_with("Remove");
        let intra = self.guid();
        m.insert("ResultStatus".into(), json!("Success"));
        m.insert("UserType".into(), json!(0));
        m.insert(
            "UserKey".into(),
            json!(format!("{}@{}", u.actor_puid, self.profile.domain)),
        );
        m.insert("UserId".into(), json!(u.actor_upn));
        m.insert("ClientIP".into(), json!(""));
        m.insert("ObjectId".into(), json!(u.object_id));
        m.insert("AzureActiveDirectoryEventType".into(), json!(1));
        m.insert(
            "ExtendedProperties".into(),
            json!([
                { "Name": "additionalDetails", "Value": "{\"User-Agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/133.0\"}" },
                { "Name": "extendedAuditEventCategory", "Value": u.category }
            ]),
        );
        m.insert(
            "ModifiedProperties".into(),
            Value::Array(
                u.modified
                    .iter()
                    .map(|(name, value)| {
                        // Removals carry the old value, additions the new one.
                        if removal {
                            json!({ "Name": name, "NewValue": "", "OldValue": value })
                        } else {
                            json!({ "Name": name, "NewValue": value, "OldValue": "" })
                        }
                    })
                    .collect(),
            ),
        );
        m.insert(
            "Actor".into(),
            json!([
                { "ID": "Azure Portal", "Type": 1 },
                { "ID": u.actor_upn, "Type": 5 },
                { "ID": u.actor_id, "Type": 2 },
                { "ID": format!("User_{}", u.actor_id), "Type": 2 },
                { "ID": u.actor_puid, "Type": 3 }
            ]),
        );
        m.insert("ActorContextId".into(), json!(self.profile.tid));
        m.insert("ActorIpAddress".into(), json!(u.actor_ip));
        m.insert("InterSystemsId".into(), json!(correlation));
        m.insert("IntraSystemId".into(), json!(intra));
        m.insert("SupportTicketId".into(), json!(""));
        m.insert(
            "Target".into(),
            Value::Array(
                u.targets
                    .iter()
                    .map(|(id, ty)| json!({ "ID": id, "Type": ty }))
                    .collect(),
            ),
        );
        m.insert("TargetContextId".into(), json!(self.profile.tid));
        self.emit_ual(ContentType::AzureActiveDirectory, time, id, m);
    }
}

/// The unified-log twin of a directory audit.
struct UalDirectory {
    operation: String,
    category: &'static str,
    actor_upn: String,
    actor_id: String,
    actor_puid: String,
    actor_ip: String,
    object_id: String,
    modified: Vec<(String, String)>,
    targets: Vec<(String, i64)>,
}
