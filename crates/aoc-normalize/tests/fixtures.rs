//! Every fixture record in, the expected normalized fields out; plus the Purview export paths,
//! dedupe keys, client-address cleanup, odd shapes and a property test that nothing panics.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use aoc_model::{ActorKind, Change, Event, EventId, EventResult, Location, Target, TenantId};
use aoc_normalize::{
    Context, NormalizeError, PurviewRow, RecordKind, dedupe_key, detect_kind, normalize,
    normalize_as, normalize_purview_row,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative)
}

fn read_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(relative)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The records of a fixture: a bare array or a Graph `{ "value": [...] }` page.
fn records(relative: &str) -> Vec<Value> {
    match read_json(relative) {
        Value::Array(items) => items,
        Value::Object(mut page) => match page.remove("value") {
            Some(Value::Array(items)) => items,
            _ => panic!("{relative}: no value array"),
        },
        _ => panic!("{relative}: not a page"),
    }
}

fn ctx(source: &str) -> Context {
    Context::new(source)
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid time")
        .with_timezone(&Utc)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("valid ip")
}

fn event_of(relative: &str, index: usize) -> Event {
    let record = records(relative)
        .into_iter()
        .nth(index)
        .expect("record exists");
    normalize(record, &ctx("test")).expect("normalizes")
}

struct Want {
    file: &'static str,
    kind: RecordKind,
    timestamp: &'static str,
    service: &'static str,
    operation: &'static str,
    category: Option<&'static str>,
    result: EventResult,
    actor_kind: ActorKind,
    upn: Option<&'static str>,
    client_ip: Option<&'static str>,
    key: &'static str,
    tenant: &'static str,
    summary: &'static str,
}

const DIR1: &str = "graph/directoryAudits.page1.json";
const DIR2: &str = "graph/directoryAudits.page2.json";
const DOWNLOAD: &str = "entra-download/AuditLogs_2025-03-01.json";
const SIGNINS: &str = "graph/signIns.json";
const INTUNE: &str = "graph/intune.auditEvents.json";
const AAD: &str = "o365mgmt/content.blob.Audit.AzureActiveDirectory.json";
const EXO: &str = "o365mgmt/content.blob.Audit.Exchange.json";
const SPO: &str = "o365mgmt/content.blob.Audit.SharePoint.json";

#[rustfmt::skip]
fn expectations() -> Vec<Want> {
    use ActorKind::*;
    use EventResult::*;
    use RecordKind::*;
    let w = |file, kind, timestamp, service, operation, category, result, actor_kind, upn, client_ip, key, tenant, summary| Want {
        file, kind, timestamp, service, operation, category, result, actor_kind, upn, client_ip, key, tenant, summary,
    };
    let role = "Directory_7b1e2f30-9c4d-4e55-8a61-2f0c9d3b6a10_K8Q2M_48213977";
    let delete = "Directory_d41f8e2a-6b3c-4a9d-b5e1-0c7f2a9d4e61_3ZP7W_91120584";
    vec![
        // Graph directory audits, page 1 and 2.
        w(DIR1, DirectoryAudit, "2025-03-01T10:15:42.183746Z", "Entra ID", "Add member to role", Some("RoleManagement"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          "graph.directory_audits:Directory_7b1e2f30-9c4d-4e55-8a61-2f0c9d3b6a10_K8Q2M_48213977", "unknown",
          "admin.kim@contoso.com added lee.gomez@contoso.com to Global Administrator"),
        w(DIR1, DirectoryAudit, "2025-03-01T10:22:07.552019Z", "Entra ID", "Delete user", Some("UserManagement"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          "graph.directory_audits:Directory_d41f8e2a-6b3c-4a9d-b5e1-0c7f2a9d4e61_3ZP7W_91120584", "unknown",
          "admin.kim@contoso.com deleted user dana.park@contoso.com"),
        w(DIR1, DirectoryAudit, "2025-03-01T10:31:55.004971Z", "Entra ID", "Consent to application", Some("ApplicationManagement"), Success, User, Some("megan.ross@contoso.com"), Some("198.51.100.77"),
          "graph.directory_audits:Directory_2c8a5f17-0e4b-4d6a-9f33-8b1c7e5d2a90_R4K9T_55031872", "unknown",
          "megan.ross@contoso.com consented to application Contoso Mail Sync Helper"),
        w(DIR2, DirectoryAudit, "2025-03-01T11:02:19.771402Z", "Entra ID", "Reset user password", Some("UserManagement"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          "graph.directory_audits:Directory_91e0c7b3-5a2d-4f6e-8b14-3d9a6c2e7f05_M2H6X_30977412", "unknown",
          "admin.kim@contoso.com reset the password of omar.haddad@contoso.com"),
        w(DIR2, DirectoryAudit, "2025-03-01T11:40:03.229011Z", "Entra ID", "Update conditional access policy", Some("Policy"), Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "graph.directory_audits:IPCGraph_5f2a9d1c-7e3b-4c8a-b6d0-9e1f3a5c7b28_ZQ4N1_77120365", "unknown",
          "lee.gomez@contoso.com updated conditional access policy Require MFA for admins"),
        // Entra admin-center JSON download: the same records as page 1, same keys.
        w(DOWNLOAD, DirectoryAudit, "2025-03-01T10:15:42.183746Z", "Entra ID", "Add member to role", Some("RoleManagement"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          leak(format!("graph.directory_audits:{role}")), "unknown",
          "admin.kim@contoso.com added lee.gomez@contoso.com to Global Administrator"),
        w(DOWNLOAD, DirectoryAudit, "2025-03-01T10:22:07.552019Z", "Entra ID", "Delete user", Some("UserManagement"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          leak(format!("graph.directory_audits:{delete}")), "unknown",
          "admin.kim@contoso.com deleted user dana.park@contoso.com"),
        // Graph sign-ins.
        w(SIGNINS, SignIn, "2025-03-01T10:09:55.918204Z", "Entra ID", "UserLoggedIn", Some("SignIn"), Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "graph.sign_ins:4e5f6a7b-8c9d-4e0f-9a1b-3c4d5e6f7a85", TENANT,
          "lee.gomez@contoso.com signed in to Microsoft Azure PowerShell (synthetic) from 198.51.100.77"),
        w(SIGNINS, SignIn, "2025-03-01T10:07:03.301884Z", "Entra ID", "UserLoginFailed", Some("SignIn"), Failure, User, Some("dana.park@contoso.com"), Some("203.0.113.201"),
          "graph.sign_ins:3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f74", TENANT,
          "dana.park@contoso.com failed to sign in to Office 365 Exchange Online (synthetic) from 203.0.113.201: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."),
        w(SIGNINS, SignIn, "2025-03-01T10:05:47.663712Z", "Entra ID", "UserLoginFailed", Some("SignIn"), Failure, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "graph.sign_ins:2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e63", TENANT,
          "lee.gomez@contoso.com failed to sign in to Office 365 Exchange Online (synthetic) from 198.51.100.77: Error validating credentials due to invalid username or password."),
        w(SIGNINS, SignIn, "2025-03-01T10:04:12.091638Z", "Entra ID", "UserLoginFailed", Some("SignIn"), Failure, User, Some("omar.haddad@contoso.com"), Some("198.51.100.12"),
          "graph.sign_ins:1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d52", TENANT,
          "omar.haddad@contoso.com failed to sign in to Microsoft Teams Web Client (synthetic) from 198.51.100.12: Authentication failed during strong authentication request."),
        w(SIGNINS, SignIn, "2025-03-01T09:58:31.441007Z", "Entra ID", "UserLoggedIn", Some("SignIn"), Success, User, Some("megan.ross@contoso.com"), Some("203.0.113.58"),
          "graph.sign_ins:0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c21", TENANT,
          "megan.ross@contoso.com signed in to Contoso HR Portal from 203.0.113.58"),
        // Intune audit events.
        w(INTUNE, IntuneAudit, "2025-03-01T12:01:44.812441Z", "Intune", "Create DeviceCompliancePolicy", Some("Compliance"), Success, User, Some("admin.kim@contoso.com"), None,
          "graph.intune_audit:a1c3e5f7-2b4d-4f6a-8c0e-1d3f5b7d9e11", "unknown",
          "admin.kim@contoso.com created DeviceCompliancePolicy \"Windows - require BitLocker\""),
        w(INTUNE, IntuneAudit, "2025-03-01T12:18:09.003298Z", "Intune", "wipe ManagedDevice", Some("Device"), Success, User, Some("admin.kim@contoso.com"), None,
          "graph.intune_audit:d4f6b8c0-5e7a-4c9d-9f1b-4a6c8e0a2b55", "unknown",
          "admin.kim@contoso.com ran wipe on ManagedDevice \"CONTOSO-LT-0388\""),
        w(INTUNE, IntuneAudit, "2025-03-01T12:40:52.667135Z", "Intune", "Patch DeviceConfiguration", Some("DeviceConfiguration"), Failure, App, None, None,
          "graph.intune_audit:a7c9e1f3-8b0d-4fa1-8c4e-7d9f1b3d5e88", "unknown",
          "Contoso Automation (synthetic) failed to update DeviceConfiguration \"Windows - USB restrictions\""),
        // Unified audit log: Entra.
        w(AAD, UnifiedAudit, "2025-03-01T09:58:31Z", "Entra ID", "UserLoggedIn", Some("AzureActiveDirectoryStsLogon"), Success, User, Some("megan.ross@contoso.com"), Some("203.0.113.58"),
          "o365:5c7e9a1c-3d4f-4b6a-9c8e-0a2c4e6a8b24", TENANT,
          "megan.ross@contoso.com signed in to b3d5f7a9-1c2e-4a6b-8d0f-2e4a6c8e0b17 from 203.0.113.58"),
        w(AAD, UnifiedAudit, "2025-03-01T10:05:47Z", "Entra ID", "UserLoginFailed", Some("AzureActiveDirectoryStsLogon"), Failure, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:9a1c3e5a-7b8d-4f0e-8a2c-4e6a8c0e2f28", TENANT,
          "lee.gomez@contoso.com failed to sign in to d9f1b3c5-7e2a-4f4b-8d6c-8e0a2c4e6f79 from 198.51.100.77: InvalidUserNameOrPassword"),
        w(AAD, UnifiedAudit, "2025-03-01T10:15:42Z", "Entra ID", "Add member to role", Some("AzureActiveDirectory"), Success, User, Some("admin.kim@contoso.com"), Some("203.0.113.24"),
          "o365:3e5a7c9e-1f2b-4d4c-8e6a-8c0e2a4c6d32", TENANT,
          "admin.kim@contoso.com added lee.gomez@contoso.com to Global Administrator"),
        // Unified audit log: Exchange.
        w(EXO, UnifiedAudit, "2025-03-01T10:58:33Z", "Exchange", "New-InboxRule", Some("ExchangeAdmin"), Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01", TENANT,
          "lee.gomez@contoso.com created inbox rule \".\" forwarding to ledger-archive@fabrikam.example"),
        w(EXO, UnifiedAudit, "2025-03-01T11:01:05Z", "Exchange", "Set-Mailbox", Some("ExchangeAdmin"), Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:7f9b1d3f-5a6c-4e8d-8f2a-4b6d8f0a3c03", TENANT,
          "lee.gomez@contoso.com set forwarding on omar.haddad@contoso.com to omar.h.backup@fabrikam.example"),
        w(EXO, UnifiedAudit, "2025-03-01T11:06:41Z", "Exchange", "MailItemsAccessed", Some("ExchangeItemAggregated"), Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:9b1d3f5b-7c8e-4a0f-9b4c-6d8f0a2c5e05", TENANT,
          "lee.gomez@contoso.com accessed 2 mail item(s) in mailbox lee.gomez@contoso.com"),
        // Unified audit log: SharePoint (no ResultStatus: the action happened, so success).
        w(SPO, UnifiedAudit, "2025-03-01T10:44:09Z", "SharePoint", "FileDownloaded", Some("SharePointFileOperation"), EventResult::Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:3c5e7a9c-1d2f-4b4a-8c6e-8a0c2e4a6b12", TENANT,
          "lee.gomez@contoso.com downloaded 2025-02 payroll.xlsx"),
        w(SPO, UnifiedAudit, "2025-03-01T10:46:52Z", "SharePoint", "FileDeleted", Some("SharePointFileOperation"), EventResult::Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:7a9c1e3a-5b6d-4f8e-8a0c-2e4a6c8e0f16", TENANT,
          "lee.gomez@contoso.com deleted Q4 reconciliation.docx"),
        w(SPO, UnifiedAudit, "2025-03-01T10:49:30Z", "SharePoint", "SharingSet", Some("SharePointSharingOperation"), EventResult::Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:0d2f4b6d-8e9a-4c1b-9d3f-5b7d9f1b3c19", TENANT,
          "lee.gomez@contoso.com shared Payroll with Finance Visitors"),
        w(SPO, UnifiedAudit, "2025-03-01T10:51:14Z", "SharePoint", "AnonymousLinkCreated", Some("SharePointSharingOperation"), EventResult::Success, User, Some("lee.gomez@contoso.com"), Some("198.51.100.77"),
          "o365:2f4b6d8f-0a1c-4e3d-8f5b-7d9f1b3d5e21", TENANT,
          "lee.gomez@contoso.com created an anyone link to 2025-02 payroll.xlsx"),
    ]
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn every_fixture_record_normalizes_to_the_expected_fields() {
    let wants = expectations();
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for want in &wants {
        let index = per_file.entry(want.file).or_default();
        let record = records(want.file)
            .into_iter()
            .nth(*index)
            .expect("record exists");
        *index += 1;
        let at = format!("{} #{}", want.file, *index);

        assert_eq!(detect_kind(&record), want.kind, "{at}");
        let event = normalize(record.clone(), &ctx("test-source")).expect("normalizes");
        assert_eq!(event.timestamp, time(want.timestamp), "{at}");
        assert_eq!(event.service, want.service, "{at}");
        assert_eq!(event.operation, want.operation, "{at}");
        assert_eq!(event.category.as_deref(), want.category, "{at}");
        assert_eq!(event.result, want.result, "{at}");
        assert_eq!(event.actor.kind, want.actor_kind, "{at}");
        assert_eq!(event.actor.upn.as_deref(), want.upn, "{at}");
        assert_eq!(event.client_ip, want.client_ip.map(ip), "{at}");
        assert_eq!(event.dedupe_key.as_str(), want.key, "{at}");
        assert_eq!(event.tenant_id.as_str(), want.tenant, "{at}");
        assert_eq!(event.summary, want.summary, "{at}");
        assert_eq!(
            event.id,
            EventId::derive(&event.tenant_id, &event.dedupe_key),
            "{at}"
        );
        assert_eq!(event.source, "test-source", "{at}");
        assert_eq!(event.seq, None, "{at}");
        assert_eq!(event.ingested_at, None, "{at}");
        assert_eq!(event.raw, record, "{at}");

        // The same record read with its kind named gives the same event.
        let named = normalize_as(want.kind, record, &ctx("test-source")).expect("normalizes");
        assert_eq!(named, event, "{at}");
    }
    // Every record of every fixture is covered above.
    for (file, seen) in per_file {
        assert_eq!(records(file).len(), seen, "{file}");
    }
}

#[test]
fn graph_role_assignment_details() {
    let event = event_of(DIR1, 0);
    assert_eq!(
        event.actor.id.as_deref(),
        Some("0c4e7a91-2b6d-4f38-9a15-e3d7c2b8f604")
    );
    assert_eq!(event.actor.display_name.as_deref(), Some("Kim Admin"));
    assert_eq!(
        event.targets,
        vec![
            Target {
                kind: Some("User".into()),
                id: Some("6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98".into()),
                name: Some("lee.gomez@contoso.com".into()),
            },
            Target {
                kind: Some("Role".into()),
                id: Some("9a2c4e6f-1b3d-4f5a-8c7e-0d2f4b6a8c1e".into()),
                name: Some("Global Administrator".into()),
            },
        ]
    );
    let new = |name: &str| event.changes.get(name).and_then(|c| c.new.clone());
    assert_eq!(
        new("Role.DisplayName").as_deref(),
        Some("Global Administrator")
    );
    assert_eq!(
        new("Role.TemplateId").as_deref(),
        Some("62e90394-69f5-4237-9190-012177145e10")
    );
    assert_eq!(
        new("Role.WellKnownObjectName").as_deref(),
        Some("CompanyAdministrator")
    );
    assert_eq!(
        event
            .changes
            .get("Role.DisplayName")
            .and_then(|c| c.old.clone()),
        None
    );
    assert_eq!(event.changes.len(), 4);
    let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0 Safari/537.36 Edg/133.0";
    assert_eq!(
        event.details.get("User-Agent").map(String::as_str),
        Some(agent)
    );
    assert_eq!(event.user_agent.as_deref(), Some(agent));
    assert_eq!(
        event.details.get("loggedByService").map(String::as_str),
        Some("Core Directory")
    );
    assert_eq!(
        event.details.get("operationType").map(String::as_str),
        Some("Assign")
    );
    assert_eq!(event.result_reason, None, "empty resultReason is none");
}

#[test]
fn graph_change_values_are_decoded_or_kept() {
    let delete = event_of(DIR1, 1);
    assert_eq!(
        delete.changes.get("Is Hard Deleted"),
        Some(&Change {
            old: None,
            new: Some("False".into())
        })
    );
    assert_eq!(
        delete.changes.get("Included Updated Properties"),
        Some(&Change::default())
    );
    assert_eq!(
        delete
            .changes
            .get("TargetId.UserType")
            .and_then(|c| c.new.as_deref()),
        Some("Member")
    );

    let consent = event_of(DIR1, 2);
    let permissions = consent
        .changes
        .get("ConsentAction.Permissions")
        .and_then(|c| c.new.clone())
        .expect("permissions");
    assert!(
        permissions.starts_with("[] => [[Id: synthetic-grant-01"),
        "{permissions}"
    );
    assert!(permissions.contains("Mail.Read Mail.Send offline_access"));
    assert_eq!(
        consent.details.get("AppId").map(String::as_str),
        Some("e7c1a3b5-9d2f-4e8a-b6c0-3f5d7a9e1b24")
    );
    assert_eq!(consent.targets.len(), 1);
    assert_eq!(consent.targets[0].kind.as_deref(), Some("ServicePrincipal"));

    let policy = event_of(DIR2, 1);
    let change = policy
        .changes
        .get("ConditionalAccessPolicy")
        .expect("policy change");
    let old = change.old.as_deref().expect("old");
    let new = change.new.as_deref().expect("new");
    assert!(
        old.starts_with("{\"id\":\"c2e4a6b8") && old.contains("\"state\":\"enabled\""),
        "{old}"
    );
    assert!(
        new.contains("\"state\":\"enabledForReportingButNotEnforced\""),
        "{new}"
    );
    assert!(new.contains("\"excludeUsers\":[\"6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98\"]"));

    let reset = event_of(DIR2, 0);
    assert!(reset.changes.is_empty());
    assert_eq!(
        reset.targets[0].name.as_deref(),
        Some("omar.haddad@contoso.com")
    );
}

#[test]
fn graph_sign_in_details() {
    let risky = event_of(SIGNINS, 0);
    assert_eq!(
        risky.actor.id.as_deref(),
        Some("6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98")
    );
    assert_eq!(risky.actor.display_name.as_deref(), Some("Lee Gomez"));
    assert_eq!(
        risky.location,
        Some(Location {
            country: Some("RO".into()),
            state: Some("Bucuresti".into()),
            city: Some("Bucharest".into())
        })
    );
    let d = |e: &Event, k: &str| e.details.get(k).cloned();
    assert_eq!(d(&risky, "riskLevelDuringSignIn").as_deref(), Some("high"));
    assert_eq!(d(&risky, "riskState").as_deref(), Some("atRisk"));
    assert_eq!(
        d(&risky, "riskEventTypes").as_deref(),
        Some("[\"anonymizedIPAddress\",\"unfamiliarFeatures\"]")
    );
    assert_eq!(d(&risky, "errorCode").as_deref(), Some("0"));
    assert_eq!(
        d(&risky, "clientAppUsed").as_deref(),
        Some("Mobile Apps and Desktop clients")
    );
    assert_eq!(
        d(&risky, "conditionalAccessStatus").as_deref(),
        Some("success")
    );
    assert_eq!(d(&risky, "isInteractive").as_deref(), Some("true"));
    assert_eq!(d(&risky, "operatingSystem").as_deref(), Some("Windows"));
    assert_eq!(d(&risky, "browser"), None, "empty strings are dropped");
    assert_eq!(risky.result_reason, None);
    assert_eq!(
        risky.user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506")
    );
    assert_eq!(
        risky.targets,
        vec![
            Target {
                kind: Some("Application".into()),
                id: Some("e0a2c4e6-8f1b-4d3c-a5e7-9f1b3d5f7a91".into()),
                name: Some("Microsoft Azure PowerShell (synthetic)".into()),
            },
            Target {
                kind: Some("Resource".into()),
                id: Some("00000003-0000-0000-c000-000000000000".into()),
                name: Some("Microsoft Graph".into()),
            },
        ]
    );

    let blocked = event_of(SIGNINS, 1);
    assert_eq!(
        blocked.result_reason.as_deref(),
        Some(
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
        )
    );
    assert_eq!(d(&blocked, "errorCode").as_deref(), Some("53003"));
    assert_eq!(d(&blocked, "clientAppUsed").as_deref(), Some("IMAP4"));
    assert_eq!(
        d(&blocked, "conditionalAccessStatus").as_deref(),
        Some("failure")
    );
    assert_eq!(
        blocked.targets.len(),
        1,
        "resource equal to the app is not repeated"
    );
    assert_eq!(
        blocked.location.as_ref().and_then(|l| l.country.as_deref()),
        Some("NG")
    );

    assert_eq!(
        d(&event_of(SIGNINS, 2), "errorCode").as_deref(),
        Some("50126")
    );
    let mfa = event_of(SIGNINS, 3);
    assert_eq!(d(&mfa, "errorCode").as_deref(), Some("500121"));
    assert_eq!(
        d(&mfa, "additionalDetails").as_deref(),
        Some("The user didn't complete the MFA prompt.")
    );
    let plain = event_of(SIGNINS, 4);
    assert_eq!(
        d(&plain, "additionalDetails").as_deref(),
        Some("MFA requirement satisfied by claim in the token")
    );
    assert_eq!(
        d(&plain, "riskEventTypes"),
        None,
        "empty arrays are dropped"
    );
    assert_eq!(
        plain.location.as_ref().and_then(|l| l.city.as_deref()),
        Some("Springfield")
    );
}

#[test]
fn intune_details() {
    let create = event_of(INTUNE, 0);
    assert_eq!(
        create.actor.id.as_deref(),
        Some("0c4e7a91-2b6d-4f38-9a15-e3d7c2b8f604")
    );
    assert_eq!(
        create.targets,
        vec![Target {
            kind: Some("Windows10CompliancePolicy".into()),
            id: Some("c3e5a7b9-4d6f-4b8c-8e0a-3f5b7d9f1a44".into()),
            name: Some("Windows - require BitLocker".into()),
        }]
    );
    assert_eq!(
        create.changes.get("BitLockerEnabled"),
        Some(&Change {
            old: None,
            new: Some("True".into())
        })
    );
    assert_eq!(
        create.details.get("componentName").map(String::as_str),
        Some("DeviceCompliance")
    );
    assert_eq!(
        create
            .details
            .get("activityOperationType")
            .map(String::as_str),
        Some("Create")
    );
    assert_eq!(
        create.details.get("auditActorType").map(String::as_str),
        Some("ItPro")
    );

    let wipe = event_of(INTUNE, 1);
    assert_eq!(wipe.targets[0].kind.as_deref(), Some("ManagedDevice"));
    assert!(wipe.changes.is_empty());

    let patch = event_of(INTUNE, 2);
    assert_eq!(
        patch.actor.id.as_deref(),
        Some("5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36")
    );
    assert_eq!(
        patch.actor.display_name.as_deref(),
        Some("Contoso Automation (synthetic)")
    );
    assert_eq!(
        patch.changes.get("StorageBlockRemovableStorage"),
        Some(&Change {
            old: Some("True".into()),
            new: Some("False".into())
        })
    );
}

#[test]
fn unified_entra_details() {
    let login = event_of(AAD, 0);
    assert_eq!(
        login.actor.id.as_deref(),
        Some("a9e3c5d7-1f2b-4a6c-8e0d-2b7f4c9a1e53")
    );
    assert_eq!(
        login.details.get("errorCode").map(String::as_str),
        Some("0")
    );
    assert_eq!(
        login.details.get("RequestType").map(String::as_str),
        Some("OAuth2:Authorize")
    );
    assert_eq!(
        login.details.get("OS").map(String::as_str),
        Some("Windows 10")
    );
    assert_eq!(
        login.details.get("IsCompliant").map(String::as_str),
        Some("True")
    );
    assert!(
        login
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.ends_with("Edg/133.0"))
    );
    assert_eq!(
        login.targets,
        vec![Target {
            kind: Some("Resource".into()),
            id: Some("b3d5f7a9-1c2e-4a6b-8d0f-2e4a6c8e0b17".into()),
            name: None,
        }]
    );

    let failed = event_of(AAD, 1);
    assert_eq!(
        failed.result_reason.as_deref(),
        Some("InvalidUserNameOrPassword")
    );
    assert_eq!(
        failed.details.get("errorCode").map(String::as_str),
        Some("50126")
    );
    assert_eq!(
        failed.details.get("LogonError").map(String::as_str),
        Some("InvalidUserNameOrPassword")
    );
    assert_eq!(failed.user_agent.as_deref(), Some("python-requests/2.31.0"));

    let role = event_of(AAD, 2);
    assert_eq!(
        role.actor.id.as_deref(),
        Some("0c4e7a91-2b6d-4f38-9a15-e3d7c2b8f604")
    );
    assert_eq!(
        role.changes.get("Role.DisplayName"),
        Some(&Change {
            old: None,
            new: Some("Global Administrator".into())
        })
    );
    assert_eq!(
        role.changes
            .get("Role.TemplateId")
            .and_then(|c| c.new.as_deref()),
        Some("62e90394-69f5-4237-9190-012177145e10")
    );
    assert_eq!(
        role.targets,
        vec![Target {
            kind: Some("User".into()),
            id: Some("6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98".into()),
            name: Some("lee.gomez@contoso.com".into()),
        }]
    );
    assert_eq!(
        role.user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/133.0")
    );
    assert_eq!(
        role.details
            .get("extendedAuditEventCategory")
            .map(String::as_str),
        Some("User")
    );

    // The same role assignment from Graph and from the unified log tells the same story.
    let graph = event_of(DIR1, 0);
    assert_eq!(graph.summary, role.summary);
    assert_eq!(graph.actor.id, role.actor.id);
    assert_eq!(
        graph.changes.get("Role.DisplayName"),
        role.changes.get("Role.DisplayName")
    );
}

#[test]
fn unified_exchange_details() {
    let rule = event_of(EXO, 0);
    let d = |e: &Event, k: &str| e.details.get(k).cloned();
    assert_eq!(
        d(&rule, "ForwardTo").as_deref(),
        Some("ledger-archive@fabrikam.example")
    );
    assert_eq!(d(&rule, "Name").as_deref(), Some("."));
    assert_eq!(
        d(&rule, "SubjectOrBodyContainsWords").as_deref(),
        Some("invoice;payment;wire")
    );
    assert_eq!(d(&rule, "StopProcessingRules").as_deref(), Some("True"));
    assert_eq!(
        d(&rule, "MoveToFolder").as_deref(),
        Some("RSS Subscriptions")
    );
    assert_eq!(d(&rule, "ExternalAccess").as_deref(), Some("false"));
    assert_eq!(d(&rule, "AppId"), None, "empty strings are dropped");
    assert_eq!(
        rule.actor.id.as_deref(),
        Some("6f1d2c3b-8a4e-4b7f-9c20-5d3e1f7a2b98")
    );
    assert_eq!(
        rule.targets,
        vec![Target {
            kind: Some("InboxRule".into()),
            id: Some("EURPR07A003.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/Lee Gomez\\.".into()),
            name: Some(".".into()),
        }]
    );

    let forward = event_of(EXO, 1);
    assert_eq!(
        d(&forward, "ForwardingSmtpAddress").as_deref(),
        Some("smtp:omar.h.backup@fabrikam.example")
    );
    assert_eq!(
        d(&forward, "DeliverToMailboxAndForward").as_deref(),
        Some("False")
    );
    assert_eq!(
        forward.targets,
        vec![Target {
            kind: Some("Mailbox".into()),
            id: Some("contoso.onmicrosoft.com/Users/Omar Haddad".into()),
            name: Some("omar.haddad@contoso.com".into()),
        }]
    );

    let access = event_of(EXO, 2);
    assert_eq!(d(&access, "MailAccessType").as_deref(), Some("Bind"));
    assert_eq!(d(&access, "IsThrottled").as_deref(), Some("False"));
    assert_eq!(
        d(&access, "MailboxOwnerUPN").as_deref(),
        Some("lee.gomez@contoso.com")
    );
    assert_eq!(
        d(&access, "ClientInfoString").as_deref(),
        Some("Client=OWA;Action=ViaProxy")
    );
    assert_eq!(d(&access, "LogonType").as_deref(), Some("0"));
    assert_eq!(
        access.targets,
        vec![Target {
            kind: Some("Mailbox".into()),
            id: Some("0c2e4a6c-8d9f-4b1a-8c5d-7e9a1c3e6f06".into()),
            name: Some("lee.gomez@contoso.com".into()),
        }]
    );
}

#[test]
fn unified_sharepoint_details() {
    let download = event_of(SPO, 0);
    let d = |e: &Event, k: &str| e.details.get(k).cloned();
    assert_eq!(
        d(&download, "SiteUrl").as_deref(),
        Some("https://contoso.sharepoint.com/sites/Finance/")
    );
    assert_eq!(
        d(&download, "SourceFileName").as_deref(),
        Some("2025-02 payroll.xlsx")
    );
    assert_eq!(d(&download, "SourceFileExtension").as_deref(), Some("xlsx"));
    assert_eq!(
        download.targets,
        vec![Target {
            kind: Some("File".into()),
            id: Some("https://contoso.sharepoint.com/sites/Finance/Shared Documents/Payroll/2025-02 payroll.xlsx".into()),
            name: Some("2025-02 payroll.xlsx".into()),
        }]
    );
    assert!(
        download
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.contains("Chrome/133.0"))
    );
    assert_eq!(download.result_reason, None);

    let sharing = event_of(SPO, 2);
    assert_eq!(sharing.targets.len(), 2);
    assert_eq!(sharing.targets[0].kind.as_deref(), Some("Folder"));
    assert_eq!(
        sharing.targets[1],
        Target {
            kind: Some("SharePointGroup".into()),
            id: None,
            name: Some("Finance Visitors".into())
        }
    );
    assert_eq!(
        d(&sharing, "EventData").as_deref(),
        Some("<PermissionsGranted>Read</PermissionsGranted>")
    );
}

#[test]
fn context_tenant_wins_over_the_record() {
    let record = records(EXO).into_iter().next().expect("record");
    let ours = TenantId::new("operator-tenant");
    let event = normalize(
        record.clone(),
        &ctx("o365.Audit.Exchange").with_tenant(ours.clone()),
    )
    .expect("normalizes");
    assert_eq!(event.tenant_id, ours);
    assert_eq!(event.source, "o365.Audit.Exchange");
    let from_record = normalize(record, &ctx("import")).expect("normalizes");
    assert_eq!(from_record.tenant_id.as_str(), TENANT);
    assert_ne!(event.id, from_record.id, "different tenants, different ids");
    assert_eq!(event.dedupe_key, from_record.dedupe_key);
}

#[test]
fn same_record_twice_same_id_and_key_order_does_not_matter() {
    for file in [DIR1, SIGNINS, INTUNE, AAD, EXO, SPO] {
        for record in records(file) {
            let a = normalize(record.clone(), &ctx("a")).expect("normalizes");
            let b = normalize(record.clone(), &ctx("b")).expect("normalizes");
            assert_eq!(a.id, b.id, "{file}");

            // Without a native id the key is a hash of the canonical JSON: key order is irrelevant.
            let kind = detect_kind(&record);
            let mut stripped = record.clone();
            if let Value::Object(map) = &mut stripped {
                map.remove("id");
                map.remove("Id");
            }
            let reordered = reverse_keys(&stripped);
            assert_ne!(
                serde_json::to_string(&stripped).ok(),
                serde_json::to_string(&reordered).ok()
            );
            let key = dedupe_key(kind, &stripped);
            assert_eq!(key, dedupe_key(kind, &reordered), "{file}");
            let prefix = format!("{}:h:", kind.family());
            let hex = key.as_str().strip_prefix(&prefix).expect("hash key");
            assert_eq!(hex.len(), 64);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
            let x = normalize(stripped, &ctx("x")).expect("normalizes");
            let y = normalize(reordered, &ctx("y")).expect("normalizes");
            assert_eq!(x.id, y.id, "{file}");
            assert_ne!(x.id, a.id);
        }
    }
    // A different record hashes differently.
    let a = dedupe_key(
        RecordKind::Unknown,
        &json!({"timestamp": "2025-03-01T00:00:00Z", "x": 1}),
    );
    let b = dedupe_key(
        RecordKind::Unknown,
        &json!({"timestamp": "2025-03-01T00:00:00Z", "x": 2}),
    );
    assert_ne!(a, b);
    assert!(a.as_str().starts_with("unknown:h:"));
}

fn reverse_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reverse_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

#[test]
fn graph_and_download_copies_share_ids() {
    let graph = records(DIR1);
    let download = records(DOWNLOAD);
    for (g, d) in graph.into_iter().zip(download) {
        let g = normalize(g, &ctx("graph.directory_audits")).expect("normalizes");
        let d = normalize(d, &ctx("import")).expect("normalizes");
        assert_eq!(g.id, d.id);
        assert_eq!(g.dedupe_key, d.dedupe_key);
    }
}

#[test]
fn graph_audit_query_records_read_through_audit_data() {
    let blob = records(EXO).into_iter().next().expect("record");
    let record = json!({
        "id": "5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01",
        "createdDateTime": "2025-03-01T10:58:33Z",
        "auditLogRecordType": "exchangeAdmin",
        "operation": "New-InboxRule",
        "organizationId": TENANT,
        "userPrincipalName": "lee.gomez@contoso.com",
        "auditData": blob,
    });
    assert_eq!(detect_kind(&record), RecordKind::UnifiedAudit);
    let event = normalize(record.clone(), &ctx("graph.audit_query")).expect("normalizes");
    let twin = normalize(blob, &ctx("o365.Audit.Exchange")).expect("normalizes");
    assert_eq!(event.id, twin.id);
    assert_eq!(
        event.dedupe_key.as_str(),
        "o365:5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01"
    );
    assert_eq!(event.summary, twin.summary);
    assert_eq!(event.details, twin.details);
    assert_eq!(event.raw, record);
}

/// Reads a Purview export with the csv crate: BOM stripped, headers matched case-insensitively,
/// legacy `UserIds` / `Operations` mapped; `AuditData` handed over as JSON text when `as_text`.
fn purview_rows(relative: &str, as_text: bool) -> Vec<PurviewRow> {
    let text = std::fs::read_to_string(fixture_path(relative)).expect("readable");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |record: &csv::StringRecord, names: &[&str]| {
        names.iter().find_map(|name| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(str::to_string)
        })
    };
    reader
        .records()
        .map(|record| {
            let record = record.expect("row");
            let audit = column(&record, &["auditdata"]).unwrap_or_default();
            PurviewRow {
                record_id: column(&record, &["recordid"]),
                creation_date: column(&record, &["creationdate"]),
                record_type: column(&record, &["recordtype"]),
                operation: column(&record, &["operation", "operations"]),
                user_id: column(&record, &["userid", "userids"]),
                audit_data: if as_text {
                    Value::String(audit)
                } else {
                    serde_json::from_str(&audit).expect("AuditData is JSON")
                },
            }
        })
        .collect()
}

#[test]
fn purview_rows_match_the_management_api_records() {
    let mut api: BTreeMap<String, Event> = BTreeMap::new();
    for (file, source) in [
        (AAD, "o365.Audit.AzureActiveDirectory"),
        (EXO, "o365.Audit.Exchange"),
        (SPO, "o365.Audit.SharePoint"),
    ] {
        for record in records(file) {
            let event = normalize(record, &ctx(source)).expect("normalizes");
            api.insert(event.dedupe_key.as_str().to_string(), event);
        }
    }
    let mut matched = 0;
    for (file, as_text, rows) in [
        ("purview/audit_export.csv", false, 5),
        ("purview/audit_export.legacy-4col.csv", true, 2),
    ] {
        let parsed = purview_rows(file, as_text);
        assert_eq!(parsed.len(), rows, "{file}");
        for row in parsed {
            let event = normalize_purview_row(row, &ctx("import")).expect("normalizes");
            let twin = api
                .get(event.dedupe_key.as_str())
                .expect("same record in a blob");
            assert_eq!(event.id, twin.id, "{file}");
            assert_eq!(event.tenant_id.as_str(), TENANT);
            assert_eq!(event.timestamp, twin.timestamp);
            assert_eq!(event.operation, twin.operation);
            assert_eq!(event.summary, twin.summary);
            assert_eq!(event.raw, twin.raw, "raw is the AuditData record");
            assert_eq!(event.source, "import");
            // With an operator tenant given, both paths still agree.
            let ours = ctx("x").with_tenant(TenantId::new("t-1"));
            let a = normalize(twin.raw.clone(), &ours).expect("normalizes");
            let b = normalize_purview_row(
                PurviewRow {
                    audit_data: twin.raw.clone(),
                    ..PurviewRow::default()
                },
                &ours,
            )
            .expect("normalizes");
            assert_eq!(a.id, b.id);
            matched += 1;
        }
    }
    assert_eq!(matched, 7);
}

#[test]
fn purview_columns_fill_what_audit_data_lacks() {
    let audit = json!({"Workload": "Exchange", "Parameters": [{"Name": "ForwardTo", "Value": "x@fabrikam.example"}]});
    let row = PurviewRow {
        record_id: Some("5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01".into()),
        creation_date: Some("3/1/2025 10:58:33 AM".into()),
        record_type: Some("1".into()),
        operation: Some("New-InboxRule".into()),
        user_id: Some("lee.gomez@contoso.com".into()),
        audit_data: audit.clone(),
    };
    let event = normalize_purview_row(row, &ctx("import")).expect("normalizes");
    assert_eq!(
        event.dedupe_key.as_str(),
        "o365:5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01"
    );
    assert_eq!(event.timestamp, time("2025-03-01T10:58:33Z"));
    assert_eq!(event.category.as_deref(), Some("ExchangeAdmin"));
    assert_eq!(event.operation, "New-InboxRule");
    assert_eq!(event.actor.upn.as_deref(), Some("lee.gomez@contoso.com"));
    assert_eq!(event.tenant_id.as_str(), "unknown");
    assert_eq!(event.raw, audit, "raw stays the AuditData as given");
    assert_eq!(
        event.summary,
        "lee.gomez@contoso.com created an inbox rule forwarding to x@fabrikam.example"
    );

    // ISO dates and record type names are accepted.
    let row = PurviewRow {
        creation_date: Some("2025-03-01T10:15:42.0000000Z".into()),
        record_type: Some("AzureActiveDirectory".into()),
        audit_data: json!({"Id": "abc"}),
        ..PurviewRow::default()
    };
    let event = normalize_purview_row(row, &ctx("import")).expect("normalizes");
    assert_eq!(event.timestamp, time("2025-03-01T10:15:42Z"));
    assert_eq!(event.category.as_deref(), Some("AzureActiveDirectory"));
    assert_eq!(event.service, "Entra ID");
    assert_eq!(event.dedupe_key.as_str(), "o365:abc");

    // AuditData that is not JSON: the row is kept, made of its columns.
    let row = PurviewRow {
        record_id: Some("r-1".into()),
        creation_date: Some("3/1/2025 1:02:03 PM".into()),
        operation: Some("FileAccessed".into()),
        audit_data: Value::String("{\"Id\":\"r-1\",\"Operat".into()),
        ..PurviewRow::default()
    };
    let event = normalize_purview_row(row, &ctx("import")).expect("normalizes");
    assert_eq!(event.dedupe_key.as_str(), "o365:r-1");
    assert_eq!(event.timestamp, time("2025-03-01T13:02:03Z"));
    assert_eq!(event.operation, "FileAccessed");
    assert_eq!(event.raw.get("RecordId"), Some(&json!("r-1")));
    assert_eq!(
        event.raw.get("AuditData"),
        Some(&json!("{\"Id\":\"r-1\",\"Operat"))
    );

    // Nothing at all, or no time anywhere.
    assert_eq!(
        normalize_purview_row(PurviewRow::default(), &ctx("import")),
        Err(NormalizeError::NotAnObject)
    );
    let no_time = PurviewRow {
        audit_data: json!({"Id": "x"}),
        ..PurviewRow::default()
    };
    assert_eq!(
        normalize_purview_row(no_time, &ctx("import")),
        Err(NormalizeError::MissingTimestamp)
    );
}

#[test]
fn client_addresses_are_cleaned() {
    for (raw_ip, want) in [
        ("203.0.113.5:52344", "203.0.113.5"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:DB8::7", "2001:db8::7"),
        (" 198.51.100.4 ", "198.51.100.4"),
    ] {
        let ual =
            json!({"CreationTime": "2025-03-01T10:00:00", "Operation": "X", "ClientIP": raw_ip});
        let event = normalize(ual, &ctx("t")).expect("normalizes");
        assert_eq!(event.client_ip, Some(ip(want)), "{raw_ip}");

        let sign_in = json!({"createdDateTime": "2025-03-01T10:00:00Z", "status": {"errorCode": 0}, "ipAddress": raw_ip});
        let event = normalize(sign_in, &ctx("t")).expect("normalizes");
        assert_eq!(event.client_ip, Some(ip(want)), "{raw_ip}");
    }
    // An unusable ClientIP falls through to the next field.
    let ual = json!({"CreationTime": "2025-03-01T10:00:00", "Operation": "X", "ClientIP": "<null>", "ClientIPAddress": "", "ActorIpAddress": "203.0.113.77:80"});
    assert_eq!(
        normalize(ual, &ctx("t")).expect("normalizes").client_ip,
        Some(ip("203.0.113.77"))
    );
    let ual =
        json!({"CreationTime": "2025-03-01T10:00:00", "Operation": "X", "ClientIP": "x.x.x.XXX"});
    assert_eq!(
        normalize(ual, &ctx("t")).expect("normalizes").client_ip,
        None
    );
}

#[test]
fn errors_are_typed_and_lowercase() {
    for not_object in [json!(null), json!(5), json!("text"), json!([{"Id": "x"}])] {
        assert_eq!(
            normalize(not_object.clone(), &ctx("t")),
            Err(NormalizeError::NotAnObject)
        );
        assert_eq!(
            normalize_as(RecordKind::UnifiedAudit, not_object, &ctx("t")),
            Err(NormalizeError::NotAnObject)
        );
    }
    assert_eq!(
        normalize(json!({"foo": 1}), &ctx("t")),
        Err(NormalizeError::MissingTimestamp)
    );
    assert_eq!(
        normalize_as(
            RecordKind::SignIn,
            json!({"id": "x", "createdDateTime": "yesterday"}),
            &ctx("t")
        ),
        Err(NormalizeError::MissingTimestamp)
    );
    for error in [
        NormalizeError::NotAnObject,
        NormalizeError::MissingTimestamp,
    ] {
        let message = error.to_string();
        assert_eq!(message, message.to_lowercase());
        assert!(!message.ends_with('.'));
    }
}

#[test]
fn odd_shapes_are_kept_not_rejected() {
    let record = json!({
        "CreationTime": "2025-03-01T10:00:00.1234567",
        "Id": 42,
        "RecordType": "15",
        "Operation": "UserLoginFailed",
        "UserType": "5",
        "UserId": "Contoso Sync App",
        "Workload": null,
        "ClientIP": null,
        "ResultStatus": 7,
        "ErrorNumber": 50053,
        "ModifiedProperties": "not a list",
        "Parameters": [
            {"Name": "X", "Value": {"a": [1, true]}},
            {"Name": "X", "Value": null},
            {"Name": "X", "Value": 3},
            {"Value": "nameless"},
            "not an object"
        ],
        "ExtendedProperties": [{"Name": "X", "Value": "from extended"}],
        "Actor": [{"ID": 17, "Type": "UPN"}, null]
    });
    let event = normalize(record.clone(), &ctx("t")).expect("normalizes");
    assert_eq!(event.timestamp, time("2025-03-01T10:00:00.123456Z"));
    assert_eq!(event.dedupe_key.as_str(), "o365:42");
    assert_eq!(
        event.category.as_deref(),
        Some("AzureActiveDirectoryStsLogon")
    );
    assert_eq!(
        event.service, "Entra ID",
        "service from the record type when Workload is null"
    );
    assert_eq!(event.result, EventResult::Failure);
    assert_eq!(event.result_reason.as_deref(), Some("50053"));
    assert_eq!(event.actor.kind, ActorKind::App);
    assert_eq!(
        event.actor.display_name.as_deref(),
        Some("Contoso Sync App")
    );
    assert_eq!(event.actor.upn, None);
    assert_eq!(
        event.details.get("X").map(String::as_str),
        Some("{\"a\":[1,true]}")
    );
    assert_eq!(event.details.get("X #2").map(String::as_str), Some(""));
    assert_eq!(event.details.get("X #3").map(String::as_str), Some("3"));
    assert_eq!(
        event.details.get("X #4").map(String::as_str),
        Some("from extended")
    );
    assert_eq!(
        event.details.get("errorCode").map(String::as_str),
        Some("50053")
    );
    // A cmdlet's parameters are what it changed; ModifiedProperties that is no list adds none.
    assert_eq!(
        event.changes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["X", "X #2", "X #3"]
    );
    assert_eq!(event.changes["X #3"].new.as_deref(), Some("3"));
    assert_eq!(event.changes["X #3"].old, None);
    assert_eq!(event.raw, record);

    let unknown_type = json!({"CreationTime": "2025-03-01T10:00:00Z", "RecordType": 9999, "Operation": "NewThing", "Workload": "PowerBI", "UserId": "megan.ross@contoso.com", "UserType": 2, "ResultStatus": "PartiallySucceeded"});
    let event = normalize(unknown_type, &ctx("t")).expect("normalizes");
    assert_eq!(event.category.as_deref(), Some("9999"));
    assert_eq!(event.service, "PowerBI");
    assert_eq!(event.result, EventResult::Partial);
    assert_eq!(event.actor.kind, ActorKind::User);
    assert_eq!(event.summary, "megan.ross@contoso.com NewThing");

    let teams = json!({"CreationTime": "2025-03-01T10:00:00+01:00", "RecordType": "MicrosoftTeams", "Operation": "TeamDeleted", "Workload": "MicrosoftTeams", "UserId": "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)", "UserType": 0, "ResultStatus": "Failed", "ObjectId": "Finance team"});
    let event = normalize(teams, &ctx("t")).expect("normalizes");
    assert_eq!(event.timestamp, time("2025-03-01T09:00:00Z"));
    assert_eq!(event.service, "Teams");
    assert_eq!(event.category.as_deref(), Some("MicrosoftTeams"));
    assert_eq!(event.actor.kind, ActorKind::System);
    assert_eq!(event.result, EventResult::Failure);
    assert_eq!(
        event.summary,
        "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost) TeamDeleted Finance team (failed)"
    );

    let no_workload = json!({"CreationTime": "2025-03-01T10:00:00", "RecordType": 6, "Operation": "FileAccessed", "UserType": 4});
    let event = normalize(no_workload, &ctx("t")).expect("normalizes");
    assert_eq!(event.service, "SharePoint");
    assert_eq!(event.actor.kind, ActorKind::System);
    assert_eq!(event.summary, "unknown actor opened an object");
    let bare = json!({"CreationTime": "2025-03-01T10:00:00", "Operation": "Whatever"});
    assert_eq!(
        normalize(bare, &ctx("t")).expect("normalizes").service,
        "Unknown"
    );

    // Graph records with nulls everywhere.
    let graph = json!({
        "id": null, "activityDateTime": "2025-03-01T10:00:00Z", "activityDisplayName": null,
        "initiatedBy": {"user": null, "app": {"appId": "app-1", "displayName": "MS-PIM", "servicePrincipalId": "sp-1"}},
        "targetResources": [null, {"type": "Group", "displayName": "Admins", "modifiedProperties": [{"displayName": "X", "oldValue": "\"a\"", "newValue": "\"b\""}, {"displayName": "X", "newValue": "[1]"}]}],
        "result": "timeout", "resultReason": "took too long"
    });
    let event = normalize(graph, &ctx("t")).expect("normalizes");
    assert!(
        event
            .dedupe_key
            .as_str()
            .starts_with("graph.directory_audits:h:")
    );
    assert_eq!(event.operation, "Unknown");
    assert_eq!(event.result, EventResult::Failure);
    assert_eq!(event.result_reason.as_deref(), Some("took too long"));
    assert_eq!(event.actor.kind, ActorKind::App);
    assert_eq!(event.actor.id.as_deref(), Some("sp-1"));
    assert_eq!(event.actor.display_name.as_deref(), Some("MS-PIM"));
    assert_eq!(
        event.changes.get("X"),
        Some(&Change {
            old: Some("a".into()),
            new: Some("b".into())
        })
    );
    assert_eq!(
        event.changes.get("X #2"),
        Some(&Change {
            old: None,
            new: Some("[1]".into())
        })
    );
    assert_eq!(event.summary, "MS-PIM Unknown Admins (failed)");

    let sign_in = json!({"createdDateTime": "2025-03-01T10:00:00Z", "status": {"errorCode": "50126", "failureReason": ""}, "servicePrincipalId": "sp-9", "servicePrincipalName": "Robot"});
    let event = normalize(sign_in, &ctx("t")).expect("normalizes");
    assert_eq!(event.result, EventResult::Failure);
    assert_eq!(event.operation, "UserLoginFailed");
    assert_eq!(event.result_reason.as_deref(), Some("error 50126"));
    assert_eq!(event.actor.kind, ActorKind::ServicePrincipal);
    assert_eq!(event.summary, "Robot failed to sign in: error 50126");

    let unknown = json!({"@timestamp": "2025-03-01T10:00:00Z", "operation": "Thing", "ipAddress": "203.0.113.1:99", "userPrincipalName": "x@contoso.com", "tenantId": "t-9"});
    assert_eq!(detect_kind(&unknown), RecordKind::Unknown);
    let event = normalize(unknown, &ctx("t")).expect("normalizes");
    assert_eq!(event.operation, "Thing");
    assert_eq!(event.service, "Unknown");
    assert_eq!(event.client_ip, Some(ip("203.0.113.1")));
    assert_eq!(event.actor.upn.as_deref(), Some("x@contoso.com"));
    assert_eq!(event.tenant_id.as_str(), "t-9");
    assert!(event.dedupe_key.as_str().starts_with("unknown:h:"));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// Field names the normalizers read, so generated records walk the real code paths.
    const KEYS: &[&str] = &[
        "id",
        "Id",
        "ID",
        "activityDateTime",
        "activityDisplayName",
        "category",
        "result",
        "resultReason",
        "initiatedBy",
        "user",
        "app",
        "userPrincipalName",
        "displayName",
        "ipAddress",
        "appId",
        "servicePrincipalId",
        "servicePrincipalName",
        "targetResources",
        "type",
        "Type",
        "modifiedProperties",
        "oldValue",
        "newValue",
        "additionalDetails",
        "key",
        "value",
        "createdDateTime",
        "status",
        "errorCode",
        "failureReason",
        "userId",
        "userDisplayName",
        "location",
        "city",
        "state",
        "countryOrRegion",
        "deviceDetail",
        "operatingSystem",
        "riskEventTypes_v2",
        "resourceId",
        "resourceDisplayName",
        "appDisplayName",
        "homeTenantId",
        "resourceTenantId",
        "tenantId",
        "actor",
        "resources",
        "auditResourceType",
        "activityType",
        "activityResult",
        "activityOperationType",
        "componentName",
        "CreationTime",
        "RecordType",
        "Operation",
        "Workload",
        "OrganizationId",
        "UserType",
        "UserId",
        "UserKey",
        "ClientIP",
        "ClientIPAddress",
        "ActorIpAddress",
        "ResultStatus",
        "LogonError",
        "ErrorNumber",
        "ObjectId",
        "Parameters",
        "Name",
        "Value",
        "ExtendedProperties",
        "OperationProperties",
        "ModifiedProperties",
        "OldValue",
        "NewValue",
        "Actor",
        "Target",
        "MailboxGuid",
        "MailboxOwnerUPN",
        "SiteUrl",
        "SourceFileName",
        "ItemType",
        "TargetUserOrGroupName",
        "TargetUserOrGroupType",
        "UserAgent",
        "OperationCount",
        "TokenObjectId",
        "ForwardTo",
        "ForwardingSmtpAddress",
        "@odata.type",
        "timestamp",
        "@timestamp",
    ];

    const STRINGS: &[&str] = &[
        "",
        " ",
        "2025-03-01T10:15:42.1837465Z",
        "2025-03-01T10:15:42",
        "3/1/2025 10:58:33 AM",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00",
        "0",
        "50126",
        "-1",
        "99999999999999999999",
        "1e400",
        "UserLoggedIn",
        "UserLoginFailed",
        "Add member to role.",
        "New-InboxRule",
        "Set-Mailbox",
        "FileDownloaded",
        "SharingSet",
        "True",
        "False",
        "Success",
        "Failed",
        "PartiallySucceeded",
        "203.0.113.5:52344",
        "[2001:db8::1]:443",
        "::ffff:1.2.3.4",
        "<null>",
        "\"Global Administrator\"",
        "\"unterminated",
        "[\"a\"]",
        "{\"User-Agent\":\"x\"}",
        "smtp:a@b",
        "smtp:",
        "User",
        "Role",
        "AzureActiveDirectory",
        "MicrosoftTeams",
        "ExchangeAdmin",
        "#microsoft.graph.auditEvent",
        "NT AUTHORITY\\SYSTEM",
        "app@sharepoint",
        "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
        "é",
        "💥👩‍💻",
        "Role.DisplayName",
        "Action",
        "Create",
        "a-",
        "-",
        "ärger-ß",
        "\u{0}",
        "\u{feff}",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (0i64..20).prop_map(Value::from),
            select(STRINGS).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![4 => select(KEYS).prop_map(str::to_string), 1 => "\\PC{0,6}"]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// Objects, often with a readable time under one of the kind's time fields.
    fn record() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec((key(), value()), 0..12),
            select(
                &[
                    "activityDateTime",
                    "createdDateTime",
                    "CreationTime",
                    "timestamp",
                    "none",
                ][..],
            ),
            select(
                &[
                    "2025-03-01T10:15:42.1837465Z",
                    "2025-03-01T10:15:42",
                    "3/1/2025 1:00:00 PM",
                ][..],
            ),
        )
            .prop_map(|(pairs, time_key, time)| {
                let mut map: serde_json::Map<String, Value> = pairs.into_iter().collect();
                if time_key != "none" {
                    map.insert(time_key.to_string(), Value::from(time));
                }
                Value::Object(map)
            })
    }

    const KINDS: [RecordKind; 5] = [
        RecordKind::DirectoryAudit,
        RecordKind::SignIn,
        RecordKind::IntuneAudit,
        RecordKind::UnifiedAudit,
        RecordKind::Unknown,
    ];

    fn check(result: Result<Event, NormalizeError>, raw: &Value, kind: RecordKind) {
        match result {
            Ok(event) => {
                assert_eq!(&event.raw, raw);
                assert_eq!(event.seq, None);
                assert!(event.dedupe_key.as_str().starts_with(kind.family()));
                assert_eq!(
                    event.id,
                    EventId::derive(&event.tenant_id, &event.dedupe_key)
                );
                assert_eq!(event.timestamp.timestamp_subsec_nanos() % 1000, 0);
                assert!(!event.summary.is_empty());
            }
            Err(error) => assert!(matches!(
                error,
                NormalizeError::NotAnObject | NormalizeError::MissingTimestamp
            )),
        }
    }

    /// Every fixture record, as mutation seeds.
    fn fixture_records() -> Vec<Value> {
        [DIR1, DIR2, DOWNLOAD, SIGNINS, INTUNE, AAD, EXO, SPO]
            .iter()
            .flat_map(|file| records(file))
            .collect()
    }

    /// Walks `value` and, following `plan`, replaces nodes by arbitrary values, nulls them, swaps
    /// numbers and text, adds members, or keeps them and goes deeper.
    fn mutate(value: &Value, plan: &[(u8, Value)], step: &mut usize) -> Value {
        let Some((choice, replacement)) = plan.get(*step % plan.len().max(1)) else {
            return value.clone();
        };
        *step += 1;
        match choice % 24 {
            0 => replacement.clone(),
            1 => Value::Null,
            2 => match value {
                Value::String(s) => s
                    .parse::<f64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(s.len())),
                Value::Number(n) => Value::String(n.to_string()),
                Value::Bool(b) => Value::String(if *b { "True".into() } else { "False".into() }),
                other => Value::String(other.to_string()),
            },
            3 => Value::String(value.to_string()),
            _ => match value {
                Value::Object(map) => {
                    let mut out: serde_json::Map<String, Value> = map
                        .iter()
                        .map(|(k, v)| (k.clone(), mutate(v, plan, step)))
                        .collect();
                    if choice % 5 == 0 {
                        let key = KEYS[usize::from(*choice) % KEYS.len()];
                        out.insert(key.to_string(), replacement.clone());
                    }
                    Value::Object(out)
                }
                Value::Array(items) => {
                    Value::Array(items.iter().map(|v| mutate(v, plan, step)).collect())
                }
                other => other.clone(),
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mutated_fixture_records(
            seed in select(fixture_records()),
            plan in prop::collection::vec((any::<u8>(), value()), 1..48),
        ) {
            let raw = mutate(&seed, &plan, &mut 0);
            let detected = detect_kind(&raw);
            check(normalize(raw.clone(), &ctx("p")), &raw, detected);
            for kind in KINDS {
                check(normalize_as(kind, raw.clone(), &ctx("p")), &raw, kind);
            }
            let row = PurviewRow { record_id: Some("r".into()), audit_data: raw, ..PurviewRow::default() };
            let _ = normalize_purview_row(row, &ctx("import"));
        }

        #[test]
        fn any_value_any_kind(raw in prop_oneof![1 => value(), 3 => record()]) {
            let detected = detect_kind(&raw);
            check(normalize(raw.clone(), &ctx("p")), &raw, detected);
            for kind in KINDS {
                check(normalize_as(kind, raw.clone(), &ctx("p")), &raw, kind);
                let key = dedupe_key(kind, &raw);
                prop_assert!(key.as_str().starts_with(kind.family()));
            }
        }

        #[test]
        fn any_purview_row(
            audit in prop_oneof![value(), record(), any::<String>().prop_map(Value::String)],
            columns in prop::collection::vec(prop::option::of(prop_oneof![select(STRINGS).prop_map(str::to_string), any::<String>()]), 5),
        ) {
            let row = PurviewRow {
                record_id: columns[0].clone(),
                creation_date: columns[1].clone(),
                record_type: columns[2].clone(),
                operation: columns[3].clone(),
                user_id: columns[4].clone(),
                audit_data: audit,
            };
            if let Ok(event) = normalize_purview_row(row, &ctx("import")) {
                prop_assert!(event.dedupe_key.as_str().starts_with("o365:"));
                prop_assert!(event.raw.is_object());
            }
        }
    }
}

/// Exchange mailbox records name two addresses: `ClientIPAddress`, the client, and `ClientIP`,
/// often a Microsoft front end. The client is the event's address; the front end stays a detail.
#[test]
fn an_exchange_mailbox_record_takes_the_client_address() {
    let record = json!({
        "Id": "c1a9b7e2-0000-4000-8000-00000000ca11",
        "CreationTime": "2025-03-01T11:02:10",
        "RecordType": 50,
        "Operation": "MailItemsAccessed",
        "Workload": "Exchange",
        "UserId": "lee.gomez@contoso.com",
        "ClientIP": "[2603:10b6:806:1a2::14]:41234",
        "ClientIPAddress": "203.0.113.9",
        "ResultStatus": "Succeeded"
    });
    let event = normalize(record, &ctx("o365.Audit.Exchange")).expect("normalizes");
    assert_eq!(event.client_ip, "203.0.113.9".parse().ok());
    assert_eq!(
        event.details.get("ClientIP").map(String::as_str),
        Some("[2603:10b6:806:1a2::14]:41234")
    );
    // Without ClientIPAddress (an admin cmdlet), ClientIP is the client, as before.
    let cmdlet = json!({
        "Id": "c1a9b7e2-0000-4000-8000-00000000ca12",
        "CreationTime": "2025-03-01T11:02:10",
        "RecordType": 1,
        "Operation": "Set-Mailbox",
        "Workload": "Exchange",
        "ClientIP": "198.51.100.77:51734"
    });
    let event = normalize(cmdlet, &ctx("o365.Audit.Exchange")).expect("normalizes");
    assert_eq!(event.client_ip, "198.51.100.77".parse().ok());
    assert!(!event.details.contains_key("ClientIP"));
}
