//! Exchange Online (unified log, `Audit.Exchange`): admin and user cmdlets (forwarding, inbox
//! rules, mailbox permissions) and mailbox activity (mail read, sent, moved, deleted).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ContentType, FILE_WORDS, Generator};
use crate::profile::User;

impl<'a> Generator<'a> {
    fn exchange_common(&mut self, m: &mut serde_json::Map<String, Value>, user: &User) {
        let server = format!(
            "AM9PR07MB{:04} (15.20.8466.017)",
            self.rng.range(1000, 9999)
        );
        m.insert("OrganizationName".into(), json!(self.profile.domain));
        m.insert("OriginatingServer".into(), json!(server));
        m.insert("TokenObjectId".into(), json!(user.id));
        m.insert("TokenTenantId".into(), json!(self.profile.tid));
    }

    /// One Exchange cmdlet: mailbox forwarding, an inbox rule or a mailbox permission.
    pub(super) fn exchange_admin(&mut self) {
        match self.rng.weighted(&[30, 40, 20, 10]) {
            0 => self.set_mailbox_forwarding(),
            1 => self.benign_inbox_rule(),
            2 => self.mailbox_permission(),
            _ => self.forwarding_rule(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn cmdlet(
        &mut self,
        actor: &User,
        time: DateTime<Utc>,
        cmdlet: &str,
        object_id: String,
        resolved: Option<String>,
        ip: &str,
        parameters: Value,
    ) {
        let (id, mut m) = self.ual_base(1, "Exchange", cmdlet, time);
        let session = self.guid();
        m.insert("UserType".into(), json!(if actor.admin { 2 } else { 0 }));
        m.insert("ResultStatus".into(), json!("True"));
        m.insert("UserKey".into(), json!(actor.puid));
        m.insert("UserId".into(), json!(actor.upn));
        m.insert("ClientIP".into(), json!(ip));
        m.insert("ObjectId".into(), json!(object_id));
        if let Some(name) = resolved {
            m.insert("ModifiedObjectResolvedName".into(), json!(name));
        }
        m.insert("AppId".into(), json!(""));
        m.insert("ClientAppId".into(), json!(""));
        m.insert("ExternalAccess".into(), json!(false));
        self.exchange_common(&mut m, actor);
        m.insert("SessionId".into(), json!(session));
        m.insert("Parameters".into(), parameters);
        self.emit_ual(ContentType::Exchange, time, id, m);
    }

    /// New-InboxRule forwarding mail outside the organisation (a classic compromise sign).
    pub(super) fn forwarding_rule(&mut self) {
        let user = self.regular_user();
        let time = self.at();
        let external = format!(
            "{}-{}@{}",
            self.rng
                .pick(&["ledger", "archive", "backup", "invoices", "mailbox"]),
            self.rng.range(10, 99),
            self.profile.external_domain()
        );
        let ip = if self.rng.chance(0.6) {
            self.hostile_ip()
        } else {
            user.ip.clone()
        };
        let object = format!(
            "EURPR07A003.prod.outlook.com/Microsoft Exchange Hosted Organizations/{}/{}\\{}",
            self.profile.domain,
            user.display,
            self.rng.pick(&[".", "..", "Clean up", "RSS"])
        );
        let params = json!([
            { "Name": "AlwaysDeleteOutlookRulesBlob", "Value": "False" },
            { "Name": "Force", "Value": "False" },
            { "Name": "SubjectOrBodyContainsWords", "Value": "invoice;payment;wire" },
            { "Name": "ForwardTo", "Value": external },
            { "Name": "MoveToFolder", "Value": "RSS Subscriptions" },
            { "Name": "Name", "Value": "." },
            { "Name": "MarkAsRead", "Value": "True" },
            { "Name": "StopProcessingRules", "Value": "True" }
        ]);
        self.cmdlet(user, time, "New-InboxRule", object, None, &ip, params);
    }

    fn set_mailbox_forwarding(&mut self) {
        let actor = if self.rng.chance(0.5) {
            self.admin()
        } else {
            self.regular_user()
        };
        let target = self.user();
        let time = self.at();
        let external = format!(
            "{}.{}.backup@{}",
            target.first.to_ascii_lowercase(),
            target
                .last
                .to_ascii_lowercase()
                .chars()
                .next()
                .unwrap_or('x'),
            self.profile.external_domain()
        );
        let params = json!([
            { "Name": "Identity", "Value": target.upn },
            { "Name": "ForwardingSmtpAddress", "Value": format!("smtp:{external}") },
            { "Name": "DeliverToMailboxAndForward", "Value": if self.rng.chance(0.5) { "True" } else { "False" } }
        ]);
        let object = format!("{}/Users/{}", self.profile.domain, target.display);
        let ip = actor.ip.clone();
        self.cmdlet(
            actor,
            time,
            "Set-Mailbox",
            object,
            Some(target.display.clone()),
            &ip,
            params,
        );
    }

    fn benign_inbox_rule(&mut self) {
        let user = self.user();
        let time = self.at();
        let colleague = self.user();
        let cmdlet = if self.rng.chance(0.7) {
            "New-InboxRule"
        } else {
            "Set-InboxRule"
        };
        let object = format!(
            "EURPR07A003.prod.outlook.com/Microsoft Exchange Hosted Organizations/{}/{}\\Newsletters",
            self.profile.domain, user.display
        );
        let params = json!([
            { "Name": "From", "Value": colleague.upn },
            { "Name": "MoveToFolder", "Value": "Team" },
            { "Name": "Name", "Value": "Newsletters" },
            { "Name": "StopProcessingRules", "Value": "False" }
        ]);
        let ip = user.ip.clone();
        self.cmdlet(user, time, cmdlet, object, None, &ip, params);
    }

    fn mailbox_permission(&mut self) {
        let admin = self.admin();
        let mailbox = self.user();
        let trustee = self.user();
        let time = self.at();
        let params = json!([
            { "Name": "Identity", "Value": mailbox.upn },
            { "Name": "User", "Value": trustee.upn },
            { "Name": "AccessRights", "Value": "FullAccess" },
            { "Name": "InheritanceType", "Value": "All" }
        ]);
        let object = format!("{}/Users/{}", self.profile.domain, mailbox.display);
        let ip = admin.ip.clone();
        self.cmdlet(
            admin,
            time,
            "Add-MailboxPermission",
            object,
            Some(mailbox.display.clone()),
            &ip,
            params,
        );
    }

    /// One mailbox operation: mail read, sent, moved to Deleted Items or soft-deleted.
    pub(super) fn mailbox_activity(&mut self) {
        let user = self.user();
        let time = self.at();
        let ip = user.ip.clone();
        match self.rng.weighted(&[50, 25, 15, 10]) {
            0 => self.mail_items_accessed(user, time, &ip, "Client=OWA;Action=ViaProxy"),
            1 => self.mail_item(user, time, &ip, "Send", 2),
            2 => self.mail_item(user, time, &ip, "MoveToDeletedItems", 3),
            _ => self.mail_item(user, time, &ip, "SoftDelete", 3),
        }
    }

    fn mailbox_fields(
        &mut self,
        m: &mut serde_json::Map<String, Value>,
        user: &User,
        ip: &str,
        client: &str,
    ) {
        let session = self.guid();
        m.insert("UserType".into(), json!(0));
        m.insert("ResultStatus".into(), json!("Succeeded"));
        m.insert("UserKey".into(), json!(user.puid));
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(ip));
        m.insert(
            "AppId".into(),
            json!("00000002-0000-0ff1-ce00-000000000000"),
        );
        m.insert("ClientAppId".into(), json!(""));
        m.insert("ClientIPAddress".into(), json!(ip));
        m.insert("ClientInfoString".into(), json!(client));
        m.insert("ExternalAccess".into(), json!(false));
        m.insert("InternalLogonType".into(), json!(0));
        m.insert("LogonType".into(), json!(0));
        m.insert("LogonUserSid".into(), json!(user.sid));
        m.insert("MailboxGuid".into(), json!(user.mailbox_guid));
        m.insert("MailboxOwnerSid".into(), json!(user.sid));
        m.insert("MailboxOwnerUPN".into(), json!(user.upn));
        self.exchange_common(m, user);
        m.insert("SessionId".into(), json!(session));
    }

    /// A `MailItemsAccessed` record: `user`'s inbox read from `ip` by `client`.
    pub(super) fn mail_items_accessed(
        &mut self,
        user: &User,
        time: DateTime<Utc>,
        ip: &str,
        client: &str,
    ) {
        let (id, mut m) = self.ual_base(50, "Exchange", "MailItemsAccessed", time);
        self.mailbox_fields(&mut m, user, ip, client);
        let sync = self.rng.chance(0.2);
        let count = self.rng.range(1, 6);
        let items: Vec<Value> = (0..count)
            .map(|_| {
                json!({
                    "Id": format!("RgAAAAD{}AAAAAAEMAAAA", self.rng.alnum_upper(24)),
                    "InternetMessageId": format!("<{}@AM9PR07MB1234.eurprd07.prod.outlook.com>", self.rng.alnum_upper(12)),
                    "SizeInBytes": self.rng.range(2_000, 900_000)
                })
            })
            .collect();
        m.insert(
            "OperationProperties".into(),
            json!([
                { "Name": "MailAccessType", "Value": if sync { "Sync" } else { "Bind" } },
                { "Name": "IsThrottled", "Value": "False" }
            ]),
        );
        m.insert("OperationCount".into(), json!(count));
        let folder_id = format!("LgAAAAD{}AAAAAAEMAAAB", self.rng.alnum_upper(24));
        m.insert(
            "Folders".into(),
            json!([{ "Id": folder_id, "Path": "\\Inbox", "FolderItems": items }]),
        );
        self.emit_ual(ContentType::Exchange, time, id, m);
    }

    fn mail_item(
        &mut self,
        user: &User,
        time: DateTime<Utc>,
        ip: &str,
        op: &str,
        record_type: i64,
    ) {
        let (id, mut m) = self.ual_base(record_type, "Exchange", op, time);
        self.mailbox_fields(&mut m, user, ip, "Client=OWA;Action=ViaProxy");
        let subject = format!(
            "{} {}",
            self.rng.pick(&["Re:", "Fwd:", "", "Update:"]),
            self.rng.pick(&FILE_WORDS)
        )
        .trim()
        .to_string();
        let item = json!({
            "Id": format!("RgAAAAD{}AAAAAAEMAAAA", self.rng.alnum_upper(24)),
            "Subject": subject,
            "ParentFolder": { "Id": format!("LgAAAAD{}AAAAAAEMAAAB", self.rng.alnum_upper(24)), "Path": if op == "Send" { "\\Sent Items" } else { "\\Inbox" } },
            "InternetMessageId": format!("<{}@AM9PR07MB1234.eurprd07.prod.outlook.com>", self.rng.alnum_upper(12)),
            "SizeInBytes": self.rng.range(2_000, 400_000)
        });
        if record_type == 2 {
            m.insert("Item".into(), item);
        } else {
            m.insert(
                "Folder".into(),
                json!({ "Id": format!("LgAAAAD{}AAAAAAEMAAAB", self.rng.alnum_upper(24)), "Path": "\\Inbox" }),
            );
            m.insert("AffectedItems".into(), json!([item]));
        }
        self.emit_ual(ContentType::Exchange, time, id, m);
    }
}
