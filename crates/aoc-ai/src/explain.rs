//! Explaining one event: what it means, why it may matter, and what to check next.
//!
//! With a model, the model words it from the event's normalized fields and its changes (never the
//! raw record). Without one, or when the model fails, AOC's own notes on the operations admins
//! most often need explained answer, and any other operation gets a plain description of the
//! event.

use aoc_model::{Event, EventResult};
use serde::{Deserialize, Serialize};

use crate::llm::ChatRequest;
use crate::sample::event_line;

/// At most this many changed properties go into a prompt.
const MAX_CHANGES: usize = 20;
/// The longest value of a changed property shown.
const MAX_VALUE_CHARS: usize = 200;

/// An explanation, in three parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// What the event means.
    pub meaning: String,
    /// Why it may matter.
    pub why_it_matters: String,
    /// What to check next.
    pub next_steps: Vec<String>,
}

/// AOC's notes: (operation prefix, meaning, why it matters, next steps).
const NOTES: &[(&str, &str, &str, &[&str])] = &[
    (
        "UserLoginFailed",
        "A sign-in that did not succeed: a wrong password, a blocked or disabled account, a \
         Conditional Access policy, or MFA that was denied or not completed.",
        "Many failures for one account, or from unfamiliar addresses or countries, can be password \
         spraying or a brute-force attempt; a failure followed by a success from the same address \
         can mean the attacker got in.",
        &[
            "Look at the failure reason (result reason) and the error code.",
            "Search other sign-ins from the same IP address and by the same account.",
            "Check whether a successful sign-in followed, and from where.",
        ],
    ),
    (
        "UserLoggedIn",
        "A successful sign-in.",
        "Worth a look when it comes from an unusual country, address or device, outside working \
         hours, or right after failures.",
        &[
            "Compare the address and country with the user's usual sign-ins.",
            "Check what the account did next (mailbox rules, downloads, role changes).",
        ],
    ),
    (
        "New-InboxRule",
        "A mailbox rule was created: it can move, delete, forward or redirect mail automatically.",
        "Rules that forward mail outside the organisation, or delete or hide messages, are a common \
         way to keep access and hide activity after an account is taken over.",
        &[
            "Read the rule's parameters: forwarding or redirect addresses, deletion, folders.",
            "Check who created it and from which address, and whether the user knows of it.",
            "Look for other new or changed rules and forwarding settings on the same mailbox.",
        ],
    ),
    (
        "Set-InboxRule",
        "A mailbox rule was changed.",
        "A changed rule can start forwarding or deleting mail without the user noticing.",
        &[
            "Compare the rule's new parameters with what the user expects.",
            "Check who changed it and from where.",
        ],
    ),
    (
        "Set-Mailbox",
        "Mailbox settings were changed, for example forwarding, delegation or auditing.",
        "Setting ForwardingSmtpAddress or ForwardingAddress sends a copy of all mail elsewhere; \
         turning auditing off hides later activity.",
        &[
            "Look at which parameters were set (forwarding, audit settings).",
            "Check who made the change and whether it was requested.",
        ],
    ),
    (
        "Add member to role",
        "An account was added to a directory role (for example Global Administrator).",
        "Privileged roles give control over the tenant; an unexpected assignment is one of the \
         strongest signs of compromise or misuse.",
        &[
            "Confirm the assignment was requested and approved.",
            "Check the actor's recent sign-ins and whether it normally manages roles.",
            "Review what the new member did since.",
        ],
    ),
    (
        "Remove member from role",
        "An account was removed from a directory role.",
        "Usually routine; worth a look when an administrator is removed unexpectedly, which can \
         lock out defenders.",
        &["Confirm the change was intended."],
    ),
    (
        "Consent to application",
        "Someone granted an application permissions to data in the tenant.",
        "Consent phishing tricks users or admins into giving a malicious app lasting access to mail \
         and files, without needing a password.",
        &[
            "Review which permissions were granted and whether it was admin consent.",
            "Check the application's publisher and whether it is known.",
            "Revoke the grant if the app is not expected.",
        ],
    ),
    (
        "FileDeleted",
        "A file was deleted.",
        "Many deletions by one account in a short time can be ransomware, sabotage or an account \
         being misused.",
        &[
            "Count deletions by the same account around this time.",
            "Check whether the files can be restored from the recycle bin.",
        ],
    ),
    (
        "FileDownloaded",
        "A file was downloaded.",
        "Many downloads in a short time, or from an unusual address, can be data being taken out.",
        &[
            "Count downloads by the same account and address around this time.",
            "Check how sensitive the files are.",
        ],
    ),
    (
        "AnonymousLinkCreated",
        "An anyone-with-the-link sharing link was created.",
        "Such links give access without signing in; they can expose sensitive files outside the \
         organisation.",
        &[
            "Check which file or folder was shared and how sensitive it is.",
            "Remove the link if it is not needed.",
        ],
    ),
    (
        "Reset user password",
        "A user's password was reset.",
        "A reset by an unexpected admin, or followed by sign-ins from new places, can be an \
         account takeover.",
        &[
            "Check who reset it and whether the user asked for it.",
            "Look at the account's sign-ins after the reset.",
        ],
    ),
];

/// AOC's explanation of `event` without a model.
pub fn explain_without_model(event: &Event) -> Explanation {
    if let Some((_, meaning, why, steps)) = NOTES
        .iter()
        .find(|(prefix, ..)| event.operation.starts_with(prefix))
    {
        return Explanation {
            meaning: (*meaning).to_owned(),
            why_it_matters: (*why).to_owned(),
            next_steps: steps.iter().map(|s| (*s).to_owned()).collect(),
        };
    }
    let outcome = match event.result {
        EventResult::Failure => "It failed",
        EventResult::Partial => "It partly succeeded",
        EventResult::Success => "It succeeded",
        EventResult::Unknown => "The record does not say whether it succeeded",
    };
    Explanation {
        meaning: format!(
            "{} in {}: {}. {outcome}.",
            event.operation,
            event.service,
            if event.summary.is_empty() {
                "no summary"
            } else {
                event.summary.as_str()
            }
        ),
        why_it_matters: "AOC has no notes on this operation; judge it by who did it, on what, \
                         and whether it was expected."
            .to_owned(),
        next_steps: vec![
            "Check whether the actor normally does this.".to_owned(),
            "Look at the actor's other events around this time.".to_owned(),
        ],
    }
}

/// The request for a model's explanation: the event's normalized fields and changes only.
pub fn explain_request(event: &Event) -> ChatRequest {
    let mut facts = event_line(event);
    if let Some(reason) = &event.result_reason {
        facts.push_str(&format!("\nresult reason: {reason}"));
    }
    let cut = |v: &Option<String>| -> String {
        v.as_deref()
            .unwrap_or("-")
            .chars()
            .take(MAX_VALUE_CHARS)
            .collect()
    };
    for (name, change) in event.changes.iter().take(MAX_CHANGES) {
        facts.push_str(&format!(
            "\nchanged {name}: {} -> {}",
            cut(&change.old),
            cut(&change.new)
        ));
    }
    ChatRequest {
        system: "You are AOC, helping a Microsoft 365 administrator understand one audit event. \
                 Reply with a JSON object: meaning (what the event means, one or two sentences), \
                 why_it_matters (why it may matter for security or operations), next_steps (an \
                 array of short, concrete checks). Use only the facts given."
            .to_owned(),
        user: facts,
        json_schema: Some((
            "aoc_explanation".to_owned(),
            serde_json::json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["meaning", "why_it_matters", "next_steps"],
                "properties": {
                    "meaning": { "type": "string" },
                    "why_it_matters": { "type": "string" },
                    "next_steps": { "type": "array", "items": { "type": "string" } },
                },
            }),
        )),
        max_tokens: 500,
    }
}

/// A model's explanation, if it is one: the three parts, non-empty, at most 10 steps.
pub fn explanation_from_reply(reply: &str) -> Option<Explanation> {
    let body = crate::llm::json_text(reply);
    let explanation: Explanation = serde_json::from_str(body).ok()?;
    let usable = !explanation.meaning.trim().is_empty()
        && !explanation.why_it_matters.trim().is_empty()
        && explanation.next_steps.len() <= 10;
    usable.then_some(explanation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(operation: &str) -> Event {
        let raw = serde_json::json!({
            "Id": "rec-1", "CreationTime": "2026-11-27T10:00:00", "Operation": operation,
            "Workload": "Exchange", "RecordType": 1, "UserId": "a@contoso.com",
            "OrganizationId": "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
            "Parameters": [{ "Name": "ForwardTo", "Value": "x@evil.example" }],
            "SessionSecret": "hunter2",
        });
        aoc_normalize::normalize(raw, &aoc_normalize::Context::new("import")).expect("normalize")
    }

    #[test]
    fn known_operations_get_aoc_s_notes_and_others_a_description() {
        let rule = explain_without_model(&event("New-InboxRule"));
        assert!(rule.why_it_matters.contains("forward"));
        assert_eq!(rule.next_steps.len(), 3);
        let other = explain_without_model(&event("Get-Mailbox"));
        assert!(other.meaning.starts_with("Get-Mailbox in Exchange"));
        assert!(!other.next_steps.is_empty());
    }

    #[test]
    fn the_request_has_the_normalized_event_and_not_its_raw_record() {
        let e = event("New-InboxRule");
        let request = explain_request(&e);
        assert!(request.user.contains(&e.id.to_string()));
        assert!(request.user.contains("operation=New-InboxRule"));
        assert!(!request.user.contains("hunter2"));
    }

    #[test]
    fn only_a_whole_explanation_is_taken_from_a_model() {
        let good = r#"{"meaning": "m", "why_it_matters": "w", "next_steps": ["a", "b"]}"#;
        assert_eq!(
            explanation_from_reply(good).expect("good").next_steps.len(),
            2
        );
        assert!(explanation_from_reply(&format!("```json\n{good}\n```")).is_some());
        for bad in [
            "It is fine.",
            r#"{"meaning": "", "why_it_matters": "w", "next_steps": []}"#,
            r#"{"meaning": "m", "next_steps": []}"#,
        ] {
            assert!(explanation_from_reply(bad).is_none(), "{bad}");
        }
    }
}
