//! Directory changes to accounts: users added, updated, deleted or reset, group membership,
//! role assignments.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::UalDirectory;
use crate::generate::{Generator, user_agent};
use crate::profile::ROLES;

impl<'a> Generator<'a> {
    /// A directory role assigned to (`add`) or removed from a user by an admin.
    pub(super) fn role_change(&mut self, time: DateTime<Utc>, add: bool) {
        let admin = self.admin();
        let target = self.user();
        let role_index = if self.rng.chance(0.3) {
            0
        } else {
            self.rng.below(ROLES.len() as u64) as usize
        };
        let (role_name, template, well_known) = ROLES[role_index];
        let role_id = self.profile.role_ids[role_index].clone();
        let correlation = self.guid();
        let q = |s: &str| format!("\"{s}\"");
        let (activity, op_type, ual_op) = if add {
            ("Add member to role", "Assign", "Add member to role.")
        } else {
            (
                "Remove member from role",
                "Unassign",
                "Remove member from role.",
            )
        };
        let modified = |value: &dyn Fn(&str) -> Value| {
            json!([
                { "displayName": "Role.ObjectID", "oldValue": if add { Value::Null } else { value(&role_id) }, "newValue": if add { value(&role_id) } else { Value::Null } },
                { "displayName": "Role.DisplayName", "oldValue": if add { Value::Null } else { value(role_name) }, "newValue": if add { value(role_name) } else { Value::Null } },
                { "displayName": "Role.TemplateId", "oldValue": if add { Value::Null } else { value(template) }, "newValue": if add { value(template) } else { Value::Null } },
                { "displayName": "Role.WellKnownObjectName", "oldValue": if add { Value::Null } else { value(well_known) }, "newValue": if add { value(well_known) } else { Value::Null } }
            ])
        };
        let targets = json!([
            {
                "id": target.id, "displayName": null, "type": "User",
                "userPrincipalName": target.upn, "groupType": null,
                "modifiedProperties": modified(&|s| json!(q(s)))
            },
            {
                "id": role_id, "displayName": role_name, "type": "Role",
                "userPrincipalName": null, "groupType": null, "modifiedProperties": []
            }
        ]);
        let details =
            json!([{ "key": "User-Agent", "value": user_agent(admin.os, admin.browser) }]);
        let ual = UalDirectory {
            operation: ual_op.to_string(),
            category: "User",
            actor_upn: admin.upn.clone(),
            actor_id: admin.id.clone(),
            actor_puid: admin.puid.clone(),
            actor_ip: admin.ip.clone(),
            object_id: target.upn.clone(),
            modified: vec![
                ("Role.ObjectID".into(), role_id.clone()),
                ("Role.DisplayName".into(), role_name.into()),
                ("Role.TemplateId".into(), template.into()),
                ("Role.WellKnownObjectName".into(), well_known.into()),
            ],
            targets: vec![
                (format!("User_{}", target.id), 2),
                (target.id.clone(), 2),
                ("User".into(), 2),
                (target.upn.clone(), 5),
                (target.puid.clone(), 3),
            ],
        };
        let initiated = Self::initiator_user(admin, &admin.ip);
        self.emit_directory(
            time,
            "Directory",
            correlation,
            activity,
            "RoleManagement",
            "Core Directory",
            op_type,
            initiated,
            targets,
            details,
            Some(ual),
        );
    }

    /// A user added, updated, deleted or given a new password, by an admin or an automation app.
    pub(super) fn user_change(
        &mut self,
        time: DateTime<Utc>,
        activity: &str,
        op_type: &str,
        ual_op: &str,
    ) {
        let admin = self.admin();
        // New and departing accounts are not part of the fixed cast.
        let (target_id, target_upn, target_puid) = match op_type {
            "Add" | "Delete" => {
                let n = self.rng.range(100, 999);
                let who = if op_type == "Add" {
                    "contractor"
                } else {
                    "former"
                };
                (
                    self.guid(),
                    format!("{who}.{n}@{}", self.profile.domain),
                    format!("1003{}", self.rng.hex_upper(12)),
                )
            }
            _ => {
                let u = self.user();
                (u.id.clone(), u.upn.clone(), u.puid.clone())
            }
        };
        let by_app = activity == "Update user" && self.rng.chance(0.3);
        let correlation = self.guid();
        let modified = match op_type {
            "Delete" => json!([
                { "displayName": "Is Hard Deleted", "oldValue": null, "newValue": "False" },
                { "displayName": "Included Updated Properties", "oldValue": null, "newValue": "" },
                { "displayName": "TargetId.UserType", "oldValue": null, "newValue": "\"Member\"" }
            ]),
            "Add" => json!([
                { "displayName": "AccountEnabled", "oldValue": "[]", "newValue": "[true]" },
                { "displayName": "UserPrincipalName", "oldValue": "[]", "newValue": format!("[\"{target_upn}\"]") },
                { "displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"AccountEnabled, UserPrincipalName\"" }
            ]),
            _ if activity == "Update user" => json!([
                { "displayName": "JobTitle", "oldValue": "[\"Analyst\"]", "newValue": "[\"Senior Analyst\"]" },
                { "displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"JobTitle\"" }
            ]),
            _ => json!([]),
        };
        let targets = json!([{
            "id": target_id, "displayName": null, "type": "User",
            "userPrincipalName": target_upn, "groupType": null, "modifiedProperties": modified
        }]);
        let (initiated, details, ual) = if by_app {
            let app = &self.profile.automation;
            (
                json!({ "user": null, "app": { "appId": app.app_id, "displayName": app.name, "servicePrincipalId": app.sp_id, "servicePrincipalName": app.name } }),
                json!([]),
                None,
            )
        } else {
            (
                Self::initiator_user(admin, &admin.ip),
                json!([{ "key": "UserType", "value": "Member" }]),
                Some(UalDirectory {
                    operation: ual_op.to_string(),
                    category: "User",
                    actor_upn: admin.upn.clone(),
                    actor_id: admin.id.clone(),
                    actor_puid: admin.puid.clone(),
                    actor_ip: admin.ip.clone(),
                    object_id: target_upn.clone(),
                    modified: Vec::new(),
                    targets: vec![
                        (format!("User_{target_id}"), 2),
                        (target_id, 2),
                        ("User".into(), 2),
                        (target_upn, 5),
                        (target_puid, 3),
                    ],
                }),
            )
        };
        let service = if activity == "Reset user password" && self.rng.chance(0.3) {
            "Self-service Password Management"
        } else {
            "Core Directory"
        };
        self.emit_directory(
            time,
            "Directory",
            correlation,
            activity,
            "UserManagement",
            service,
            op_type,
            initiated,
            targets,
            details,
            ual,
        );
    }

    /// A user added to a group by an admin.
    pub(super) fn group_member(&mut self, time: DateTime<Utc>) {
        let admin = self.admin();
        let target = self.user();
        let group =
            self.profile.groups[self.rng.below(self.profile.groups.len() as u64) as usize].clone();
        let correlation = self.guid();
        let targets = json!([
            {
                "id": target.id, "displayName": null, "type": "User",
                "userPrincipalName": target.upn, "groupType": null,
                "modifiedProperties": [
                    { "displayName": "Group.ObjectID", "oldValue": null, "newValue": format!("\"{}\"", group.id) },
                    { "displayName": "Group.DisplayName", "oldValue": null, "newValue": format!("\"{}\"", group.name) }
                ]
            },
            {
                "id": group.id, "displayName": group.name, "type": "Group",
                "userPrincipalName": null, "groupType": "unifiedGroups", "modifiedProperties": []
            }
        ]);
        let ual = UalDirectory {
            operation: "Add member to group.".into(),
            category: "Group",
            actor_upn: admin.upn.clone(),
            actor_id: admin.id.clone(),
            actor_puid: admin.puid.clone(),
            actor_ip: admin.ip.clone(),
            object_id: target.upn.clone(),
            modified: vec![
                ("Group.ObjectID".into(), group.id.clone()),
                ("Group.DisplayName".into(), group.name),
            ],
            targets: vec![
                (format!("User_{}", target.id), 2),
                (target.id.clone(), 2),
                ("User".into(), 2),
                (target.upn.clone(), 5),
            ],
        };
        let initiated = Self::initiator_user(admin, &admin.ip);
        self.emit_directory(
            time,
            "Directory",
            correlation,
            "Add member to group",
            "GroupManagement",
            "Core Directory",
            "Assign",
            initiated,
            targets,
            json!([]),
            Some(ual),
        );
    }
}
