//! Behaviour of tags and comments ([`crate::AnnotationStore`]), and how they follow their events
//! through deletion and retention.

use chrono::{DateTime, Duration, Utc};

use aoc_model::{Author, CommentBody, CommentId, Event, EventId, Tag, TenantId};

use super::data::{base_time, varied_events};
use crate::{Comment, EventRef, Store, StoreError, TagCount, TagRecord, clean_text};

fn tag(text: &str) -> Tag {
    Tag::parse(text).expect("a valid tag")
}

fn body(text: &str) -> CommentBody {
    CommentBody::parse(text).expect("a valid comment")
}

fn alice() -> Author {
    Author::new(
        "7c5e8f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
        Some("Alice Analyst".into()),
    )
}

fn bob() -> Author {
    Author::local()
}

fn at(minutes: i64) -> DateTime<Utc> {
    base_time() + Duration::minutes(minutes)
}

async fn stored_events(store: &dyn Store, n: usize) -> Vec<Event> {
    let events = varied_events(n);
    assert_eq!(events.len(), n, "fixtures normalize");
    store.insert_events(&events).await.expect("insert");
    events
}

async fn tags_of(store: &dyn Store, event: &Event) -> Vec<String> {
    store
        .event_tags(event.id)
        .await
        .expect("event tags")
        .into_iter()
        .map(|r| r.tag.to_string())
        .collect()
}

async fn counts(store: &dyn Store) -> Vec<(String, u64)> {
    store
        .tag_counts()
        .await
        .expect("tag counts")
        .into_iter()
        .map(|TagCount { tag, events }| (tag.to_string(), events))
        .collect()
}

async fn comment(store: &dyn Store, event: &Event, text: &str, minute: i64) -> Comment {
    store
        .add_comment(event.into(), &alice(), &body(text), at(minute))
        .await
        .expect("add comment")
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound { what: "event", .. })),
        "want event not found, got {result:?}"
    );
}

pub async fn tags_are_added_once_and_removed(store: &dyn Store) {
    let events = stored_events(store, 3).await;
    let (e0, e1) = (&events[0], &events[1]);
    let investigating = tag("investigating");
    assert!(
        store
            .add_tag(e0.into(), &investigating, &alice(), at(1))
            .await
            .expect("add")
    );
    // Again, by someone else, later: harmless, and the first author and time stay.
    assert!(
        !store
            .add_tag(e0.into(), &investigating, &bob(), at(2))
            .await
            .expect("add again")
    );
    assert!(
        store
            .add_tag(e0.into(), &tag("escalated"), &bob(), at(2))
            .await
            .expect("add")
    );
    // Same time as escalated: ties go by tag.
    assert!(
        store
            .add_tag(e0.into(), &tag("benign"), &bob(), at(2))
            .await
            .expect("add")
    );
    let micro = Duration::microseconds(123_457);
    assert!(
        store
            .add_tag(e1.into(), &investigating, &bob(), at(3) + micro)
            .await
            .expect("add")
    );
    assert_eq!(
        store.event_tags(e0.id).await.expect("tags"),
        vec![
            TagRecord {
                tag: investigating.clone(),
                by: alice(),
                at: at(1),
            },
            TagRecord {
                tag: tag("benign"),
                by: bob(),
                at: at(2),
            },
            TagRecord {
                tag: tag("escalated"),
                by: bob(),
                at: at(2),
            },
        ]
    );
    assert_eq!(
        store.event_tags(e1.id).await.expect("tags"),
        vec![TagRecord {
            tag: investigating.clone(),
            by: bob(),
            at: at(3) + micro,
        }],
        "to the microsecond"
    );
    assert!(tags_of(store, &events[2]).await.is_empty());

    assert!(
        store
            .remove_tag(e0.id, &investigating)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_tag(e0.id, &investigating)
            .await
            .expect("remove again")
    );
    assert!(
        !store
            .remove_tag(events[2].id, &investigating)
            .await
            .expect("remove a tag never added")
    );
    assert_eq!(tags_of(store, e0).await, ["benign", "escalated"]);
    assert_eq!(tags_of(store, e1).await, ["investigating"], "per event");
    // A removed tag can be added again, as new.
    assert!(
        store
            .add_tag(e0.into(), &investigating, &bob(), at(9))
            .await
            .expect("add after remove")
    );
    assert_eq!(
        tags_of(store, e0).await,
        ["benign", "escalated", "investigating"]
    );

    // Only stored events can be tagged, and only at their own time.
    let unknown = EventRef {
        id: EventId::derive(&TenantId::new("nobody"), &aoc_model::DedupeKey::new("x")),
        timestamp: e0.timestamp,
    };
    assert_not_found(store.add_tag(unknown, &investigating, &bob(), at(1)).await);
    let wrong_time = EventRef {
        timestamp: e0.timestamp + Duration::seconds(1),
        ..EventRef::from(e0)
    };
    assert_not_found(store.add_tag(wrong_time, &tag("new"), &bob(), at(1)).await);
    assert!(store.event_tags(unknown.id).await.expect("tags").is_empty());
    assert_eq!(
        counts(store).await,
        [
            ("investigating".to_owned(), 2),
            ("benign".to_owned(), 1),
            ("escalated".to_owned(), 1)
        ]
    );
}

pub async fn tag_counts_are_most_used_first(store: &dyn Store) {
    assert!(counts(store).await.is_empty());
    let events = stored_events(store, 6).await;
    let plan: [(&str, &[usize]); 9] = [
        ("benign", &[0, 1, 2]),
        ("escalated", &[3, 4]),
        ("confirmed", &[0, 5]),
        ("investigating", &[1]),
        // Ties by tag in code-point order, whatever the database's collation: - . : _ a
        ("x_y", &[2]),
        ("xa", &[3]),
        ("x.y", &[4]),
        ("x-y", &[5]),
        ("x:y", &[0]),
    ];
    for (name, indexes) in plan {
        for &i in indexes {
            assert!(
                store
                    .add_tag((&events[i]).into(), &tag(name), &alice(), at(0))
                    .await
                    .expect("add")
            );
        }
    }
    let want = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
    };
    assert_eq!(
        counts(store).await,
        want(&[
            ("benign", 3),
            ("confirmed", 2),
            ("escalated", 2),
            ("investigating", 1),
            ("x-y", 1),
            ("x.y", 1),
            ("x:y", 1),
            ("x_y", 1),
            ("xa", 1),
        ])
    );
    // Counts follow removals; a tag nobody carries is not in use.
    for i in [0, 1] {
        store
            .remove_tag(events[i].id, &tag("benign"))
            .await
            .expect("remove");
    }
    for name in ["investigating", "x-y", "x.y", "x:y", "x_y"] {
        for event in &events {
            store
                .remove_tag(event.id, &tag(name))
                .await
                .expect("remove");
        }
    }
    store
        .add_tag((&events[1]).into(), &tag("xa"), &bob(), at(1))
        .await
        .expect("add");
    assert_eq!(
        counts(store).await,
        want(&[("confirmed", 2), ("escalated", 2), ("xa", 2), ("benign", 1)])
    );
}

pub async fn comments_are_added_edited_and_deleted(store: &dyn Store) {
    let events = stored_events(store, 3).await;
    let (e0, e1) = (&events[0], &events[1]);
    let first = comment(store, e0, "  Sign-in from a new country.\n", 10).await;
    assert_eq!(first.event_id, e0.id);
    assert_eq!(first.author, alice());
    assert_eq!(
        first.body, "Sign-in from a new country.",
        "trimmed by CommentBody"
    );
    assert_eq!((first.created_at, first.updated_at), (at(10), None));
    assert_eq!(first.id.as_uuid().get_version_num(), 7);
    assert_eq!(
        store.get_comment(first.id).await.expect("get"),
        Some(first.clone())
    );
    let second = store
        .add_comment(e0.into(), &bob(), &body("Confirmed with the user."), at(20))
        .await
        .expect("add");
    assert_eq!(second.author, bob());
    // Written later but dated earlier: the list goes by creation time.
    let earliest = comment(store, e0, "Opened the case.", 5).await;
    let other = comment(store, e1, "Unrelated.", 1).await;
    assert_ne!(first.id, second.id);
    assert_eq!(
        store.event_comments(e0.id).await.expect("comments"),
        vec![earliest.clone(), first.clone(), second.clone()]
    );
    assert_eq!(
        store.event_comments(e1.id).await.expect("comments"),
        vec![other.clone()]
    );
    assert!(
        store
            .event_comments(events[2].id)
            .await
            .expect("comments")
            .is_empty()
    );

    let micro = Duration::microseconds(654_321);
    let edited = store
        .update_comment(
            first.id,
            &body("Sign-in from a new country: travel."),
            at(30) + micro,
        )
        .await
        .expect("update")
        .expect("the comment exists");
    assert_eq!(
        edited,
        Comment {
            body: "Sign-in from a new country: travel.".into(),
            updated_at: Some(at(30) + micro),
            ..first.clone()
        }
    );
    assert_eq!(
        store.get_comment(first.id).await.expect("get"),
        Some(edited.clone())
    );
    let unknown = CommentId::generate();
    assert_eq!(
        store
            .update_comment(unknown, &body("x"), at(31))
            .await
            .expect("update"),
        None
    );
    assert_eq!(store.get_comment(unknown).await.expect("get"), None);

    assert!(store.delete_comment(second.id).await.expect("delete"));
    assert!(!store.delete_comment(second.id).await.expect("delete again"));
    assert!(!store.delete_comment(unknown).await.expect("delete unknown"));
    assert_eq!(store.get_comment(second.id).await.expect("get"), None);
    assert_eq!(
        store
            .update_comment(second.id, &body("too late"), at(40))
            .await
            .expect("update"),
        None
    );
    assert_eq!(
        store.event_comments(e0.id).await.expect("comments"),
        vec![earliest, edited]
    );

    let missing = EventRef {
        id: EventId::from_bytes([9; 16]),
        timestamp: e0.timestamp,
    };
    assert_not_found(
        store
            .add_comment(missing, &alice(), &body("x"), at(1))
            .await,
    );
}

/// Tags and comments on `events`; returns the comments, one per event.
async fn annotate(store: &dyn Store, events: &[Event]) -> Vec<Comment> {
    let mut comments = Vec::new();
    for (i, event) in events.iter().enumerate() {
        for name in ["investigating", "benign"] {
            store
                .add_tag(event.into(), &tag(name), &alice(), at(0))
                .await
                .expect("tag");
        }
        comments.push(comment(store, event, &format!("note {i}"), 0).await);
    }
    comments
}

async fn annotations_left(store: &dyn Store, event: &Event, comment: &Comment) -> (usize, usize) {
    let tags = store.event_tags(event.id).await.expect("tags").len();
    let comments = store
        .event_comments(event.id)
        .await
        .expect("comments")
        .len();
    let by_id = store.get_comment(comment.id).await.expect("get");
    assert_eq!(by_id.is_some(), comments > 0, "comment {}", comment.id);
    (tags, comments)
}

pub async fn annotations_die_with_their_event(store: &dyn Store) {
    let events = stored_events(store, 6).await;
    let comments = annotate(store, &events[..4]).await;
    let gone = [events[1].id, events[2].id, EventId::from_bytes([9; 16])];
    assert_eq!(store.delete_events(&gone).await.expect("delete"), 2);
    for (i, (event, comment)) in events.iter().zip(&comments).enumerate() {
        let want = if i == 1 || i == 2 { (0, 0) } else { (2, 1) };
        assert_eq!(
            annotations_left(store, event, comment).await,
            want,
            "event {i}"
        );
    }
    assert_eq!(
        counts(store).await,
        [("benign".to_owned(), 2), ("investigating".to_owned(), 2)]
    );
    // Stored again (a re-import), the events come back without their old annotations.
    let report = store.insert_events(&events).await.expect("insert");
    assert_eq!(report.new, 2);
    assert!(tags_of(store, &events[1]).await.is_empty());
    assert!(
        store
            .event_comments(events[2].id)
            .await
            .expect("comments")
            .is_empty()
    );
    // And can be annotated afresh.
    assert!(
        store
            .add_tag((&events[1]).into(), &tag("benign"), &bob(), at(5))
            .await
            .expect("tag")
    );
}

pub async fn annotations_follow_retention(store: &dyn Store) {
    // January (a whole month before the cutoff: PostgreSQL drops its partition), February before
    // and after the cutoff (rows deleted one by one), and March.
    let days = [-45, -44, -12, -11, -3, 0, 1];
    let mut events = varied_events(days.len());
    for (event, day) in events.iter_mut().zip(days) {
        event.timestamp = base_time() + Duration::days(day) + Duration::minutes(7);
    }
    store.insert_events(&events).await.expect("insert");
    let comments = annotate(store, &events).await;
    let cutoff = base_time() - Duration::days(10);
    assert_eq!(
        store.delete_events_before(cutoff).await.expect("retention"),
        4
    );
    for ((event, comment), day) in events.iter().zip(&comments).zip(days) {
        let want = if day < -10 { (0, 0) } else { (2, 1) };
        assert_eq!(
            annotations_left(store, event, comment).await,
            want,
            "event on day {day}"
        );
    }
    assert_eq!(
        counts(store).await,
        [("benign".to_owned(), 3), ("investigating".to_owned(), 3)]
    );
    assert_eq!(store.delete_events_before(cutoff).await.expect("again"), 0);
    assert_eq!(counts(store).await.len(), 2);
}

pub async fn annotation_text_is_harmless(store: &dyn Store) {
    let events = stored_events(store, 2).await;
    let event = &events[0];
    let hostile_author = Author::new(
        "o'brien\u{0}; DROP TABLE event_tags; --",
        Some("Ünïcödé 🎉 %_\\ \"quoted\"\u{0}".into()),
    );
    let stored_author = Author::new(
        "o'brien\u{FFFD}; DROP TABLE event_tags; --",
        Some("Ünïcödé 🎉 %_\\ \"quoted\"\u{FFFD}".into()),
    );
    // Tags cannot hold SQL or pattern syntax, but `_`, `.`, `-` and `:` alone are tags, and
    // none of them matches another tag.
    for name in ["_", ".", "-", ":", "a"] {
        store
            .add_tag(event.into(), &tag(name), &hostile_author, at(1))
            .await
            .expect("tag");
    }
    let records = store.event_tags(event.id).await.expect("tags");
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.by == stored_author));
    assert!(store.remove_tag(event.id, &tag("_")).await.expect("remove"));
    assert_eq!(tags_of(store, event).await, ["-", ".", ":", "a"]);

    let long_ascii = "x".repeat(aoc_model::MAX_COMMENT_CHARS);
    let long_emoji = "👩‍💻".repeat(aoc_model::MAX_COMMENT_CHARS / 3);
    let texts = [
        "'",
        "''",
        "\"",
        "%",
        "_",
        "%_%",
        "\\",
        "\\'",
        "a\u{0}b",
        "\u{0}",
        "emoji 🎉 and 日本語, RTL עברית",
        "'; DROP TABLE event_comments; --",
        "line one\nline two\r\n\ttabbed",
        "$1 ?1 ? :name @p1",
        long_ascii.as_str(),
        long_emoji.as_str(),
    ];
    let mut added = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let parsed = body(text);
        let c = store
            .add_comment(event.into(), &hostile_author, &parsed, at(i as i64))
            .await
            .expect("comment");
        let want = clean_text(parsed.as_str()).into_owned();
        assert_eq!(c.body, want, "text {i}");
        assert_eq!(c.author, stored_author);
        added.push(c);
    }
    assert_eq!(
        store.event_comments(event.id).await.expect("comments"),
        added
    );
    let edited = store
        .update_comment(added[0].id, &body(&long_emoji), at(99))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(edited.body, long_emoji);
    // Nothing leaked onto the other event, and the tables are all still there.
    assert!(tags_of(store, &events[1]).await.is_empty());
    assert!(
        store
            .event_comments(events[1].id)
            .await
            .expect("comments")
            .is_empty()
    );
    assert_eq!(store.count_events().await.expect("count"), 2);
}

pub async fn events_filter_by_tag(store: &dyn Store) {
    let events = stored_events(store, 12).await;
    let escalated = tag("escalated");
    for e in events.iter().step_by(3) {
        store
            .add_tag(e.into(), &escalated, &alice(), at(1))
            .await
            .expect("add");
    }
    store
        .add_tag((&events[1]).into(), &tag("benign"), &alice(), at(1))
        .await
        .expect("add");
    let query = aoc_model::EventQuery {
        tag: Some("escalated".into()),
        ..aoc_model::EventQuery::default()
    }
    .with_page_size(2)
    .expect("size");
    let mut got = Vec::new();
    let mut query = query;
    loop {
        let page = store.query_events(&query).await.expect("query");
        got.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(aoc_model::Cursor::decode(&c).expect("cursor")),
            None => break,
        }
    }
    got.sort();
    let mut want: Vec<_> = events.iter().step_by(3).map(|e| e.id).collect();
    want.sort();
    assert_eq!(got, want);
    // Combined with another filter, and a tag nobody used.
    let none = aoc_model::EventQuery {
        tag: Some("false_positive".into()),
        ..aoc_model::EventQuery::default()
    };
    assert!(
        store
            .query_events(&none)
            .await
            .expect("query")
            .items
            .is_empty()
    );
    store
        .remove_tag(events[0].id, &escalated)
        .await
        .expect("remove");
    let after = aoc_model::EventQuery {
        tag: Some("escalated".into()),
        ..aoc_model::EventQuery::default()
    };
    assert_eq!(
        store.query_events(&after).await.expect("query").items.len(),
        want.len() - 1
    );
    // Typed: a tag inside OR and turned around (the query language), which the reference
    // cannot see (tags live beside events): the expected sets come from the tags added above.
    let escalated_now: std::collections::BTreeSet<_> =
        events.iter().step_by(3).skip(1).map(|e| e.id).collect();
    let typed = |text: &str| {
        let mut query = aoc_model::EventQuery::default();
        aoc_model::query_language::parse(text, chrono::Utc::now())
            .expect("query")
            .apply_to(&mut query);
        query.with_page_size(500).expect("size")
    };
    let ids_of = |page: aoc_model::EventPage| -> std::collections::BTreeSet<_> {
        page.items.iter().map(|e| e.id).collect()
    };
    let not_escalated = ids_of(
        store
            .query_events(&typed("NOT tag:escalated"))
            .await
            .expect("query"),
    );
    let all: std::collections::BTreeSet<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        not_escalated,
        all.difference(&escalated_now).copied().collect()
    );
    let either = ids_of(
        store
            .query_events(&typed("tag:escalated OR tag:benign"))
            .await
            .expect("query"),
    );
    let mut want_either = escalated_now.clone();
    want_either.insert(events[1].id);
    assert_eq!(either, want_either);
}
