//! Behaviour of AOC's own audit trail ([`crate::AuditTrailStore`]): appends, queries and paging,
//! exact round trips, retention, and first sightings of users.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use aoc_model::Author;

use super::data::base_time;
use crate::{AuditCursor, AuditEntry, AuditOutcome, AuditQuery, NewAuditEntry, Store, clean_text};

const ACTORS: [&str; 3] = [
    "7c5e8f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
    "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a",
    "local",
];

const ACTIONS: [&str; 12] = [
    "events.search",
    "events.view",
    "events.export",
    "fetch.trigger",
    "tag.add",
    "tag.remove",
    "comment.add",
    "comment.edit",
    "comment.delete",
    "user.first_request",
    // Near misses of the `comment.` prefix.
    "comments.add",
    "comment",
];

fn at(minutes: i64) -> DateTime<Utc> {
    base_time() + Duration::minutes(minutes)
}

/// The `i`-th entry of a varied trail. Times are not in append order, so ordering by `seq` and
/// by `at` differ.
fn entry(i: usize) -> NewAuditEntry {
    let outcome = match i % 5 {
        3 => AuditOutcome::Denied,
        4 => AuditOutcome::Failed,
        _ => AuditOutcome::Success,
    };
    let actor = ACTORS[i % ACTORS.len()];
    NewAuditEntry {
        at: at((i as i64 * 37) % 240) + Duration::microseconds(i as i64),
        actor: Author::new(actor, (actor != "local").then(|| format!("User {i}"))),
        actor_tenant: (actor != "local").then(|| "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58".into()),
        client_ip: Some(format!("198.51.100.{}", i % 20)),
        request_id: format!("req-{i:04}"),
        action: ACTIONS[i % ACTIONS.len()].to_owned(),
        target: i
            .is_multiple_of(2)
            .then(|| format!("00000000-0000-4000-8000-{i:012}")),
        details: json!({ "page_size": 50, "filters": { "operation": "Add member to role.", "i": i } }),
        outcome,
        status: match outcome {
            AuditOutcome::Success => 200,
            AuditOutcome::Denied => 403,
            AuditOutcome::Failed => 500,
        },
    }
}

/// What a correct engine stores for `new` at `seq`.
fn stored(new: &NewAuditEntry, seq: i64) -> AuditEntry {
    let clean = |text: &str| clean_text(text).into_owned();
    AuditEntry {
        seq,
        at: new.at,
        actor: Author {
            id: clean(&new.actor.id),
            name: new.actor.name.as_deref().map(clean),
        },
        actor_tenant: new.actor_tenant.as_deref().map(clean),
        client_ip: new.client_ip.as_deref().map(clean),
        request_id: clean(&new.request_id),
        action: clean(&new.action),
        target: new.target.as_deref().map(clean),
        details: new.details.clone(),
        outcome: new.outcome,
        status: new.status,
    }
}

/// Appends `entries` one by one; returns them as stored.
async fn append(store: &dyn Store, entries: &[NewAuditEntry]) -> Vec<AuditEntry> {
    let mut out = Vec::with_capacity(entries.len());
    for new in entries {
        let seq = store.append_audit(new).await.expect("append");
        out.push(stored(new, seq));
    }
    out
}

/// Every page of `query`, following `next_cursor`, with a guard against endless paging.
async fn collect_pages(store: &dyn Store, query: &AuditQuery) -> Vec<AuditEntry> {
    let mut query = query.clone();
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let page = store.query_audit(&query).await.expect("query");
        assert!(page.items.len() <= query.page_size() as usize);
        all.extend(page.items);
        match page.next_cursor {
            Some(token) => query.cursor = Some(AuditCursor::decode(&token).expect("own cursor")),
            None => return all,
        }
    }
    panic!("paging did not end");
}

/// What a correct engine returns for `query`: the reference filter, newest first.
fn expected(entries: &[AuditEntry], query: &AuditQuery) -> Vec<AuditEntry> {
    let mut matching: Vec<AuditEntry> = entries
        .iter()
        .filter(|e| query.matches(e))
        .cloned()
        .collect();
    matching.sort_by_key(|e| std::cmp::Reverse(e.seq));
    matching
}

fn seqs(entries: &[AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

pub async fn audit_append_assigns_increasing_seq(store: &dyn Store) {
    let entries: Vec<NewAuditEntry> = (0..20).map(entry).collect();
    let stored = append(store, &entries).await;
    assert!(
        stored.windows(2).all(|w| w[0].seq < w[1].seq),
        "increasing: {:?}",
        seqs(&stored)
    );
    let got = collect_pages(store, &AuditQuery::default()).await;
    let mut want = stored.clone();
    want.reverse();
    assert_eq!(got, want, "every entry, as appended, newest first");

    // Appends at once get distinct numbers, all above the earlier ones.
    let more: Vec<NewAuditEntry> = (20..28).map(entry).collect();
    let append_one = |i: usize| store.append_audit(&more[i]);
    let racing = tokio::join!(
        append_one(0),
        append_one(1),
        append_one(2),
        append_one(3),
        append_one(4),
        append_one(5),
        append_one(6),
        append_one(7)
    );
    let racing: Vec<i64> = [
        racing.0, racing.1, racing.2, racing.3, racing.4, racing.5, racing.6, racing.7,
    ]
    .into_iter()
    .map(|r| r.expect("append"))
    .collect();
    let distinct: HashSet<i64> = racing.iter().copied().collect();
    assert_eq!(distinct.len(), 8);
    let last = stored.last().map(|e| e.seq).unwrap_or_default();
    assert!(racing.iter().all(|&seq| seq > last));
    assert_eq!(collect_pages(store, &AuditQuery::default()).await.len(), 28);
}

fn audit_cases() -> Vec<(&'static str, AuditQuery)> {
    let q = AuditQuery::default;
    vec![
        ("everything", q()),
        (
            "from",
            AuditQuery {
                from: Some(at(100)),
                ..q()
            },
        ),
        (
            "to",
            AuditQuery {
                to: Some(at(100)),
                ..q()
            },
        ),
        (
            "range",
            AuditQuery {
                from: Some(at(37)),
                to: Some(at(111) + Duration::microseconds(3)),
                ..q()
            },
        ),
        (
            "actor",
            AuditQuery {
                actor: Some(ACTORS[1].into()),
                ..q()
            },
        ),
        (
            "local actor",
            AuditQuery {
                actor: Some("local".into()),
                ..q()
            },
        ),
        (
            "actor by part of a name, another case",
            AuditQuery {
                actor: Some("USER 1".into()),
                ..q()
            },
        ),
        (
            "unknown actor",
            AuditQuery {
                actor: Some("nobody".into()),
                ..q()
            },
        ),
        (
            "action exact",
            AuditQuery {
                action: Some("comment.add".into()),
                ..q()
            },
        ),
        (
            "action exact without period",
            AuditQuery {
                action: Some("comment".into()),
                ..q()
            },
        ),
        (
            "action prefix comment.",
            AuditQuery {
                action: Some("comment.".into()),
                ..q()
            },
        ),
        (
            "action prefix events.",
            AuditQuery {
                action: Some("events.".into()),
                ..q()
            },
        ),
        (
            "action pattern characters are literal",
            AuditQuery {
                action: Some("%.".into()),
                ..q()
            },
        ),
        (
            "outcome denied",
            AuditQuery {
                outcome: Some(AuditOutcome::Denied),
                ..q()
            },
        ),
        (
            "outcome success",
            AuditQuery {
                outcome: Some(AuditOutcome::Success),
                ..q()
            },
        ),
        (
            "combined",
            AuditQuery {
                from: Some(at(20)),
                actor: Some(ACTORS[0].into()),
                action: Some("comment.".into()),
                outcome: Some(AuditOutcome::Success),
                ..q()
            },
        ),
    ]
}

pub async fn audit_queries_match_the_reference(store: &dyn Store) {
    let entries: Vec<NewAuditEntry> = (0..150).map(entry).collect();
    let stored = append(store, &entries).await;
    let mut nonempty = 0;
    for (name, query) in audit_cases() {
        for page_size in [7, 500] {
            let query = query.clone().with_page_size(page_size).expect("page size");
            let got = collect_pages(store, &query).await;
            let want = expected(&stored, &query);
            if !want.is_empty() {
                nonempty += 1;
            }
            assert_eq!(
                seqs(&got),
                seqs(&want),
                "case {name}, page size {page_size}"
            );
            assert_eq!(got, want, "case {name}: whole entries");
        }
    }
    assert!(nonempty >= 2 * 11, "the cases should find something");
    let prefix = AuditQuery {
        action: Some("comment.".into()),
        ..AuditQuery::default()
    };
    let found = collect_pages(store, &prefix).await;
    assert!(
        found
            .iter()
            .all(|e| ["comment.add", "comment.edit", "comment.delete"].contains(&e.action.as_str()))
    );
    // i % 12 in 6..=8 for i below 150.
    assert_eq!(found.len(), 36);
}

pub async fn audit_paging_returns_every_entry_once(store: &dyn Store) {
    let entries: Vec<NewAuditEntry> = (0..203).map(entry).collect();
    let stored = append(store, &entries).await;
    let mut want = seqs(&stored);
    want.reverse();
    for page_size in [1, 7, 50, 500] {
        let query = AuditQuery::default()
            .with_page_size(page_size)
            .expect("page size");
        let got = seqs(&collect_pages(store, &query).await);
        assert_eq!(got, want, "page size {page_size}");
    }
    // New entries arriving while someone pages are not repeated, nor mixed into older pages.
    let query = AuditQuery::default().with_page_size(10).expect("size");
    let first = store.query_audit(&query).await.expect("query");
    append(store, &(203..230).map(entry).collect::<Vec<_>>()).await;
    let cursor = AuditCursor::decode(first.next_cursor.as_deref().expect("more")).expect("cursor");
    let rest = collect_pages(
        store,
        &AuditQuery {
            cursor: Some(cursor),
            ..query
        },
    )
    .await;
    let mut got = seqs(&first.items);
    got.extend(seqs(&rest));
    assert_eq!(got, want);
    // The last page says so.
    let all = AuditQuery::default().with_page_size(500).expect("size");
    assert_eq!(
        store.query_audit(&all).await.expect("query").next_cursor,
        None
    );
}

pub async fn audit_entries_round_trip_exactly(store: &dyn Store) {
    let details = serde_json::from_str::<serde_json::Value>(
        r#"{"zeta":1,"alpha":[3,2,1],"nul":"a\u0000b","quote":"'; DROP TABLE audit_trail; --",
            "pct":"%_\\","float":1.5,"big":9007199254740993,"neg":-0.25,"emoji":"🎉",
            "nested":{"b":null,"a":true},"empty":{}}"#,
    )
    .expect("json");
    let hostile = NewAuditEntry {
        at: at(3) + Duration::microseconds(654_321),
        actor: Author::new("o'brien\u{0}", Some("Ünïcödé 🎉 \"x\" \\ %_".into())),
        actor_tenant: Some("tenant'\u{0}".into()),
        client_ip: Some("2001:db8::1".into()),
        request_id: "req'\"\\%_\u{0}".into(),
        action: "comment.edit".into(),
        target: Some("'; DROP TABLE audit_trail; --".into()),
        details: details.clone(),
        outcome: AuditOutcome::Denied,
        status: 403,
    };
    let plain = NewAuditEntry {
        actor: Author::local(),
        actor_tenant: None,
        client_ip: None,
        target: None,
        details: serde_json::Value::Null,
        status: u16::MAX,
        outcome: AuditOutcome::Failed,
        ..entry(1)
    };
    let long = NewAuditEntry {
        details: json!({ "q": "x".repeat(20_000), "list": (0..500).collect::<Vec<_>>() }),
        ..entry(2)
    };
    let stored_entries = append(store, &[hostile.clone(), plain, long]).await;
    let got = collect_pages(store, &AuditQuery::default()).await;
    let mut want = stored_entries.clone();
    want.reverse();
    assert_eq!(got, want);
    let hostile_back = &got[2];
    // Text columns hold U+FFFD for NUL; the details JSON keeps everything, key order included.
    assert_eq!(hostile_back.actor.id, "o'brien\u{FFFD}");
    assert_eq!(hostile_back.request_id, "req'\"\\%_\u{FFFD}");
    assert_eq!(
        serde_json::to_string(&hostile_back.details).expect("json"),
        serde_json::to_string(&details).expect("json")
    );
    assert_eq!(hostile_back.details["nul"], "a\u{0}b");
    // Filter values are cleaned the same way, so a NUL in a filter finds what it stored.
    let query = AuditQuery {
        actor: Some("o'brien\u{0}".into()),
        ..AuditQuery::default()
    };
    assert_eq!(
        seqs(&collect_pages(store, &query).await),
        [hostile_back.seq]
    );
}

pub async fn audit_retention_deletes_only_old_entries(store: &dyn Store) {
    let entries: Vec<NewAuditEntry> = (0..60).map(entry).collect();
    let stored = append(store, &entries).await;
    let cutoff = at(120);
    let old = stored.iter().filter(|e| e.at < cutoff).count() as u64;
    assert!(old > 0 && old < 60);
    assert_eq!(
        store.delete_audit_before(cutoff).await.expect("retention"),
        old
    );
    let left = collect_pages(store, &AuditQuery::default()).await;
    assert_eq!(
        left,
        expected(
            &stored,
            &AuditQuery {
                from: Some(cutoff),
                ..AuditQuery::default()
            }
        )
    );
    assert_eq!(store.delete_audit_before(cutoff).await.expect("again"), 0);
    // Emptied, the trail never hands out an old number again: cursors stay meaningful.
    let highest = stored.iter().map(|e| e.seq).max().unwrap_or_default();
    assert_eq!(
        store
            .delete_audit_before(at(100_000))
            .await
            .expect("everything"),
        60 - old
    );
    let next = store.append_audit(&entry(60)).await.expect("append");
    assert!(next > highest, "{next} after {highest}");
}

pub async fn first_sighting_is_reported_once(store: &dyn Store) {
    let tenant = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    let oid = ACTORS[0];
    assert!(
        store
            .note_user_seen(tenant, oid, Some("Alice"), at(1))
            .await
            .expect("first")
    );
    assert!(
        !store
            .note_user_seen(tenant, oid, Some("Alice A."), at(2))
            .await
            .expect("second")
    );
    // Earlier than the last sighting, and without a name: still not a first.
    assert!(
        !store
            .note_user_seen(tenant, oid, None, at(0))
            .await
            .expect("again")
    );
    // Per tenant and object id.
    assert!(
        store
            .note_user_seen("another-tenant", oid, None, at(3))
            .await
            .expect("other tenant")
    );
    assert!(
        store
            .note_user_seen(tenant, ACTORS[1], None, at(3))
            .await
            .expect("other user")
    );
    // Hostile text is only text; NUL becomes U+FFFD, so both spellings are the same user.
    let odd_tenant = "t'\u{0}; DROP TABLE known_users; --";
    assert!(
        store
            .note_user_seen(odd_tenant, "%_\\", Some("🎉\u{0}"), at(4))
            .await
            .expect("odd")
    );
    assert!(
        !store
            .note_user_seen(
                "t'\u{FFFD}; DROP TABLE known_users; --",
                "%_\\",
                None,
                at(5)
            )
            .await
            .expect("odd again")
    );
    assert!(
        store
            .note_user_seen(tenant, "%", None, at(5))
            .await
            .expect("a pattern character matches nothing else")
    );
}

/// Eight first requests of one user at once; how many were told they were first.
async fn sighting_race(store: &dyn Store, oid: &str) -> usize {
    let tenant = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    let see = |minute: i64| store.note_user_seen(tenant, oid, Some("Racer"), at(minute));
    let seen = tokio::join!(
        see(0),
        see(1),
        see(2),
        see(3),
        see(4),
        see(5),
        see(6),
        see(7)
    );
    [
        seen.0, seen.1, seen.2, seen.3, seen.4, seen.5, seen.6, seen.7,
    ]
    .into_iter()
    .map(|r| r.expect("note_user_seen"))
    .filter(|&first| first)
    .count()
}

pub async fn first_sighting_race_has_one_winner(store: &dyn Store) {
    assert_eq!(sighting_race(store, ACTORS[0]).await, 1);
    assert_eq!(sighting_race(store, ACTORS[0]).await, 0);
    assert_eq!(sighting_race(store, ACTORS[1]).await, 1);
}
