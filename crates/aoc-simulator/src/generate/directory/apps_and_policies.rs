//! Directory changes to applications and policies: consent grants, service principals,
//! conditional access policies.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::UalDirectory;
use crate::generate::{Generator, user_agent};

impl<'a> Generator<'a> {
    /// Consent to the mail-sync app: by an admin for everyone, or by a user for themselves.
    pub(super) fn consent(&mut self, time: DateTime<Utc>) {
        let by_admin = self.rng.chance(0.4);
        let actor = if by_admin {
            self.admin()
        } else {
            self.regular_user()
        };
        let app = self.profile.mail_sync.clone();
        let correlation = self.guid();
        let grant = self.guid();
        let resource = self.guid();
        let admin_consent = if by_admin { "True" } else { "False" };
        let scope = if self.rng.chance(0.5) {
            "Mail.Read Mail.Send offline_access User.Read"
        } else {
            "Files.Read.All offline_access User.Read"
        };
        let permissions = format!(
            "[] => [[Id: {grant}, ClientId: {}, PrincipalId: {}, ResourceId: {resource}, ConsentType: {}, Scope:  {scope}, CreatedDateTime: , LastModifiedDateTime ]]; ",
            app.sp_id,
            if by_admin { "" } else { actor.id.as_str() },
            if by_admin {
                "AllPrincipals"
            } else {
                "Principal"
            }
        );
        let q = |s: &str| json!(format!("\"{s}\""));
        let targets = json!([{
            "id": app.sp_id, "displayName": app.name, "type": "ServicePrincipal",
            "userPrincipalName": null, "groupType": null,
            "modifiedProperties": [
                { "displayName": "ConsentContext.IsAdminConsent", "oldValue": null, "newValue": q(admin_consent) },
                { "displayName": "ConsentContext.IsAppOnly", "oldValue": null, "newValue": q("False") },
                { "displayName": "ConsentContext.OnBehalfOfAll", "oldValue": null, "newValue": q(admin_consent) },
                { "displayName": "ConsentContext.Tags", "oldValue": null, "newValue": q("WindowsAzureActiveDirectoryIntegratedApp") },
                { "displayName": "ConsentAction.Permissions", "oldValue": null, "newValue": q(&permissions) },
                { "displayName": "TargetId.ServicePrincipalNames", "oldValue": null, "newValue": q(&app.app_id) }
            ]
        }]);
        let details = json!([
            { "key": "User-Agent", "value": user_agent(actor.os, actor.browser) },
            { "key": "AppId", "value": app.app_id }
        ]);
        let ual = UalDirectory {
            operation: "Consent to application.".into(),
            category: "ServicePrincipal",
            actor_upn: actor.upn.clone(),
            actor_id: actor.id.clone(),
            actor_puid: actor.puid.clone(),
            actor_ip: actor.ip.clone(),
            object_id: app.app_id.clone(),
            modified: vec![
                ("ConsentContext.IsAdminConsent".into(), admin_consent.into()),
                ("ConsentContext.IsAppOnly".into(), "False".into()),
                ("ConsentContext.OnBehalfOfAll".into(), admin_consent.into()),
                ("ConsentAction.Permissions".into(), permissions),
            ],
            targets: vec![
                (format!("ServicePrincipal_{}", app.sp_id), 2),
                (app.sp_id.clone(), 2),
                ("ServicePrincipal".into(), 2),
                (app.name.clone(), 1),
                (app.app_id, 2),
            ],
        };
        let initiated = Self::initiator_user(actor, &actor.ip);
        self.emit_directory(
            time,
            "Directory",
            correlation,
            "Consent to application",
            "ApplicationManagement",
            "Core Directory",
            "Assign",
            initiated,
            targets,
            details,
            Some(ual),
        );
    }

    /// A conditional access policy edited by an admin, sometimes weakened to report-only.
    pub(super) fn ca_policy(&mut self, time: DateTime<Utc>) {
        let admin = self.admin();
        let index = self.rng.below(self.profile.ca_policies.len() as u64) as usize;
        let (pid, name) = self.profile.ca_policies[index].clone();
        let correlation = self.guid();
        let weaken = self.rng.chance(0.4);
        let policy = |state: &str, exclude: &[&str]| {
            json!({
                "id": pid, "displayName": name, "state": state,
                "conditions": {
                    "users": { "includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeUsers": exclude },
                    "applications": { "includeApplications": ["All"] }
                },
                "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
            })
            .to_string()
        };
        let old = policy("enabled", &[]);
        let new = if weaken {
            policy("enabledForReportingButNotEnforced", &[admin.id.as_str()])
        } else {
            policy("enabled", &[])
        };
        let targets = json!([{
            "id": pid, "displayName": name, "type": "Policy", "userPrincipalName": null, "groupType": null,
            "modifiedProperties": [{ "displayName": "ConditionalAccessPolicy", "oldValue": old, "newValue": new }]
        }]);
        let initiated = Self::initiator_user(admin, &admin.ip);
        self.emit_directory(
            time,
            "IPCGraph",
            correlation,
            "Update conditional access policy",
            "Policy",
            "Conditional Access",
            "Update",
            initiated,
            targets,
            json!([]),
            None,
        );
    }

    /// The mail-sync app's service principal added by an admin.
    pub(super) fn add_service_principal(&mut self, time: DateTime<Utc>) {
        let admin = self.admin();
        let app = self.profile.mail_sync.clone();
        let correlation = self.guid();
        let targets = json!([{
            "id": app.sp_id, "displayName": app.name, "type": "ServicePrincipal",
            "userPrincipalName": null, "groupType": null,
            "modifiedProperties": [
                { "displayName": "AccountEnabled", "oldValue": "[]", "newValue": "[true]" },
                { "displayName": "AppPrincipalId", "oldValue": "[]", "newValue": format!("[\"{}\"]", app.app_id) },
                { "displayName": "DisplayName", "oldValue": "[]", "newValue": format!("[\"{}\"]", app.name) }
            ]
        }]);
        let ual = UalDirectory {
            operation: "Add service principal.".into(),
            category: "ServicePrincipal",
            actor_upn: admin.upn.clone(),
            actor_id: admin.id.clone(),
            actor_puid: admin.puid.clone(),
            actor_ip: admin.ip.clone(),
            object_id: app.app_id.clone(),
            modified: vec![("DisplayName".into(), app.name.clone())],
            targets: vec![
                (format!("ServicePrincipal_{}", app.sp_id), 2),
                (app.sp_id.clone(), 2),
                (app.name, 1),
            ],
        };
        let initiated = Self::initiator_user(admin, &admin.ip);
        self.emit_directory(
            time,
            "Directory",
            correlation,
            "Add service principal",
            "ApplicationManagement",
            "Core Directory",
            "Add",
            initiated,
            targets,
            json!([]),
            Some(ual),
        );
    }
}
