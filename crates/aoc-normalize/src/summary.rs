//! One readable sentence per event: a few templates for the operations admins look at most, and
//! `{actor} {operation} {first target}` for the rest.

use aoc_model::{Event, EventResult, Target};

use crate::RecordKind;
use crate::fields::clip;

/// Longest piece of record text quoted in a summary, in characters.
const MAX_PART: usize = 120;

pub(crate) fn summarize(kind: RecordKind, event: &Event) -> String {
    let actor = event
        .actor
        .label()
        .map_or_else(|| "unknown actor".to_string(), part);
    let operation = event
        .operation
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let failed = event.result == EventResult::Failure;

    let is_sign_in = kind == RecordKind::SignIn
        || kind == RecordKind::UnifiedAudit
            && matches!(operation.as_str(), "userloggedin" | "userloginfailed");
    if is_sign_in {
        return sign_in(event, &actor, kind);
    }
    if kind == RecordKind::IntuneAudit
        && let Some(sentence) = intune(event, &actor, failed)
    {
        return sentence;
    }
    let sentence = by_operation(event, &actor, &operation).unwrap_or_else(|| {
        let mut s = format!("{actor} {}", part(&event.operation));
        if let Some(target) = event.targets.iter().find_map(target_label) {
            s.push(' ');
            s.push_str(&target);
        }
        s
    });
    if failed {
        format!("{sentence} (failed)")
    } else {
        sentence
    }
}

fn part(text: &str) -> String {
    clip(text.trim(), MAX_PART)
}

fn target_label(target: &Target) -> Option<String> {
    target.name.as_deref().or(target.id.as_deref()).map(part)
}

fn detail(event: &Event, name: &str) -> Option<String> {
    event
        .details
        .get(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| part(v))
}

fn first_target(event: &Event) -> String {
    event
        .targets
        .iter()
        .find_map(target_label)
        .unwrap_or_else(|| "an object".to_string())
}

fn sign_in(event: &Event, actor: &str, kind: RecordKind) -> String {
    let app = if kind == RecordKind::SignIn {
        detail(event, "appDisplayName").or_else(|| event.targets.iter().find_map(target_label))
    } else {
        event.targets.iter().find_map(target_label)
    };
    let mut s = if event.result == EventResult::Failure {
        format!("{actor} failed to sign in")
    } else {
        format!("{actor} signed in")
    };
    if let Some(app) = app {
        s.push_str(&format!(" to {app}"));
    }
    if let Some(ip) = event.client_ip {
        s.push_str(&format!(" from {ip}"));
    }
    if event.result == EventResult::Failure
        && let Some(reason) = &event.result_reason
    {
        s.push_str(&format!(": {}", part(reason)));
    }
    s
}

/// Intune: `activityOperationType` gives the verb, `activityType` the object type.
fn intune(event: &Event, actor: &str, failed: bool) -> Option<String> {
    let op_type = detail(event, "activityOperationType")?.to_ascii_lowercase();
    let mut words = event.operation.split_whitespace();
    let first = words.next().map(part).unwrap_or_default();
    let object_type = words.collect::<Vec<_>>().join(" ");
    let (done, todo) = match op_type.as_str() {
        "create" => ("created".to_string(), "create".to_string()),
        "patch" | "update" => ("updated".to_string(), "update".to_string()),
        "delete" => ("deleted".to_string(), "delete".to_string()),
        "assign" => ("assigned".to_string(), "assign".to_string()),
        "action" => (format!("ran {first} on"), format!("run {first} on")),
        _ => return None,
    };
    let mut s = if failed {
        format!("{actor} failed to {todo}")
    } else {
        format!("{actor} {done}")
    };
    if !object_type.is_empty() {
        s.push(' ');
        s.push_str(&part(&object_type));
    }
    if let Some(target) = event
        .targets
        .iter()
        .find_map(|t| t.name.as_deref().map(part))
    {
        s.push_str(&format!(" \"{target}\""));
    }
    Some(s)
}

fn by_operation(event: &Event, actor: &str, operation: &str) -> Option<String> {
    let target = || first_target(event);
    let file = || detail(event, "SourceFileName").unwrap_or_else(target);
    let sentence = match operation {
        "add member to role" | "add eligible member to role" | "add scoped member to role" => {
            role_change(event, actor, "added", "to")
        }
        "remove member from role" | "remove eligible member from role" => {
            role_change(event, actor, "removed", "from")
        }
        "new-inboxrule" | "set-inboxrule" => {
            let verb = if operation.starts_with("new") {
                "created"
            } else {
                "changed"
            };
            let mut s = match detail(event, "Name") {
                Some(name) => format!("{actor} {verb} inbox rule \"{name}\""),
                None => format!("{actor} {verb} an inbox rule"),
            };
            if let Some(to) =
                detail(event, "ForwardTo").or_else(|| detail(event, "ForwardAsAttachmentTo"))
            {
                s.push_str(&format!(" forwarding to {to}"));
            } else if let Some(to) = detail(event, "RedirectTo") {
                s.push_str(&format!(" redirecting to {to}"));
            }
            s
        }
        "set-mailbox"
            if event.details.contains_key("ForwardingSmtpAddress")
                || event.details.contains_key("ForwardingAddress") =>
        {
            let to = detail(event, "ForwardingSmtpAddress")
                .or_else(|| detail(event, "ForwardingAddress"));
            match to {
                Some(to) => {
                    let to = strip_smtp(&to);
                    format!("{actor} set forwarding on {} to {to}", target())
                }
                None => format!("{actor} removed forwarding from {}", target()),
            }
        }
        "mailitemsaccessed" => {
            let owner = detail(event, "MailboxOwnerUPN").unwrap_or_else(target);
            match detail(event, "OperationCount") {
                Some(n) => format!("{actor} accessed {n} mail item(s) in mailbox {owner}"),
                None => format!("{actor} accessed mail items in mailbox {owner}"),
            }
        }
        "filedownloaded" => format!("{actor} downloaded {}", file()),
        "fileuploaded" => format!("{actor} uploaded {}", file()),
        "fileaccessed" => format!("{actor} opened {}", file()),
        "filepreviewed" => format!("{actor} previewed {}", file()),
        "filemodified" => format!("{actor} modified {}", file()),
        "filecopied" => format!("{actor} copied {}", file()),
        "filemoved" => format!("{actor} moved {}", file()),
        "filerenamed" => format!("{actor} renamed {}", file()),
        "filesyncdownloadedfull" => format!("{actor} synced {}", file()),
        "filedeleted" | "filedeletedfirststagerecyclebin" | "filedeletedsecondstagerecyclebin" => {
            format!("{actor} deleted {}", file())
        }
        "sharingset" => match detail(event, "TargetUserOrGroupName") {
            Some(with) => format!("{actor} shared {} with {with}", file()),
            None => format!("{actor} changed sharing of {}", file()),
        },
        "sharinginvitationcreated" => match detail(event, "TargetUserOrGroupName") {
            Some(with) => format!("{actor} invited {with} to {}", file()),
            None => format!("{actor} created a sharing invitation to {}", file()),
        },
        "anonymouslinkcreated" => format!("{actor} created an anyone link to {}", file()),
        "companylinkcreated" => format!("{actor} created a company-wide link to {}", file()),
        "add user" => format!("{actor} created user {}", target()),
        "delete user" => format!("{actor} deleted user {}", target()),
        "reset user password" => format!("{actor} reset the password of {}", target()),
        "consent to application" => format!("{actor} consented to application {}", target()),
        "add conditional access policy" => {
            format!("{actor} added conditional access policy {}", target())
        }
        "update conditional access policy" => {
            format!("{actor} updated conditional access policy {}", target())
        }
        "delete conditional access policy" => {
            format!("{actor} deleted conditional access policy {}", target())
        }
        _ => return None,
    };
    Some(sentence)
}

/// `admin.kim@contoso.com added lee.gomez@contoso.com to Global Administrator`.
fn role_change(event: &Event, actor: &str, verb: &str, preposition: &str) -> String {
    let is_role = |t: &&Target| {
        t.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("Role"))
    };
    let role = event
        .changes
        .get("Role.DisplayName")
        .and_then(|c| c.new.as_deref().or(c.old.as_deref()))
        .map(part)
        .or_else(|| event.targets.iter().find(is_role).and_then(target_label))
        .unwrap_or_else(|| "a role".to_string());
    let member = event
        .targets
        .iter()
        .filter(|t| !is_role(t))
        .find_map(target_label)
        .unwrap_or_else(|| "a member".to_string());
    format!("{actor} {verb} {member} {preposition} {role}")
}

fn strip_smtp(address: &str) -> &str {
    match address.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("smtp") => rest,
        _ => address,
    }
}
