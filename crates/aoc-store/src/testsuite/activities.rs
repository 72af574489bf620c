//! One event per activity: the same sign-in or directory change delivered by Graph and by the
//! unified audit log is stored, counted and exported once, seen via both (see
//! `aoc_model::activity`), and records that might be different activities are never merged.

use serde_json::{Value, json};

use aoc_model::{AggregateSpec, Event, EventQuery, TenantId};
use aoc_normalize::{Context, normalize};

use super::data::{TENANTS, fixture_records};
use super::engine::TestDatabase;
use crate::sql::{SqlEngine, Statement};
use crate::{EventStore, Store};

pub const GRAPH_SIGN_INS: &str = "graph.sign_ins";
pub const GRAPH_AUDITS: &str = "graph.directory_audits";
pub const UNIFIED_ENTRA: &str = "o365.Audit.AzureActiveDirectory";

fn record(wanted: impl Fn(&Value) -> bool) -> Value {
    fixture_records()
        .into_iter()
        .find(|r| wanted(r))
        .expect("the fixtures hold the record")
}

/// As a collector of the fixtures' tenant reads it.
fn event(raw: Value, source: &str) -> Event {
    normalize(
        raw,
        &Context {
            tenant: Some(TenantId::new(TENANTS[0])),
            source: source.into(),
        },
    )
    .expect("normalizes")
}

/// Lee Gomez's failed sign-in at 10:05:47 (error 50126), as Graph delivers it.
pub fn graph_sign_in() -> Event {
    let raw = record(|r| {
        r["userPrincipalName"] == "lee.gomez@contoso.com" && r["status"]["errorCode"] == 50126
    });
    event(raw, GRAPH_SIGN_INS)
}

/// The same sign-in as the unified audit log delivers it (`UserLoginFailed`).
pub fn unified_sign_in() -> Event {
    event(
        record(|r| r["Operation"] == "UserLoginFailed"),
        UNIFIED_ENTRA,
    )
}

/// Kim's `Add member to role` of Lee at 10:15:42, as Graph delivers it.
pub fn graph_role_change() -> Event {
    event(
        record(|r| r["activityDisplayName"] == "Add member to role"),
        GRAPH_AUDITS,
    )
}

/// The same change from the unified audit log (`Add member to role.`).
pub fn unified_role_change() -> Event {
    event(
        record(|r| r["Operation"] == "Add member to role."),
        UNIFIED_ENTRA,
    )
}

/// Both paths' records of the fixtures' sign-in and role change, as collectors deliver them.
pub fn twins() -> Vec<Event> {
    vec![
        graph_sign_in(),
        unified_sign_in(),
        graph_role_change(),
        unified_role_change(),
    ]
}

/// `event` with other fields in its raw record, normalized again under a new native id.
fn variant(event: &Event, id: &str, changes: Value) -> Event {
    let mut raw = event.raw.clone();
    let id_field = if raw.get("Id").is_some() { "Id" } else { "id" };
    raw[id_field] = json!(id);
    if let (Some(raw), Some(changes)) = (raw.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            raw.insert(k.clone(), v.clone());
        }
    }
    self::event(raw, &event.source)
}

async fn total(store: &dyn Store, query: &EventQuery) -> u64 {
    store
        .aggregate_events(query, &AggregateSpec::default())
        .await
        .expect("aggregate")
        .total
}

pub async fn one_activity_from_two_paths_is_one_event(store: &dyn Store) {
    let (graph, unified) = (graph_sign_in(), unified_sign_in());
    assert_eq!(graph.operation, "UserLoginFailed");
    let first = store
        .insert_events(std::slice::from_ref(&graph))
        .await
        .expect("insert");
    assert_eq!((first.new, first.joined), (1, 0));
    let second = store
        .insert_events(std::slice::from_ref(&unified))
        .await
        .expect("insert");
    assert_eq!((second.new, second.joined, second.duplicate), (0, 1, 0));
    assert_eq!(store.count_events().await.expect("count"), 1);

    let stored = store
        .get_event(graph.id)
        .await
        .expect("get")
        .expect("the first path's event");
    assert_eq!(stored.source, GRAPH_SIGN_INS);
    assert_eq!(
        stored.seen_via().collect::<Vec<_>>(),
        [GRAPH_SIGN_INS, UNIFIED_ENTRA]
    );
    let sighting = &stored.also_seen_via[0];
    assert_eq!(sighting.dedupe_key, unified.dedupe_key);
    assert_eq!(sighting.raw, unified.raw, "the other record is kept whole");
    assert!(sighting.ingested_at.is_some());
    assert!(store.get_event(unified.id).await.expect("get").is_none());

    // Lists name the paths and leave the raw records out.
    let query = EventQuery {
        without_raw: true,
        ..EventQuery::default()
    };
    let page = store.query_events(&query).await.expect("query");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].also_seen_via[0].source, UNIFIED_ENTRA);
    assert_eq!(page.items[0].also_seen_via[0].raw, Value::Null);

    // Either source finds it; the figures count it once.
    for source in [GRAPH_SIGN_INS, UNIFIED_ENTRA] {
        let query = EventQuery {
            source: Some(source.into()),
            ..EventQuery::default()
        };
        let found = store.query_events(&query).await.expect("query").items;
        assert_eq!(found.len(), 1, "source {source}");
        assert_eq!(total(store, &query).await, 1, "source {source}");
    }
    let failures = store
        .aggregate_events(&EventQuery::default(), &AggregateSpec::default())
        .await
        .expect("aggregate");
    assert_eq!((failures.total, failures.failures), (1, 1));

    // The feed of sinks and detection carries it once, with both records.
    let feed = store.events_after(None, 100).await.expect("feed");
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].also_seen_via[0].raw, unified.raw);

    // Repeats of either record (a fetch overlap) change nothing.
    let again = store
        .insert_events(&[unified.clone(), graph.clone()])
        .await
        .expect("insert again");
    assert_eq!((again.new, again.joined, again.duplicate), (0, 0, 2));
    assert_eq!(store.count_events().await.expect("count"), 1);
    let stored = store
        .get_event(graph.id)
        .await
        .expect("get")
        .expect("event");
    assert_eq!(stored.also_seen_via.len(), 1);
}

pub async fn a_directory_change_from_two_paths_is_one_event(store: &dyn Store) {
    let (graph, unified) = (graph_role_change(), unified_role_change());
    assert_eq!(
        unified.operation, "Add member to role",
        "the unified log's final period is dropped"
    );
    assert_eq!(
        unified.raw["Operation"], "Add member to role.",
        "raw keeps it"
    );
    // The unified log's record arrives first this time, in one batch with Graph's.
    let report = store
        .insert_events(&[unified.clone(), graph.clone()])
        .await
        .expect("insert");
    assert_eq!((report.new, report.joined), (1, 1));
    let stored = store
        .get_event(unified.id)
        .await
        .expect("get")
        .expect("the first path's event");
    assert_eq!(
        stored.seen_via().collect::<Vec<_>>(),
        [UNIFIED_ENTRA, GRAPH_AUDITS]
    );
    assert_eq!(stored.also_seen_via[0].raw, graph.raw);
    let query = EventQuery {
        operation: Some("Add member to role".into()),
        ..EventQuery::default()
    };
    assert_eq!(total(store, &query).await, 1);
}

pub async fn distinct_activities_sharing_a_user_and_second_stay_apart(store: &dyn Store) {
    let graph = graph_sign_in();
    let unified = unified_sign_in();
    // A second Graph sign-in with every key field equal (another request in the same second),
    // and unified-log records that differ in one field each.
    let graph_again = variant(&graph, "2c3d4e5f-6a7b-4c8d-9e0f-00000000aa01", json!({}));
    let other_app = variant(
        &unified,
        "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb01",
        json!({ "ApplicationId": "00000003-0000-0ff1-ce00-000000000000" }),
    );
    let other_code = variant(
        &unified,
        "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb02",
        json!({ "ErrorNumber": "50053" }),
    );
    let other_address = variant(
        &unified,
        "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb03",
        json!({ "ClientIP": "198.51.100.78" }),
    );
    let next_second = variant(
        &unified,
        "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb04",
        json!({ "CreationTime": "2025-03-01T10:05:48" }),
    );
    let twin_of_second = variant(&unified, "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb05", json!({}));
    let batch = [
        graph.clone(),
        graph_again.clone(),
        other_app,
        other_code,
        other_address,
        next_second,
        unified.clone(),
        twin_of_second,
    ];
    let report = store.insert_events(&batch).await.expect("insert");
    // The two Graph sign-ins stay two; each takes one unified-log twin; the rest stand alone.
    assert_eq!((report.new, report.joined), (6, 2));
    assert_eq!(store.count_events().await.expect("count"), 6);
    for id in [graph.id, graph_again.id] {
        let stored = store.get_event(id).await.expect("get").expect("event");
        assert_eq!(stored.also_seen_via.len(), 1, "one twin each");
    }
    // Two unified-log records never merge with each other.
    let more = variant(&unified, "9a1c3e5a-7b8d-4f0e-8a2c-00000000bb06", json!({}));
    let report = store.insert_events(&[more]).await.expect("insert");
    assert_eq!((report.new, report.joined), (1, 0));
}

pub async fn retention_and_deletes_take_the_sightings(store: &dyn Store) {
    let (graph, unified) = (graph_sign_in(), unified_sign_in());
    store
        .insert_events(&[graph.clone(), unified.clone()])
        .await
        .expect("insert");
    store.delete_events(&[graph.id]).await.expect("delete");
    // With its event gone, the record is new again: nothing of it was left behind.
    let report = store
        .insert_events(std::slice::from_ref(&unified))
        .await
        .expect("insert");
    assert_eq!((report.new, report.joined), (1, 0));
    let (role, role_twin) = (graph_role_change(), unified_role_change());
    store
        .insert_events(&[role.clone(), role_twin.clone()])
        .await
        .expect("insert");
    let cutoff = role.timestamp + chrono::Duration::hours(1);
    store.delete_events_before(cutoff).await.expect("retention");
    assert_eq!(store.count_events().await.expect("count"), 0);
    let report = store
        .insert_events(std::slice::from_ref(&role_twin))
        .await
        .expect("insert");
    assert_eq!((report.new, report.joined), (1, 0));
}

/// A database that stored both paths' records as events before activities were joined is
/// merged by `migrate`: one event left, seen via both, with the tags and comments of both.
pub async fn migrate_joins_twins_stored_before<D: TestDatabase>(database: &D) {
    use aoc_model::{Author, CommentBody, Tag};

    use crate::{AnnotationStore, EventRef};

    let store = database.open().await;
    store.migrate().await.expect("migrate");
    let (graph, unified) = (graph_sign_in(), unified_sign_in());
    let (role, role_twin) = (graph_role_change(), unified_role_change());
    // Stored as an older AOC did: each record its own event, no activity key.
    for batch in [
        [graph.clone(), role.clone()],
        [unified.clone(), role_twin.clone()],
    ] {
        store.insert_events(&batch).await.expect("insert");
        let clear = Statement::new(store.dialect(), "UPDATE events SET activity_key = NULL");
        store.write(clear).await.expect("clear");
    }
    assert_eq!(store.count_events().await.expect("count"), 4);
    let analyst = Author::new("analyst", None);
    let twin = EventRef::from(&unified);
    let tag = Tag::parse("suspicious").expect("tag");
    store
        .add_tag(twin, &tag, &analyst, unified.timestamp)
        .await
        .expect("tag");
    let body = CommentBody::parse("Seen in the unified log first.").expect("body");
    store
        .add_comment(twin, &analyst, &body, unified.timestamp)
        .await
        .expect("comment");
    let pending = Statement::new(
        store.dialect(),
        "UPDATE events SET activity_key = '?' WHERE service = 'Entra ID'",
    );
    store.write(pending).await.expect("mark");

    store.migrate().await.expect("migrate again");
    assert_eq!(store.count_events().await.expect("count"), 2);
    for (kept, merged) in [(&graph, &unified), (&role, &role_twin)] {
        let stored = store.get_event(kept.id).await.expect("get").expect("kept");
        assert_eq!(stored.also_seen_via.len(), 1);
        assert_eq!(stored.also_seen_via[0].raw, merged.raw);
        assert!(store.get_event(merged.id).await.expect("get").is_none());
    }
    let tags = store.event_tags(graph.id).await.expect("tags");
    assert_eq!(tags.len(), 1, "the tag moved with the record");
    let comments = store.event_comments(graph.id).await.expect("comments");
    assert_eq!(comments.len(), 1, "the comment moved with the record");
    // Keys are set: new twins join, and a second pass changes nothing.
    store.migrate().await.expect("migrate a third time");
    assert_eq!(store.count_events().await.expect("count"), 2);
    let repeat = store
        .insert_events(std::slice::from_ref(&unified))
        .await
        .expect("insert");
    assert_eq!((repeat.new, repeat.joined), (0, 0));
}
