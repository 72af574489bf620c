//! Intune audit events (Graph `auditEvent`): compliance and configuration policy changes,
//! device actions (wipe, retire, delete), enrollment configuration, by admins or automation.

use serde_json::{Value, json};

use super::{Generator, Source, graph_time};

impl<'a> Generator<'a> {
    /// One Intune audit event: a policy or configuration change or a device action.
    pub(super) fn intune_activity(&mut self) {
        const ACTIVITIES: [(&str, &str, &str, &str, &str); 7] = [
            (
                "Create DeviceCompliancePolicy",
                "DeviceCompliance",
                "Compliance",
                "Create",
                "Windows10CompliancePolicy",
            ),
            (
                "Patch DeviceCompliancePolicy",
                "DeviceCompliance",
                "Compliance",
                "Patch",
                "Windows10CompliancePolicy",
            ),
            (
                "Patch DeviceConfiguration",
                "DeviceConfiguration",
                "DeviceConfiguration",
                "Patch",
                "Windows10GeneralConfiguration",
            ),
            (
                "wipe ManagedDevice",
                "DeviceManagement",
                "Device",
                "Action",
                "ManagedDevice",
            ),
            (
                "retire ManagedDevice",
                "DeviceManagement",
                "Device",
                "Action",
                "ManagedDevice",
            ),
            (
                "Delete ManagedDevice",
                "DeviceManagement",
                "Device",
                "Delete",
                "ManagedDevice",
            ),
            (
                "Patch DeviceEnrollmentConfiguration",
                "Enrollment",
                "Enrollment",
                "Patch",
                "DeviceEnrollmentConfiguration",
            ),
        ];
        let time = self.at();
        let (name, component, category, op, resource_type) = *self.rng.pick(&ACTIVITIES);
        let id = self.guid();
        let correlation = self.guid();
        let resource_id = self.guid();
        let by_app = self.rng.chance(0.2);
        let admin = self.admin();
        let failure = self.rng.chance(0.08);
        let (display, modified) = match resource_type {
            "ManagedDevice" => (self.user().device_name.clone(), json!([])),
            "Windows10CompliancePolicy" => (
                "Windows - require BitLocker".to_string(),
                json!([
                    { "displayName": "BitLockerEnabled", "oldValue": if op == "Create" { Value::Null } else { json!("False") }, "newValue": "True" },
                    { "displayName": "DisplayName", "oldValue": null, "newValue": "Windows - require BitLocker" }
                ]),
            ),
            "Windows10GeneralConfiguration" => (
                "Windows - USB restrictions".to_string(),
                json!([{ "displayName": "StorageBlockRemovableStorage", "oldValue": "True", "newValue": "False" }]),
            ),
            _ => (
                "All users and all devices".to_string(),
                json!([{ "displayName": "Priority", "oldValue": "1", "newValue": "0" }]),
            ),
        };
        let actor = if by_app {
            let app = &self.profile.automation;
            json!({
                "auditActorType": "Application", "userPermissions": [],
                "applicationId": app.app_id, "applicationDisplayName": app.name,
                "userPrincipalName": null, "servicePrincipalName": app.name,
                "ipAddress": null, "userId": null
            })
        } else {
            let portal = crate::rng::guid_of(&[b"intune-portal", self.profile.tid.as_bytes()]);
            json!({
                "auditActorType": "ItPro", "userPermissions": ["*"],
                "applicationId": portal, "applicationDisplayName": "Microsoft Intune portal extension",
                "userPrincipalName": admin.upn, "servicePrincipalName": null,
                "ipAddress": null, "userId": admin.id
            })
        };
        let record = json!({
            "@odata.type": "#microsoft.graph.auditEvent",
            "id": id,
            "displayName": name,
            "componentName": component,
            "activity": null,
            "activityDateTime": graph_time(time),
            "activityType": name,
            "activityOperationType": op,
            "activityResult": if failure { "Failure" } else { "Success" },
            "correlationId": correlation,
            "category": category,
            "actor": actor,
            "resources": [{
                "displayName": display,
                "auditResourceType": resource_type,
                "resourceId": resource_id,
                "modifiedProperties": modified
            }]
        });
        self.emit(Source::IntuneAudit, time, id, record);
    }
}
