//! The questions the parser must answer with AI off, and what it must make of them.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;

/// Friday 27 November 2026, 15:30 UTC.
fn now() -> DateTime<Utc> {
    "2026-11-27T15:30:00Z".parse().expect("time")
}

struct Case {
    question: &'static str,
    filters: &'static [(&'static str, &'static str)],
    aggregation: Aggregation,
    after_hours: bool,
}

const fn case(
    question: &'static str,
    filters: &'static [(&'static str, &'static str)],
    aggregation: Aggregation,
) -> Case {
    Case {
        question,
        filters,
        aggregation,
        after_hours: false,
    }
}

use Aggregation::{Count, List, Timeline, TopActors, TopIps, TopOperations};

const CASES: &[Case] = &[
    case(
        "How many failed sign-ins in the last 24 hours?",
        &[("hours", "24"), ("operation", "UserLoginFailed")],
        Count,
    ),
    case(
        "Which IPs had failed logins yesterday?",
        &[
            ("from", "2026-11-26T00:00:00Z"),
            ("to", "2026-11-27T00:00:00Z"),
            ("operation", "UserLoginFailed"),
        ],
        TopIps,
    ),
    case(
        "Who changed admin roles this week?",
        &[
            ("from", "2026-11-23T00:00:00Z"),
            ("q", "role"),
            ("service", "Entra ID"),
        ],
        TopActors,
    ),
    case(
        "Show role changes in the past 7 days",
        &[("hours", "168"), ("q", "role"), ("service", "Entra ID")],
        List,
    ),
    case(
        "Who deleted files in SharePoint today?",
        &[
            ("from", "2026-11-27T00:00:00Z"),
            ("operation", "FileDeleted*"),
            ("service", "SharePoint"),
        ],
        TopActors,
    ),
    case(
        "How many files were deleted from OneDrive last week?",
        &[
            ("hours", "168"),
            ("operation", "FileDeleted*"),
            ("service", "OneDrive"),
        ],
        Count,
    ),
    case(
        "Were any forwarding rules created in the last 30 days?",
        &[
            ("hours", "720"),
            ("q", "inboxrule"),
            ("service", "Exchange"),
        ],
        List,
    ),
    case(
        "Who created inbox rules this month?",
        &[
            ("from", "2026-11-01T00:00:00Z"),
            ("q", "inboxrule"),
            ("service", "Exchange"),
        ],
        TopActors,
    ),
    case(
        "What did alice.smith@contoso.com do yesterday?",
        &[
            ("actor", "alice.smith@contoso.com"),
            ("from", "2026-11-26T00:00:00Z"),
            ("to", "2026-11-27T00:00:00Z"),
        ],
        List,
    ),
    case(
        "What did bob do in the last 3 days?",
        &[("actor", "bob"), ("hours", "72")],
        List,
    ),
    case(
        "Everything from 203.0.113.7 in the past hour",
        &[("hours", "1"), ("ip", "203.0.113.7")],
        List,
    ),
    case(
        "How many sign-ins came from 10.0.0.0/8 since 2026-11-20?",
        &[
            ("from", "2026-11-20T00:00:00Z"),
            ("ip", "10.0.0.0/8"),
            ("operation", "UserLog*"),
        ],
        Count,
    ),
    case(
        "Show failed sign-ins over time for the last 7 days",
        &[("hours", "168"), ("operation", "UserLoginFailed")],
        Timeline,
    ),
    case(
        "Which users downloaded the most files in the last 24h?",
        &[("hours", "24"), ("operation", "FileDownloaded")],
        TopActors,
    ),
    case(
        "Who granted consent to an app in the last 2 weeks?",
        &[("hours", "336"), ("q", "consent")],
        TopActors,
    ),
    case(
        "Password resets by admin.kim@contoso.com on 2026-11-25",
        &[
            ("actor", "admin.kim@contoso.com"),
            ("from", "2026-11-25T00:00:00Z"),
            ("q", "password"),
            ("to", "2026-11-26T00:00:00Z"),
        ],
        List,
    ),
    case(
        "Were anonymous links created in SharePoint between 2026-11-01 and 2026-11-07?",
        &[
            ("from", "2026-11-01T00:00:00Z"),
            ("operation", "AnonymousLinkCreated"),
            ("service", "SharePoint"),
            ("to", "2026-11-08T00:00:00Z"),
        ],
        List,
    ),
    case(
        "What happened in Teams today?",
        &[("from", "2026-11-27T00:00:00Z"), ("service", "Teams")],
        TopOperations,
    ),
    case(
        "How many Intune device changes failed this week?",
        &[
            ("from", "2026-11-23T00:00:00Z"),
            ("result", "failure"),
            ("service", "Intune"),
        ],
        Count,
    ),
    case(
        "List Exchange errors in the past day",
        &[
            ("hours", "24"),
            ("result", "failure"),
            ("service", "Exchange"),
        ],
        List,
    ),
    case(
        "Show activity by user carol in the last week",
        &[("actor", "carol"), ("hours", "168")],
        List,
    ),
    case(
        r#"Find "payroll.xlsx" downloads in the last 48 hours"#,
        &[
            ("hours", "48"),
            ("operation", "FileDownloaded"),
            ("q", "payroll.xlsx"),
        ],
        List,
    ),
    case(
        "Trend of sign-ins per day this month",
        &[("from", "2026-11-01T00:00:00Z"), ("operation", "UserLog*")],
        Timeline,
    ),
    case("What are the most common operations?", &[], TopOperations),
    Case {
        question: "Who signed in after hours in the last 7 days?",
        filters: &[("hours", "168"), ("operation", "UserLog*")],
        aggregation: TopActors,
        after_hours: true,
    },
    Case {
        question: "Any mailbox forwarding set up over the weekend?",
        filters: &[("q", "inboxrule"), ("service", "Exchange")],
        aggregation: List,
        after_hours: true,
    },
];

#[test]
fn the_common_questions_become_the_expected_queries() {
    assert!(CASES.len() >= 20);
    let mut wrong = Vec::new();
    for case in CASES {
        let intent = parse_question(case.question, now());
        let expected: BTreeMap<String, String> = case
            .filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if intent.filters != expected
            || intent.aggregation != case.aggregation
            || intent.after_hours != case.after_hours
        {
            wrong.push(format!(
                "{:?}\n  expected {:?} {:?} after_hours={}\n  got      {:?} {:?} after_hours={}",
                case.question,
                expected,
                case.aggregation,
                case.after_hours,
                intent.filters,
                intent.aggregation,
                intent.after_hours
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

#[test]
fn what_it_does_not_recognise_it_leaves_out() {
    let intent = parse_question("tell me something interesting", now());
    assert!(intent.filters.is_empty());
    assert!(
        intent.off_topic,
        "nothing to search for and nothing about events"
    );
    assert_eq!(intent.ignored, ["something", "interesting"]);
    // An address that is not one, a prefix too long, a range too large: left out.
    let intent = parse_question("from 999.1.1.1 or 10.0.0.0/33 in the last 9000 days", now());
    assert!(intent.filters.is_empty(), "{:?}", intent.filters);
}

proptest! {
    /// Any text at all gives an intent, and only parameters the events API knows.
    #[test]
    fn any_question_parses_to_known_parameters(question in "\\PC{0,200}") {
        let intent = parse_question(&question, now());
        for name in intent.filters.keys() {
            prop_assert!(
                ["from", "to", "hours", "service", "operation", "actor", "ip", "country", "result", "q"]
                    .contains(&name.as_str()),
                "{name}"
            );
        }
    }
}

#[test]
fn people_by_partial_upn_or_by_name() {
    let intent = parse_question("What did ravi.moss do yesterday?", now());
    assert_eq!(intent.filter("actor"), Some("ravi.moss"));
    assert_eq!(intent.filter("from"), Some("2026-11-26T00:00:00Z"));
    let intent = parse_question("What did Ravi Moss do in the last 24 hours?", now());
    assert_eq!(intent.filter("actor"), Some("ravi moss"));
    assert_eq!(intent.filter("hours"), Some("24"));
    assert!(intent.ignored.is_empty(), "{:?}", intent.ignored);
    let intent = parse_question("Show changes by Dana Park this week", now());
    assert_eq!(intent.filter("actor"), Some("dana park"));
}

#[test]
fn countries_by_name() {
    let intent = parse_question("How many sign-ins from the United Kingdom today?", now());
    assert_eq!(intent.filter("country"), Some("GB"));
    assert!(intent.ignored.is_empty(), "{:?}", intent.ignored);
    let intent = parse_question("failed logins in France", now());
    assert_eq!(intent.filter("country"), Some("FR"));
}

#[test]
fn mfa_denials_are_their_own_topic() {
    let intent = parse_question("Which users had MFA denied?", now());
    assert_eq!(intent.filter("operation"), Some("UserLoginFailed"));
    assert_eq!(intent.filter("q"), Some("500121"));
    assert_eq!(intent.filter("result"), None);
    assert_eq!(intent.aggregation, TopActors);
}

#[test]
fn off_topic_questions_and_ignored_words() {
    let intent = parse_question("what is the weather", now());
    assert!(intent.off_topic);
    assert!(intent.filters.is_empty());
    let intent = parse_question("What happened?", now());
    assert!(!intent.off_topic, "a question about events, with no filter");
    let intent = parse_question("How many failed sign-ins on the moon?", now());
    assert!(!intent.off_topic);
    assert_eq!(intent.ignored, ["moon"]);
}

#[test]
fn days_are_the_askers() {
    // 15:30 UTC on the 27th is 05:30 on the 27th ten hours west, 05:30 on the 28th fourteen east.
    let intent = parse_question_in("What happened yesterday?", now(), -600);
    assert_eq!(intent.filter("from"), Some("2026-11-26T10:00:00Z"));
    assert_eq!(intent.filter("to"), Some("2026-11-27T10:00:00Z"));
    let intent = parse_question_in("What happened yesterday?", now(), 840);
    assert_eq!(intent.filter("from"), Some("2026-11-26T10:00:00Z"));
    let intent = parse_question_in("What happened today?", now(), 60);
    assert_eq!(intent.filter("from"), Some("2026-11-26T23:00:00Z"));
}

#[test]
fn what_was_understood_is_listed() {
    let intent = parse_question("How many failed sign-ins from Romania yesterday?", now());
    let read = intent.understood();
    assert!(read.contains(&"country: RO".to_owned()), "{read:?}");
    assert!(read.contains(&"show: how many".to_owned()), "{read:?}");
    assert!(read.iter().any(|r| r.starts_with("operation:")), "{read:?}");
}
