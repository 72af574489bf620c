use chrono::{DateTime, Utc};

use super::*;

fn now() -> DateTime<Utc> {
    "2026-12-02T10:30:00Z".parse().expect("time")
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn term(t: Term) -> QueryExpr {
    QueryExpr::Term(t)
}

fn words(s: &str) -> QueryExpr {
    term(Term::Text(SearchText::parse(s).expect("words")))
}

fn parsed(input: &str) -> QueryExpr {
    parse(input, now()).unwrap_or_else(|e| panic!("{input}: {e}"))
}

fn error(input: &str) -> (usize, String) {
    match parse(input, now()) {
        Ok(expr) => panic!("{input} parsed as {expr:?}"),
        Err(e) => (e.at, e.message),
    }
}

#[test]
fn fields_words_and_phrases() {
    assert_eq!(
        parsed(r#"actor:ravi operation:"Set-Mailbox" forwarding"#),
        QueryExpr::All(vec![
            term(Term::Actor("ravi".into())),
            term(Term::Operation("\"Set-Mailbox\"".into())),
            words("forwarding"),
        ])
    );
    assert_eq!(
        parsed(r#"USER:"Ravi Moss""#),
        term(Term::Actor("\"Ravi Moss\"".into()))
    );
    assert_eq!(
        parsed(r#""add member to role""#),
        term(Term::Text(
            SearchText::phrase("add member to role").expect("phrase")
        ))
    );
    // Not fields: an IPv6 address, a clock time and a URL are words.
    assert_eq!(parsed("2603:10b6"), words("2603:10b6"));
    assert_eq!(
        parsed("https://contoso.sharepoint.com/sites/hr"),
        words("https://contoso.sharepoint.com/sites/hr")
    );
    assert_eq!(parsed("mailto:kim"), words("mailto:kim"));
    // A pattern in quotes may hold spaces: part of a name with a space in it.
    assert_eq!(
        parsed(r#"operation:"*add member*""#),
        term(Term::Operation("*add member*".into()))
    );
    assert_eq!(parsed("country:uk"), term(Term::Country("GB".into())));
    assert_eq!(parsed("country:gb"), term(Term::Country("gb".into())));
    assert_eq!(parsed("country:France"), term(Term::Country("FR".into())));
    assert_eq!(
        parsed("result:failed"),
        term(Term::Result(EventResult::Failure))
    );
    assert_eq!(
        parsed("ip:203.0.113.0/24"),
        term(Term::IpRange(
            IpRange::parse("203.0.113.0/24").expect("cidr")
        ))
    );
}

#[test]
fn and_binds_tighter_than_or_and_not_turns_around() {
    assert_eq!(
        parsed("a OR b AND c"),
        QueryExpr::Any(vec![
            words("a"),
            QueryExpr::All(vec![words("b"), words("c")])
        ])
    );
    assert_eq!(
        parsed("(a OR b) NOT c -(d) -\"e f\" -service:x"),
        QueryExpr::All(vec![
            QueryExpr::Any(vec![words("a"), words("b")]),
            QueryExpr::Not(Box::new(words("c"))),
            QueryExpr::Not(Box::new(words("d"))),
            QueryExpr::Not(Box::new(term(Term::Text(
                SearchText::phrase("e f").expect("phrase")
            )))),
            QueryExpr::Not(Box::new(term(Term::Service("x".into())))),
        ])
    );
    // Before a plain word, `-` is part of the text: a pasted cmdlet line searches its words.
    assert_eq!(
        parsed("Set-Mailbox -DeliverToMailboxAndForward"),
        QueryExpr::All(vec![
            words("Set-Mailbox"),
            words("DeliverToMailboxAndForward")
        ])
    );
    // Lower-case operators are words; a hyphen inside a word is part of it.
    assert_eq!(
        parsed("not or Set-Mailbox"),
        QueryExpr::All(vec![words("not"), words("or"), words("Set-Mailbox")])
    );
}

#[test]
fn times_read_as_admins_write_them() {
    let day = |from: &str, to: &str| {
        term(Term::Time {
            from: Some(at(from)),
            to: Some(at(to)),
        })
    };
    assert_eq!(
        parsed("time:2026-11-30"),
        day("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z")
    );
    assert_eq!(
        parsed("time:yesterday"),
        day("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")
    );
    assert_eq!(
        parsed("time:2026-11-01..2026-11-03"),
        day("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")
    );
    assert_eq!(
        parsed("last:24h"),
        term(Term::Time {
            from: Some(at("2026-12-01T10:30:00Z")),
            to: None
        })
    );
    assert_eq!(
        parsed("time<=2026-12-01"),
        term(Term::Time {
            from: None,
            to: Some(at("2026-12-02T00:00:00Z"))
        })
    );
    assert_eq!(
        parsed("before:2026-12-01T09:30"),
        term(Term::Time {
            from: None,
            to: Some(at("2026-12-01T09:30:00Z"))
        })
    );
    assert_eq!(
        parsed("after:now-2h"),
        term(Term::Time {
            from: Some(at("2026-12-02T08:30:00Z")),
            to: None
        })
    );
}

#[test]
fn errors_point_at_the_character() {
    assert_eq!(error("actor:ravi (a OR b").0, 12);
    assert_eq!(error("a )").0, 3);
    assert_eq!(error("a OR").0, 3);
    assert_eq!(error("OR a").0, 1);
    assert_eq!(error("a AND").0, 3);
    assert_eq!(error("NOT").0, 1);
    assert_eq!(error("()").0, 1);
    assert_eq!(error(r#"x "open"#).0, 3);
    let (at, message) = error("operaton:Set-Mailbox");
    assert_eq!(at, 1);
    assert!(message.contains("operation (op, activity)"), "{message}");
    assert!(message.contains("Did you mean operation:?"), "{message}");
    assert!(error("servce:x").1.contains("Did you mean service:?"));
    // A name nowhere near a field's is a word with a colon in it, searched for.
    assert_eq!(parsed("zzz:x"), words("zzz:x"));
    let (at, message) = error("actor: x");
    assert_eq!(at, 7);
    assert!(message.contains("missing after actor:"), "{message}");
    assert_eq!(error("result:maybe").0, 8);
    assert_eq!(error("x ip:10.0.0").0, 6);
    assert_eq!(error("time:2026-12-01T09:30Z").0, 6);
    assert_eq!(error("time:2026-12-03..2026-12-01").0, 6);
    assert_eq!(error("operation:*").0, 11);
    assert_eq!(error("a @@").0, 3);
    assert_eq!(error("country:Frnace").0, 9);
    assert_eq!(error("last:1M").0, 6);
    assert_eq!(error("time:now").0, 6);
    for far in [
        "after:+262142-12-31",
        "before:+262142-12-31",
        "time:+262142-12-31",
        "time:2026-12-01..+262142-12-31",
    ] {
        assert!(error(far).1.contains("year"), "{far}");
    }
    assert_eq!(error("").0, 1);
    assert_eq!(error("   ").0, 1);
}

#[test]
fn hostile_queries_are_bounded() {
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(error(&deep).1.contains("deep"));
    assert!(error(&"NOT ".repeat(100)).1.contains("deep"));
    assert!(error(&"a ".repeat(MAX_TERMS + 1)).1.contains("terms"));
    assert!(error(&"a".repeat(5_000)).1.contains("longer"));
    // Any input at all parses or is an error; none panics.
    for input in [
        "\"", "-", "--a", "-(", "a:\"", "time>", "time:..", "ip:", ":a", "é:x", "(((", ")))",
    ] {
        let _ = parse(input, now());
    }
}

#[test]
fn conjuncts_move_into_free_fields_and_the_rest_stays_an_expression() {
    let mut query = EventQuery {
        actor: Some("kim".into()),
        ..EventQuery::default()
    };
    parsed("actor:ravi service:exchange -result:success (a OR b) after:2026-12-01 before:2026-12-02 x y")
        .apply_to(&mut query);
    assert_eq!(query.actor.as_deref(), Some("kim"));
    assert_eq!(query.service.as_deref(), Some("exchange"));
    assert_eq!(query.exclude.result, Some(EventResult::Success));
    assert_eq!(query.from, Some(at("2026-12-01T00:00:00Z")));
    assert_eq!(query.to, Some(at("2026-12-02T00:00:00Z")));
    assert_eq!(query.text, SearchText::parse("x y").ok());
    assert_eq!(
        query.expr,
        Some(QueryExpr::All(vec![
            term(Term::Actor("ravi".into())),
            QueryExpr::Any(vec![words("a"), words("b")]),
        ]))
    );
}

#[test]
fn a_programs_text_is_read_as_words_only() {
    let written = as_words("NOT (user:\"Ravi\") OR -payroll.xlsx");
    assert_eq!(written, "not user ravi or payroll.xlsx");
    assert_eq!(
        parse(&written, now()).expect("words"),
        QueryExpr::All(
            ["not", "user", "ravi", "or", "payroll.xlsx"]
                .into_iter()
                .map(words)
                .collect()
        )
    );
}
