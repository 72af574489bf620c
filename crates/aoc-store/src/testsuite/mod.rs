//! The behaviour suite every engine passes. Each engine invokes [`store_behaviour_suite!`]
//! with an async constructor of a fresh, migrated, empty store; the suite expands into one test
//! per behaviour, so a failure names the behaviour and the engine. Behaviours that need a second
//! process or the engine's own statements are in [`engine`] ([`engine_behaviour_suite!`]).

pub mod activities;
mod annotations;
mod audit_trail;
pub mod data;
pub mod engine;
mod fetch_state;
mod jobs;
mod retention;
mod rollup;
mod saved;
mod totals;

pub use activities::{
    a_directory_change_from_two_paths_is_one_event,
    distinct_activities_sharing_a_user_and_second_stay_apart,
    one_activity_from_two_paths_is_one_event, retention_and_deletes_take_the_sightings,
};
pub use annotations::{
    annotation_text_is_harmless, annotations_die_with_their_event, annotations_follow_retention,
    comments_are_added_edited_and_deleted, events_filter_by_tag, tag_counts_are_most_used_first,
    tags_are_added_once_and_removed,
};
pub use audit_trail::{
    audit_append_assigns_increasing_seq, audit_entries_round_trip_exactly,
    audit_paging_returns_every_entry_once, audit_queries_match_the_reference,
    audit_retention_deletes_only_old_entries, first_sighting_is_reported_once,
    first_sighting_race_has_one_winner,
};
pub use fetch_state::{
    a_lease_race_has_one_winner, commit_fetch_stores_events_and_reports_new,
    coverage_counts_content_by_the_hour_it_became_available, coverage_counts_records_by_the_hour,
    fetch_state_text_is_harmless, leases_are_exclusive_until_they_expire,
    list_content_keeps_statuses, mark_content_expired_records_the_gap,
    prune_fetch_state_forgets_old_hours_and_blobs, record_run_keeps_source_health,
    watermark_only_moves_forward,
};

pub use engine::TestDatabase;
pub use jobs::{
    a_dead_workers_job_is_taken_again_and_finished_once, a_job_runs_from_queued_to_succeeded,
    a_job_that_keeps_losing_its_worker_fails, finished_jobs_are_kept_for_their_time_then_purged,
    jobs_are_taken_oldest_first_and_by_one_worker_each,
};
pub use retention::imported_events_stay_for_the_retention_from_their_import;
pub use rollup::figures_from_the_rollup_equal_counting_the_events;
pub use saved::saved_searches_are_personal_or_shared;
pub use totals::the_data_version_moves_with_every_change_and_only_then;

use std::collections::HashSet;
use std::net::IpAddr;

use chrono::Duration;

use aoc_model::search::SearchText;
use aoc_model::{
    AggregateSpec, Cursor, Event, EventAggregates, EventId, EventQuery, EventResult, IpRange,
    Order, Seq, TenantId, TimeBucket, ValueCount,
};

use crate::Store;
use data::{base_time, fixture_events, varied_events};

#[macro_export]
macro_rules! store_behaviour_suite {
    ($make:path) => {
        $crate::store_behaviour_suite!(@tests $make;
            insert_is_idempotent,
            repeats_within_a_batch_are_stored_once,
            a_large_batch_is_stored_whole,
            insert_assigns_seq_in_commit_order,
            events_round_trip_unchanged,
            get_event_by_id,
            paging_returns_every_event_exactly_once,
            filters_match_the_reference,
            aggregates_match_the_reference,
            facets_match_the_reference,
            full_text_matches_the_reference,
            hostile_input_is_harmless,
            nul_and_unicode_survive,
            retention_deletes_old_events_and_their_index,
            delete_events_by_id,
            events_after_follows_commit_order,
            migrate_twice_is_harmless,
            commit_fetch_stores_events_and_reports_new,
            watermark_only_moves_forward,
            coverage_counts_records_by_the_hour,
            coverage_counts_content_by_the_hour_it_became_available,
            list_content_keeps_statuses,
            mark_content_expired_records_the_gap,
            record_run_keeps_source_health,
            prune_fetch_state_forgets_old_hours_and_blobs,
            leases_are_exclusive_until_they_expire,
            a_lease_race_has_one_winner,
            fetch_state_text_is_harmless,
            tags_are_added_once_and_removed,
            tag_counts_are_most_used_first,
            comments_are_added_edited_and_deleted,
            annotations_die_with_their_event,
            events_filter_by_tag,
            annotations_follow_retention,
            annotation_text_is_harmless,
            audit_append_assigns_increasing_seq,
            audit_queries_match_the_reference,
            audit_paging_returns_every_entry_once,
            audit_entries_round_trip_exactly,
            audit_retention_deletes_only_old_entries,
            first_sighting_is_reported_once,
            first_sighting_race_has_one_winner,
            one_activity_from_two_paths_is_one_event,
            a_directory_change_from_two_paths_is_one_event,
            distinct_activities_sharing_a_user_and_second_stay_apart,
            retention_and_deletes_take_the_sightings,
            imported_events_stay_for_the_retention_from_their_import,
            saved_searches_are_personal_or_shared,
            application_names_match_in_any_letter_case,
            the_data_version_moves_with_every_change_and_only_then,
            figures_from_the_rollup_equal_counting_the_events,
            the_actor_lookup_answers_as_testing_each_event
        );
        $crate::job_queue_behaviour_suite!($make);
    };
    (@tests $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make(stringify!($name)).await;
                $crate::testsuite::$name(&*store).await;
            }
        )*
    };
}

/// The job queue's behaviour alone, for queues outside the store (Valkey); `$make` builds a
/// fresh, empty queue (something that dereferences to a `JobQueue`) from a test name.
#[macro_export]
macro_rules! job_queue_behaviour_suite {
    ($make:path) => {
        $crate::store_behaviour_suite!(@tests $make;
            a_job_runs_from_queued_to_succeeded,
            jobs_are_taken_oldest_first_and_by_one_worker_each,
            a_dead_workers_job_is_taken_again_and_finished_once,
            a_job_that_keeps_losing_its_worker_fails,
            finished_jobs_are_kept_for_their_time_then_purged
        );
    };
}

/// What the store hands back, compared without the fields it assigns.
fn comparable(event: &Event) -> Event {
    let mut event = event.clone();
    event.seq = None;
    event.ingested_at = None;
    event
}

async fn insert(store: &dyn Store, events: &[Event]) {
    store.insert_events(events).await.expect("insert");
}

/// Every page of `query`, following `next_cursor`, with a guard against endless paging.
pub async fn collect_pages(store: &dyn Store, query: &EventQuery) -> Vec<Event> {
    let mut query = query.clone();
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let page = store.query_events(&query).await.expect("query");
        assert!(page.items.len() <= query.page_size() as usize);
        all.extend(page.items);
        match page.next_cursor {
            Some(token) => query.cursor = Some(Cursor::decode(&token).expect("own cursor")),
            None => return all,
        }
    }
    panic!("paging did not end");
}

/// What a correct engine returns for `query`: the reference filter, in keyset order.
fn expected(events: &[Event], query: &EventQuery) -> Vec<EventId> {
    let mut matching = reference_matches(events, query);
    matching.sort_by_key(|e| (e.timestamp, e.id));
    if query.order == Order::NewestFirst {
        matching.reverse();
    }
    matching.into_iter().map(|e| e.id).collect()
}

/// The events a correct engine finds for `query`, in no order.
fn reference_matches<'a>(events: &'a [Event], query: &EventQuery) -> Vec<&'a Event> {
    let included = EventQuery {
        exclude: aoc_model::Exclusions::default(),
        ..query.clone()
    };
    let mut out = reference_included(events, &included);
    for exclusion in query.exclude.as_filters() {
        let dropped: HashSet<EventId> = reference_included(events, &exclusion)
            .into_iter()
            .map(|e| e.id)
            .collect();
        out.retain(|e| !dropped.contains(&e.id));
    }
    out
}

/// [`reference_matches`] of a query without exclusions.
fn reference_included<'a>(events: &'a [Event], query: &EventQuery) -> Vec<&'a Event> {
    let named = named_upns(events, query);
    let others = EventQuery {
        actor: None,
        ..query.clone()
    };
    let by_name = |e: &Event| {
        e.actor
            .upn
            .as_deref()
            .is_some_and(|upn| named.contains(&upn.trim().to_lowercase()))
            && others.matches(e)
    };
    events
        .iter()
        .filter(|e| query.matches(e) || by_name(e))
        .collect()
}

/// The UPNs whose records carry a display name the actor filter matches: their other records
/// match too (see `sql::people`).
fn named_upns(events: &[Event], query: &EventQuery) -> HashSet<String> {
    let Some(wanted) = query.actor.as_deref().and_then(aoc_model::TextMatch::parse) else {
        return HashSet::new();
    };
    events
        .iter()
        .filter_map(|e| crate::sql::actor_name(&e.actor))
        .filter(|(_, name)| match &wanted {
            aoc_model::TextMatch::Whole(n) => name == n,
            other => name.contains(&other.key_needle()),
        })
        .map(|(upn, _)| upn)
        .collect()
}

fn ids(events: &[Event]) -> Vec<EventId> {
    events.iter().map(|e| e.id).collect()
}

pub async fn insert_is_idempotent(store: &dyn Store) {
    let events = fixture_events();
    assert!(
        events.len() >= 20,
        "fixtures should give at least 20 events"
    );
    let first = store.insert_events(&events).await.expect("insert");
    // The fixtures hold two activities that both Graph and the unified log delivered.
    assert_eq!((first.new, first.joined), (events.len() as u64 - 2, 2));
    assert_eq!(first.duplicate, 0);
    let second = store.insert_events(&events).await.expect("insert again");
    assert_eq!(second.new, 0);
    assert_eq!(second.duplicate, events.len() as u64);
    assert_eq!(
        store.count_events().await.expect("count"),
        events.len() as u64 - 2
    );
}

pub async fn repeats_within_a_batch_are_stored_once(store: &dyn Store) {
    let events = varied_events(30);
    let mut batch = events.clone();
    batch.extend(events[..10].iter().cloned());
    let report = store.insert_events(&batch).await.expect("insert");
    assert_eq!((report.new, report.duplicate), (30, 10));
    // Half old, half new: only the new half counts.
    let more = varied_events(60);
    let report = store.insert_events(&more).await.expect("insert");
    assert_eq!((report.new, report.duplicate), (30, 30));
    assert_eq!(store.count_events().await.expect("count"), 60);
}

/// Engines write large batches in chunks; the batch still commits as one.
pub async fn a_large_batch_is_stored_whole(store: &dyn Store) {
    let events = varied_events(6_100);
    let mut batch = events.clone();
    // Repeats that land in other chunks than their first copy.
    batch.extend(events[..700].iter().cloned());
    let report = store.insert_events(&batch).await.expect("insert");
    assert_eq!((report.new, report.duplicate), (6_100, 700));
    assert_eq!(store.count_events().await.expect("count"), 6_100);
    let stored = store.events_after(None, 10_000).await.expect("feed");
    let seqs: Vec<i64> = stored.iter().filter_map(|e| e.seq.map(|s| s.0)).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

pub async fn insert_assigns_seq_in_commit_order(store: &dyn Store) {
    let events = varied_events(40);
    insert(store, &events[..20]).await;
    insert(store, &events[20..]).await;
    let stored = store.events_after(None, 100).await.expect("feed");
    assert_eq!(stored.len(), 40);
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq.expect("seq").0).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq strictly increasing: {seqs:?}"
    );
    let first_batch: HashSet<EventId> = ids(&events[..20]).into_iter().collect();
    assert!(
        stored[..20].iter().all(|e| first_batch.contains(&e.id)),
        "first commit first"
    );
    assert!(stored.iter().all(|e| e.ingested_at.is_some()));
}

pub async fn events_round_trip_unchanged(store: &dyn Store) {
    let events = fixture_events();
    insert(store, &events).await;
    let mut joined = 0;
    for event in &events {
        let Some(mut stored) = store.get_event(event.id).await.expect("get") else {
            // Another path's record of an activity stored before: kept as its sighting.
            joined += 1;
            continue;
        };
        for sighting in std::mem::take(&mut stored.also_seen_via) {
            let twin = events
                .iter()
                .find(|e| e.dedupe_key == sighting.dedupe_key)
                .expect("a fixture record");
            assert_eq!(sighting.raw, twin.raw, "sighting {}", twin.dedupe_key);
            assert_eq!(sighting.source, twin.source);
        }
        assert_eq!(comparable(&stored), *event, "event {}", event.dedupe_key);
        // raw is the source's record, unchanged, key order included.
        assert_eq!(
            serde_json::to_string(&stored.raw).expect("json"),
            serde_json::to_string(&event.raw).expect("json")
        );
    }
    assert_eq!(
        joined, 2,
        "the fixtures' sign-in and role change, from both paths"
    );
}

pub async fn get_event_by_id(store: &dyn Store) {
    let events = varied_events(5);
    insert(store, &events).await;
    let unknown = EventId::derive(&TenantId::new("nobody"), &aoc_model::DedupeKey::new("x"));
    assert!(store.get_event(unknown).await.expect("get").is_none());
    assert_eq!(
        store
            .get_event(events[3].id)
            .await
            .expect("get")
            .map(|e| e.id),
        Some(events[3].id)
    );
}

pub async fn paging_returns_every_event_exactly_once(store: &dyn Store) {
    let events = varied_events(203);
    for chunk in events.chunks(50) {
        insert(store, chunk).await;
    }
    for order in [Order::NewestFirst, Order::OldestFirst] {
        for page_size in [1, 7, 50, 500] {
            let query = EventQuery {
                order,
                ..EventQuery::default()
            }
            .with_page_size(page_size)
            .expect("page size");
            let got = collect_pages(store, &query).await;
            let got_ids = ids(&got);
            let unique: HashSet<EventId> = got_ids.iter().copied().collect();
            assert_eq!(
                unique.len(),
                got_ids.len(),
                "no event twice ({order:?}, {page_size})"
            );
            assert_eq!(
                got_ids,
                expected(&events, &query),
                "order and completeness ({order:?}, {page_size})"
            );
        }
    }
    // Paging while new events arrive still never repeats a row.
    let query = EventQuery::default().with_page_size(10).expect("page size");
    let first = store.query_events(&query).await.expect("query");
    insert(store, &varied_events(260)[203..]).await;
    let cursor = Cursor::decode(first.next_cursor.as_deref().expect("more")).expect("cursor");
    let rest = collect_pages(
        store,
        &EventQuery {
            cursor: Some(cursor),
            ..query
        },
    )
    .await;
    let seen: HashSet<EventId> = ids(&first.items).into_iter().collect();
    assert!(rest.iter().all(|e| !seen.contains(&e.id)));
}

/// One query per filter and a few combinations, each checked against the reference.
fn filter_cases(events: &[Event]) -> Vec<(&'static str, EventQuery)> {
    let some = &events[7];
    let ip: Option<IpAddr> = events.iter().find_map(|e| e.client_ip);
    let target_name = events
        .iter()
        .flat_map(|e| &e.targets)
        .find_map(|t| t.name.clone().filter(|n| n.contains('@')));
    let target_id = events
        .iter()
        .flat_map(|e| &e.targets)
        .find_map(|t| t.id.clone());
    let typed_target = target_id.clone().unwrap_or_default();
    let q = EventQuery::default;
    vec![
        ("everything", q()),
        (
            "from",
            EventQuery {
                from: Some(base_time() + Duration::hours(3)),
                ..q()
            },
        ),
        (
            "to",
            EventQuery {
                to: Some(base_time() + Duration::hours(3)),
                ..q()
            },
        ),
        (
            "range",
            EventQuery {
                from: Some(base_time() + Duration::hours(1)),
                to: Some(base_time() + Duration::hours(5)),
                ..q()
            },
        ),
        (
            "from equals an event time",
            EventQuery {
                from: Some(some.timestamp),
                ..q()
            },
        ),
        (
            "tenant",
            EventQuery {
                tenant: Some(TenantId::new(data::TENANTS[1])),
                ..q()
            },
        ),
        (
            "source",
            EventQuery {
                source: Some("o365.Audit.Exchange".into()),
                ..q()
            },
        ),
        (
            "source, part of a name in another case",
            EventQuery {
                source: Some("SIGN_INS".into()),
                ..q()
            },
        ),
        (
            "service, part in another case",
            EventQuery {
                service: Some("exchange".into()),
                ..q()
            },
        ),
        (
            "operation, part in another case",
            EventQuery {
                operation: Some("inboxrule".into()),
                ..q()
            },
        ),
        (
            "operation, whole name in quotes",
            EventQuery {
                operation: Some("\"set-mailbox\"".into()),
                ..q()
            },
        ),
        (
            "operation, a pattern",
            EventQuery {
                operation: Some("set-*".into()),
                ..q()
            },
        ),
        (
            "operation, a pattern with escapes that matches nothing",
            EventQuery {
                operation: Some("*50%_nothing\\*".into()),
                ..q()
            },
        ),
        (
            "service, a pattern",
            EventQuery {
                service: Some("*point".into()),
                ..q()
            },
        ),
        (
            "not an operation",
            EventQuery {
                exclude: aoc_model::Exclusions {
                    operation: Some("\"UserLoggedIn\"".into()),
                    ..Default::default()
                },
                ..q()
            },
        ),
        (
            "Exchange but not by one person, nor failed",
            EventQuery {
                service: Some("exchange".into()),
                exclude: aoc_model::Exclusions {
                    actor: Some("dana.park".into()),
                    result: Some(EventResult::Failure),
                    ..Default::default()
                },
                ..q()
            },
        ),
        (
            "not a country, not a source, not a target",
            EventQuery {
                exclude: aoc_model::Exclusions {
                    country: Some("FR".into()),
                    source: Some("o365".into()),
                    target: Some("contoso".into()),
                    ..Default::default()
                },
                ..q()
            },
        ),
        (
            "actor, part of a UPN",
            EventQuery {
                actor: Some("dana.park".into()),
                ..q()
            },
        ),
        (
            "actor, display name in another case",
            EventQuery {
                actor: Some("kim admin".into()),
                ..q()
            },
        ),
        (
            "service Exchange",
            EventQuery {
                service: Some("Exchange".into()),
                ..q()
            },
        ),
        (
            "service Entra ID",
            EventQuery {
                service: Some("Entra ID".into()),
                ..q()
            },
        ),
        (
            "operation",
            EventQuery {
                operation: Some(some.operation.clone()),
                ..q()
            },
        ),
        (
            "operation with period",
            EventQuery {
                operation: Some("Add member to role.".into()),
                ..q()
            },
        ),
        (
            "actor upn",
            EventQuery {
                actor: Some("Dana.Park@Contoso.com".into()),
                ..q()
            },
        ),
        (
            "actor id",
            EventQuery {
                actor: some.actor.id.clone(),
                ..q()
            },
        ),
        (
            "client ip",
            EventQuery {
                client_ip: ip,
                ..q()
            },
        ),
        (
            "result failure",
            EventQuery {
                result: Some(EventResult::Failure),
                ..q()
            },
        ),
        (
            "result success",
            EventQuery {
                result: Some(EventResult::Success),
                ..q()
            },
        ),
        (
            "combined",
            EventQuery {
                service: Some("Entra ID".into()),
                result: Some(EventResult::Failure),
                actor: Some(data::USERS[2].into()),
                ..q()
            },
        ),
        (
            "operation prefix",
            EventQuery {
                operation_prefix: Some(some.operation[..3].to_owned()),
                ..q()
            },
        ),
        (
            "operation prefix with period",
            EventQuery {
                operation_prefix: Some("Add member".into()),
                ..q()
            },
        ),
        (
            "operation prefix is case-sensitive",
            EventQuery {
                operation_prefix: Some(some.operation[..3].to_uppercase()),
                ..q()
            },
        ),
        (
            "operation prefix of a whole name",
            EventQuery {
                operation_prefix: Some(some.operation.clone()),
                ..q()
            },
        ),
        (
            "cidr /24",
            EventQuery {
                ip_range: IpRange::parse("198.51.101.0/24"),
                ..q()
            },
        ),
        (
            "cidr /28 with host bits",
            EventQuery {
                ip_range: IpRange::parse("198.51.100.9/28"),
                ..q()
            },
        ),
        (
            "cidr ipv6",
            EventQuery {
                ip_range: IpRange::parse("2001:db8:1::/48"),
                ..q()
            },
        ),
        (
            "cidr everything ipv4",
            EventQuery {
                ip_range: IpRange::parse("0.0.0.0/0"),
                ..q()
            },
        ),
        (
            "target name, other case",
            EventQuery {
                target: target_name.map(|n| n.to_uppercase()),
                ..q()
            },
        ),
        (
            "target id",
            EventQuery {
                target: target_id,
                ..q()
            },
        ),
        (
            "target part of a name",
            EventQuery {
                target: Some("contoso".into()),
                ..q()
            },
        ),
        (
            "country",
            EventQuery {
                country: Some("FR".into()),
                ..q()
            },
        ),
        (
            "country and cidr",
            EventQuery {
                country: Some("us".into()),
                ip_range: IpRange::parse("198.51.100.0/24"),
                ..q()
            },
        ),
        (
            "nothing matches",
            EventQuery {
                operation: Some("NoSuchOperation".into()),
                ..q()
            },
        ),
        (
            "oldest first",
            EventQuery {
                order: Order::OldestFirst,
                service: Some("SharePoint".into()),
                ..q()
            },
        ),
        (
            "application",
            EventQuery {
                application: Some("OFFICE".into()),
                ..q()
            },
        ),
        (
            "not an application keeps events that name none",
            EventQuery {
                exclude: aoc_model::Exclusions {
                    application: Some("\"Contoso HR Portal\"".into()),
                    ..Default::default()
                },
                ..q()
            },
        ),
        (
            "typed: an application or a failure",
            typed("app:office OR result:failure"),
        ),
        (
            "typed: OR of services",
            typed("service:exchange OR service:intune"),
        ),
        (
            "typed: a group with NOT",
            typed("(operation:Set-* OR result:failure) -country:FR"),
        ),
        (
            "typed: NOT a block keeps events without an address",
            typed("NOT ip:198.51.100.0/24"),
        ),
        (
            "typed: NOT an address inside OR",
            typed(&format!(
                "service:sharepoint OR NOT ip:{}",
                ip.map(|ip| ip.to_string()).unwrap_or_default()
            )),
        ),
        (
            "typed: two actors",
            typed("actor:omar.haddad OR actor:dana.park"),
        ),
        ("typed: words in OR", typed("kim OR anonymous")),
        (
            "typed: a phrase, and a time range in OR",
            typed(
                "\"add member\" OR (time:2025-03-01T02:00Z..2025-03-01T05:00Z service:\"Entra ID\")",
            ),
        ),
        (
            "typed: NOT of a group with NOT",
            typed("NOT (service:exchange OR NOT result:success)"),
        ),
        (
            "typed: whole names in OR, and a target",
            typed(&format!(
                "operation:\"Set-Mailbox\" OR operation:\"add member to role\" OR target:{}",
                typed_target
            )),
        ),
        (
            "typed: a country by name, a tenant, and one more actor",
            typed(&format!(
                "-country:france tenant:{} actor:kim (actor:lee.gomez OR result:failure)",
                data::TENANTS[0]
            )),
        ),
    ]
}

/// The query the search box's language makes of `text` (on 2 December 2026).
fn typed(text: &str) -> EventQuery {
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 2, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let mut query = EventQuery::default();
    aoc_model::query_language::parse(text, now)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .apply_to(&mut query);
    query
}

/// Application names outside ASCII match in any case, as the reference folds them.
pub async fn application_names_match_in_any_letter_case(store: &dyn Store) {
    let mut events = varied_events(20);
    for (i, event) in events.iter_mut().enumerate() {
        let name = if i % 2 == 0 {
            "Éditeur RH"
        } else {
            "Портал Кадров"
        };
        event
            .details
            .insert("appDisplayName".into(), name.to_owned());
    }
    insert(store, &events).await;
    for value in ["ÉDITEUR", "\"éditeur rh\"", "портал", "*КАДРОВ"] {
        let query = EventQuery {
            application: Some(value.into()),
            ..EventQuery::default()
        };
        let want = expected(&events, &query);
        assert_eq!(want.len(), 10, "{value}");
        assert_eq!(ids(&collect_pages(store, &query).await), want, "{value}");
    }
}

pub async fn filters_match_the_reference(store: &dyn Store) {
    let events = varied_events(240);
    insert(store, &events).await;
    for (name, query) in filter_cases(&events) {
        let query = query.with_page_size(13).expect("page size");
        let got = ids(&collect_pages(store, &query).await);
        let want = expected(&events, &query);
        assert_eq!(got, want, "filter case {name}");
        if !name.contains("nothing")
            && !name.contains("case-sensitive")
            && !name.contains("part of")
        {
            assert!(
                !want.is_empty(),
                "filter case {name} should match something"
            );
        }
    }
    let everything = expected(&events, &EventQuery::default());
    assert_eq!(everything.len(), 240);
}

/// The figures `aggregate_events` must return, computed from the events themselves.
fn expected_aggregates(
    events: &[Event],
    query: &EventQuery,
    spec: &AggregateSpec,
) -> EventAggregates {
    let matching = reference_matches(events, query);
    let failures = matching
        .iter()
        .filter(|e| e.result == EventResult::Failure)
        .count() as u64;
    let first = matching.iter().map(|e| e.timestamp).min();
    let last = matching.iter().map(|e| e.timestamp).max();
    let interval = crate::aggregate_interval(query, spec, first, last).expect("interval");
    let mut buckets: std::collections::BTreeMap<_, (u64, u64)> = Default::default();
    for e in &matching {
        let b = buckets
            .entry(aoc_model::aggregate::bucket_start(e.timestamp, interval))
            .or_default();
        b.0 += 1;
        b.1 += u64::from(e.result == EventResult::Failure);
    }
    let top = |key: &dyn Fn(&Event) -> Option<String>| {
        let mut counts: std::collections::HashMap<String, u64> = Default::default();
        for e in &matching {
            if let Some(k) = key(e) {
                *counts.entry(k).or_default() += 1;
            }
        }
        let mut list: Vec<ValueCount> = counts
            .into_iter()
            .map(|(value, count)| ValueCount { value, count })
            .collect();
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        list.truncate(spec.top as usize);
        list
    };
    EventAggregates::assemble(
        matching.len() as u64,
        failures,
        first,
        last,
        interval,
        (query.from, query.to),
        buckets
            .into_iter()
            .map(|(start, (count, failures))| TimeBucket {
                start,
                count,
                failures,
            })
            .collect(),
        [
            top(&|e| Some(e.operation.clone())),
            top(&|e| {
                e.actor
                    .upn
                    .as_deref()
                    .or(e.actor.id.as_deref())
                    .map(aoc_model::actor_key)
            }),
            top(&|e| e.client_ip.map(|ip| ip.to_string())),
        ],
    )
}

pub async fn aggregates_match_the_reference(store: &dyn Store) {
    let events = varied_events(240);
    insert(store, &events).await;
    let spec = AggregateSpec::default();
    let mut cases: Vec<(&str, EventQuery, AggregateSpec)> = filter_cases(&events)
        .into_iter()
        .map(|(name, query)| (name, query, spec))
        .collect();
    cases.push((
        "hourly over a range",
        EventQuery {
            from: Some(base_time() + Duration::minutes(30)),
            to: Some(base_time() + Duration::hours(20)),
            ..EventQuery::default()
        },
        AggregateSpec {
            interval_seconds: Some(3_600),
            top: 3,
        },
    ));
    cases.push((
        "text",
        EventQuery {
            text: SearchText::parse("contoso").ok(),
            ..EventQuery::default()
        },
        AggregateSpec {
            interval_seconds: Some(600),
            top: 1,
        },
    ));
    for (name, query, spec) in cases {
        let got = store
            .aggregate_events(&query, &spec)
            .await
            .expect("aggregate");
        assert_eq!(
            got,
            expected_aggregates(&events, &query, &spec),
            "case {name}"
        );
    }
    let all = store
        .aggregate_events(&EventQuery::default(), &spec)
        .await
        .expect("aggregate");
    assert_eq!(all.total, 240);
    assert!(all.failures > 0, "{all:?}");
    assert!(all.timeline.len() > 10, "{all:?}");
    assert!(
        !all.top_actors.is_empty() && !all.top_ips.is_empty(),
        "{all:?}"
    );
    let too_fine = store
        .aggregate_events(
            &EventQuery::default(),
            &AggregateSpec {
                interval_seconds: Some(1),
                top: 5,
            },
        )
        .await;
    assert!(
        matches!(
            too_fine,
            Err(crate::StoreError::InvalidArgument {
                field: "interval",
                ..
            })
        ),
        "{too_fine:?}"
    );
}

/// The values of `facet` an event has, as the store counts them.
fn facet_values(event: &Event, facet: aoc_model::Facet) -> Vec<String> {
    use aoc_model::Facet;
    let one = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
    match facet {
        Facet::Operation => vec![event.operation.clone()],
        Facet::Actor => one(event
            .actor
            .upn
            .as_deref()
            .or(event.actor.id.as_deref())
            .map(aoc_model::actor_key)),
        Facet::Service => vec![event.service.clone()],
        Facet::Result => vec![event.result.as_str().to_owned()],
        Facet::Country => one(aoc_model::country_key(
            &event.location.as_ref().and_then(|l| l.country.clone()),
        )),
        Facet::Source => event.seen_via().map(str::to_owned).collect(),
        Facet::ClientIp => one(event.client_ip.map(|ip| ip.to_string())),
        Facet::Application => one(event.application().map(str::to_owned)),
        Facet::Target => aoc_model::split_keys(&aoc_model::target_names(&event.targets))
            .map(str::to_owned)
            .collect(),
    }
}

/// The `top` values of `facet` among the `stored` events that match `query`, counted as the
/// store counts them, most frequent first, ties by the value's bytes.
fn expected_facet(
    stored: &[Event],
    query: &EventQuery,
    facet: aoc_model::Facet,
    top: usize,
) -> Vec<ValueCount> {
    let matching: HashSet<EventId> = reference_matches(stored, query)
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for event in stored.iter().filter(|e| matching.contains(&e.id)) {
        for value in facet_values(event, facet) {
            *counts.entry(value).or_default() += 1;
        }
    }
    let mut want: Vec<ValueCount> = counts
        .into_iter()
        .map(|(value, count)| ValueCount { value, count })
        .collect();
    want.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.value.as_bytes().cmp(b.value.as_bytes()))
    });
    want.truncate(top);
    want
}

pub async fn facets_match_the_reference(store: &dyn Store) {
    let mut events = varied_events(120);
    // Some activities seen via two paths: the source facet counts both.
    events.extend(activities::twins());
    insert(store, &events).await;
    let stored = collect_pages(store, &EventQuery::default()).await;
    assert!(stored.iter().any(|e| !e.also_seen_via.is_empty()));
    for (name, query) in filter_cases(&events) {
        let got = store
            .facets(&query, &aoc_model::Facet::ALL, 5)
            .await
            .expect("facets");
        // The reference over what was stored: its events carry every path they were seen via.
        for (facet, values) in got {
            let want = expected_facet(&stored, &query, facet, 5);
            assert_eq!(values, want, "case {name}, facet {}", facet.name());
        }
    }
}

pub async fn full_text_matches_the_reference(store: &dyn Store) {
    let events = varied_events(120);
    insert(store, &events).await;
    let mut nonempty = 0;
    for q in [
        "kim",
        "KIM",
        "admin.kim@contoso.com",
        "contoso",
        "payroll",
        "payroll.xl",
        "fabrikam forward",
        "198.51.100.7",
        "Global Administrator",
        "Add member to role.",
        "inboxrule",
        "zzzz-not-there",
        "53003",
    ] {
        let text = SearchText::parse(q).expect("searchable");
        let query = EventQuery {
            text: Some(text),
            ..EventQuery::default()
        }
        .with_page_size(11)
        .expect("size");
        let got = ids(&collect_pages(store, &query).await);
        let want = expected(&events, &query);
        if !want.is_empty() {
            nonempty += 1;
        }
        assert_eq!(got, want, "search {q:?}");
    }
    assert!(nonempty >= 8, "the searches should find something");
}

pub async fn hostile_input_is_harmless(store: &dyn Store) {
    let events = varied_events(60);
    insert(store, &events).await;
    let long = "x".repeat(10_000);
    let hostile = [
        "'",
        "\"",
        "''",
        "%",
        "_",
        "%%",
        "a%b_c",
        "*",
        "\"kim",
        "kim\"",
        "kim*",
        "NEAR(kim contoso)",
        "kim AND NOT contoso",
        "kim OR 1=1",
        "body:kim",
        "^kim",
        "(kim",
        "kim)",
        "-kim",
        "+kim",
        "kim:*",
        "kim & !contoso",
        "kim <-> contoso",
        ".*",
        "[a-z]+",
        "(?i)kim|^$",
        "\\",
        "'; DROP TABLE events; --",
        "\" OR \"\"=\"",
        "\u{0}",
        "kim\u{0}contoso",
        "\u{FFFD}",
        "日本語",
        "emoji 🎉",
        long.as_str(),
    ];
    let before = store.count_events().await.expect("count");
    for input in hostile {
        // As free text: a validation error or the reference result.
        if let Ok(text) = SearchText::parse(input) {
            let query = EventQuery {
                text: Some(text),
                ..EventQuery::default()
            };
            let got = ids(&collect_pages(store, &query).await);
            assert_eq!(got, expected(&events, &query), "search {input:?}");
        }
        // As every filter: no error, and the reference result.
        for query in [
            EventQuery {
                operation: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                actor: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                service: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                source: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                tenant: Some(TenantId::new(input)),
                ..EventQuery::default()
            },
            EventQuery {
                operation_prefix: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                target: Some(input.into()),
                ..EventQuery::default()
            },
            EventQuery {
                country: Some(input.into()),
                ..EventQuery::default()
            },
        ] {
            // (`*` alone names nothing in particular: every event.)
            assert_eq!(
                ids(&collect_pages(store, &query).await),
                expected(&events, &query),
                "filter {input:?}"
            );
        }
    }
    assert_eq!(
        store.count_events().await.expect("count"),
        before,
        "nothing changed"
    );
    let all = collect_pages(store, &EventQuery::default()).await;
    assert_eq!(all.len(), events.len());
}

pub async fn nul_and_unicode_survive(store: &dyn Store) {
    let mut events = varied_events(3);
    events[0].operation = "Set\u{0}Mailbox".into();
    events[0].raw = serde_json::json!({"Operation": "Set\u{0}Mailbox", "Note": "nul \u{0} kept"});
    events[1].summary = "日本語 émoji 🎉 \u{FFFF}".into();
    events[1].actor.upn = Some("ÅSA@contoso.com".into());
    for e in &mut events {
        e.refresh_id();
    }
    insert(store, &events).await;
    let stored = store
        .get_event(events[0].id)
        .await
        .expect("get")
        .expect("stored");
    // Columns cannot hold NUL on every engine: it becomes U+FFFD there, and stays in raw.
    assert_eq!(stored.operation, "Set\u{FFFD}Mailbox");
    assert_eq!(stored.raw, events[0].raw);
    let stored = store
        .get_event(events[1].id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(comparable(&stored), events[1]);
    let query = EventQuery {
        actor: Some("åsa@contoso.com".into()),
        ..EventQuery::default()
    };
    assert_eq!(
        ids(&store.query_events(&query).await.expect("query").items),
        vec![events[1].id]
    );
    let text = SearchText::parse("émoji").expect("text");
    let query = EventQuery {
        text: Some(text),
        ..EventQuery::default()
    };
    assert_eq!(
        ids(&store.query_events(&query).await.expect("query").items),
        vec![events[1].id]
    );
}

pub async fn retention_deletes_old_events_and_their_index(store: &dyn Store) {
    let events = varied_events(100);
    insert(store, &events).await;
    let cutoff = base_time() + Duration::hours(4);
    let old = events.iter().filter(|e| e.timestamp < cutoff).count() as u64;
    assert!(old > 0 && old < 100);
    assert_eq!(
        store.delete_events_before(cutoff).await.expect("retention"),
        old
    );
    assert_eq!(store.count_events().await.expect("count"), 100 - old);
    let left = collect_pages(store, &EventQuery::default()).await;
    assert!(left.iter().all(|e| e.timestamp >= cutoff));
    // The full-text index forgot them too.
    let text = SearchText::parse("contoso").expect("text");
    let query = EventQuery {
        text: Some(text),
        ..EventQuery::default()
    };
    let found = collect_pages(store, &query).await;
    assert!(found.iter().all(|e| e.timestamp >= cutoff));
    assert_eq!(ids(&found), expected(&left, &query));
    assert_eq!(store.delete_events_before(cutoff).await.expect("again"), 0);
}

pub async fn delete_events_by_id(store: &dyn Store) {
    let events = varied_events(10);
    insert(store, &events).await;
    let gone = [events[1].id, events[4].id, EventId::from_bytes([9; 16])];
    assert_eq!(store.delete_events(&gone).await.expect("delete"), 2);
    assert_eq!(store.count_events().await.expect("count"), 8);
    assert!(store.get_event(events[1].id).await.expect("get").is_none());
    // A deleted event can be stored again (re-import after a dedupe mistake).
    let report = store.insert_events(&events).await.expect("insert");
    assert_eq!((report.new, report.duplicate), (2, 8));
}

pub async fn events_after_follows_commit_order(store: &dyn Store) {
    let events = varied_events(25);
    insert(store, &events).await;
    let first = store.events_after(None, 10).await.expect("feed");
    assert_eq!(first.len(), 10);
    let last: Seq = first.last().and_then(|e| e.seq).expect("seq");
    let rest = store.events_after(Some(last), 100).await.expect("feed");
    assert_eq!(rest.len(), 15);
    assert!(rest.iter().all(|e| e.seq > Some(last)));
}

pub async fn migrate_twice_is_harmless(store: &dyn Store) {
    insert(store, &varied_events(5)).await;
    store.migrate().await.expect("migrate again");
    store.ping().await.expect("ping");
    assert_eq!(store.count_events().await.expect("count"), 5);
}

/// The actor filter looks its value up among the stored actors first (`sql::actor_lookup`): one
/// actor, none, several, one known by a name another record gives, another tenant's, and an
/// actor first stored after an earlier lookup all answer as testing every event does.
pub async fn the_actor_lookup_answers_as_testing_each_event(store: &dyn Store) {
    let mut events = data::varied_events(60);
    let late = events.split_off(50);
    store.insert_events(&events).await.expect("insert");
    let actor = |value: &str| EventQuery {
        actor: Some(value.into()),
        ..EventQuery::default()
    };
    let spec = AggregateSpec {
        interval_seconds: None,
        top: 3,
    };
    let check = |events: Vec<Event>, query: EventQuery, what: &'static str| async move {
        let got = ids(&collect_pages(store, &query).await);
        assert_eq!(got, expected(&events, &query), "{what}");
        let figures = store
            .aggregate_events(&query, &spec)
            .await
            .expect("figures");
        assert_eq!(
            figures,
            expected_aggregates(&events, &query, &spec),
            "{what}"
        );
    };
    check(events.clone(), actor(data::USERS[2]), "one actor, by UPN").await;
    check(
        events.clone(),
        actor("\"Dana.Park@Contoso.com\""),
        "one actor, whole",
    )
    .await;
    check(events.clone(), actor("contoso"), "several actors").await;
    check(
        events.clone(),
        actor("kim admin"),
        "a name another record gives",
    )
    .await;
    check(events.clone(), actor("nobody.here"), "no actor").await;
    assert!(
        collect_pages(store, &actor("nobody.here")).await.is_empty(),
        "no actor, no events"
    );
    let elsewhere = EventQuery {
        tenant: Some(TenantId::new("another-tenant")),
        ..actor(data::USERS[2])
    };
    check(events.clone(), elsewhere, "another tenant's actor").await;
    // Stored after the lookups above: found by the next one.
    let mut newcomer = late[0].clone();
    newcomer.actor.upn = Some("first.timer@contoso.com".into());
    newcomer.actor.display_name = Some("First Timer".into());
    let mut all = events.clone();
    all.push(newcomer.clone());
    store.insert_events(&[newcomer]).await.expect("newcomer");
    check(all.clone(), actor("first.timer"), "an actor stored since").await;
    check(all, actor("First Timer"), "an actor stored since, by name").await;
}
