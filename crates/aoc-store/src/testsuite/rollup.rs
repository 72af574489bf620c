//! Figures and facets from the rollup (`event_rollup`): the same answers as counting the
//! events, for ranges that start and end anywhere (inside an hour, on a day, open), at every
//! timeline interval, and after deletes and retention have taken events away.

use chrono::Duration;

use aoc_model::{AggregateSpec, EventId, EventQuery, Facet, TenantId};

use super::data::{base_time, varied_events};
use super::{collect_pages, expected_aggregates, expected_facet};
use crate::{Store, StoreError};

async fn assert_figures_are_exact(store: &dyn Store, queries: &[EventQuery]) {
    let stored = collect_pages(store, &EventQuery::default()).await;
    for query in queries {
        for interval in [
            None,
            Some(60),
            Some(900),
            Some(3_600),
            Some(10_800),
            Some(86_400),
        ] {
            let spec = AggregateSpec {
                interval_seconds: interval,
                top: 4,
            };
            match store.aggregate_events(query, &spec).await {
                Ok(got) => assert_eq!(
                    got,
                    expected_aggregates(&stored, query, &spec),
                    "{query:?} every {interval:?}"
                ),
                // Too many buckets for the range: refused alike on every path.
                Err(StoreError::InvalidArgument {
                    field: "interval", ..
                }) => assert!(interval.is_some_and(|i| i < 900), "{query:?}"),
                Err(e) => panic!("{query:?}: {e}"),
            }
        }
        let got = store.facets(query, &Facet::ALL, 4).await.expect("facets");
        for (facet, values) in got {
            let want = expected_facet(&stored, query, facet, 4);
            assert_eq!(values, want, "{query:?}, facet {}", facet.name());
        }
    }
}

pub async fn figures_from_the_rollup_equal_counting_the_events(store: &dyn Store) {
    // 600 events, one every 7 minutes: about three days.
    let events = varied_events(600);
    store.insert_events(&events).await.expect("insert");
    let at = |minutes: i64| Some(base_time() + Duration::minutes(minutes));
    let range = |from, to| EventQuery {
        from,
        to,
        ..EventQuery::default()
    };
    let queries = [
        range(None, None),
        range(at(0), at(24 * 60)),
        range(at(17), at(50 * 60 + 13)),
        range(at(-600), None),
        range(None, at(30 * 60 + 1)),
        range(at(61), at(119)),
        range(at(24 * 60), at(48 * 60)),
        range(at(5), at(6)),
        range(at(23 * 60 + 59), at(48 * 60 + 1)),
        EventQuery {
            tenant: Some(TenantId::new(events[0].tenant_id.as_str())),
            ..range(at(90), None)
        },
        EventQuery {
            tenant: Some(TenantId::new("another-tenant")),
            ..range(None, None)
        },
    ];
    assert_figures_are_exact(store, &queries).await;

    // Deletes and retention take their events out of the counts.
    let gone: Vec<EventId> = events.iter().step_by(9).map(|e| e.id).collect();
    store.delete_events(&gone).await.expect("delete");
    let cutoff = base_time() + Duration::hours(26) + Duration::minutes(3);
    assert!(store.delete_events_before(cutoff).await.expect("retention") > 0);
    assert_figures_are_exact(store, &queries[..4]).await;
    // Stored again, counted again, once.
    store.insert_events(&events).await.expect("again");
    store.insert_events(&events).await.expect("and again");
    assert_figures_are_exact(store, &queries[..3]).await;
}
