//! Behaviour of the collector state ([`crate::FetchStateStore`]): commits, watermarks, the
//! content ledger, coverage, source health and leases.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use aoc_model::{Event, TenantId};

use super::data::{TENANTS, base_time, varied_events};
use crate::{
    ContentRef, ContentStatus, CoverageQuery, CoverageRow, FetchCommit, RunRecord, SourceProblem,
    SourceState, Store,
};

const SOURCE: &str = "o365.Audit.Exchange";

fn tenant() -> TenantId {
    TenantId::new(TENANTS[0])
}

fn commit<'a>(tenant: &'a TenantId, events: &'a [Event]) -> FetchCommit<'a> {
    FetchCommit {
        tenant,
        source: SOURCE,
        events,
        available_at: None,
        content_id: None,
        watermark: None,
    }
}

/// Distinct events at these minutes after [`base_time`].
fn events_at(minutes: &[i64]) -> Vec<Event> {
    let mut events = varied_events(minutes.len());
    assert_eq!(events.len(), minutes.len(), "fixtures normalize");
    for (event, minute) in events.iter_mut().zip(minutes) {
        event.timestamp = base_time() + Duration::minutes(*minute);
    }
    events
}

fn at(minutes: i64) -> DateTime<Utc> {
    base_time() + Duration::minutes(minutes)
}

fn blob(id: &str, created: DateTime<Utc>) -> ContentRef {
    ContentRef {
        id: id.to_owned(),
        created,
        expires: Some(created + Duration::days(7)),
    }
}

async fn ingested_at(store: &dyn Store, event: &Event) -> DateTime<Utc> {
    store
        .get_event(event.id)
        .await
        .expect("get")
        .and_then(|e| e.ingested_at)
        .expect("stored, with its ingestion time")
}

fn seconds(d: Duration) -> f64 {
    d.num_microseconds().expect("small") as f64 / 1e6
}

#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-3, "{what}: got {got}, want {want}");
}

async fn coverage(store: &dyn Store, query: CoverageQuery) -> Vec<CoverageRow> {
    store.coverage(&query).await.expect("coverage")
}

async fn state(store: &dyn Store, tenant: &TenantId, source: &str) -> SourceState {
    store
        .source_states()
        .await
        .expect("states")
        .into_iter()
        .find(|s| &s.tenant_id == tenant && s.source == source)
        .expect("a state for the source")
}

pub async fn commit_fetch_stores_events_and_reports_new(store: &dyn Store) {
    let t = tenant();
    let events = varied_events(30);
    let report = store
        .commit_fetch(&commit(&t, &events[..20]))
        .await
        .expect("commit");
    assert_eq!((report.new, report.duplicate), (20, 0));
    // Overlap with the first commit, and repeats within the batch.
    let mut batch = events[10..].to_vec();
    batch.extend(events[25..].iter().cloned());
    let report = store
        .commit_fetch(&commit(&t, &batch))
        .await
        .expect("commit");
    assert_eq!((report.new, report.duplicate), (10, 15));
    assert_eq!(store.count_events().await.expect("count"), 30);
    // Stored as insert_events stores them: one copy, a seq, an ingestion time.
    let report = store.insert_events(&events).await.expect("insert");
    assert_eq!((report.new, report.duplicate), (0, 30));
    let stored = store.events_after(None, 100).await.expect("feed");
    assert_eq!(stored.len(), 30);
    assert!(stored.iter().all(|e| e.ingested_at.is_some()));
    let seqs: Vec<i64> = stored.iter().filter_map(|e| e.seq.map(|s| s.0)).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Nothing but events: no watermark, no source state.
    assert_eq!(store.watermark(&t, SOURCE).await.expect("watermark"), None);
    assert!(store.source_states().await.expect("states").is_empty());
}

pub async fn watermark_only_moves_forward(store: &dyn Store) {
    let t = tenant();
    let other = TenantId::new(TENANTS[1]);
    assert_eq!(store.watermark(&t, SOURCE).await.expect("watermark"), None);
    let events = events_at(&[1, 2, 3]);
    let micro = Duration::microseconds(123_457);
    let report = store
        .commit_fetch(&FetchCommit {
            watermark: Some(at(60) + micro),
            ..commit(&t, &events)
        })
        .await
        .expect("commit");
    assert_eq!(report.new, 3);
    assert_eq!(
        store.watermark(&t, SOURCE).await.expect("watermark"),
        Some(at(60) + micro),
        "set with the events, to the microsecond"
    );
    // An earlier watermark (an overlapping window) leaves it where it is.
    store
        .commit_fetch(&FetchCommit {
            watermark: Some(at(30)),
            ..commit(&t, &events)
        })
        .await
        .expect("commit");
    assert_eq!(
        store.watermark(&t, SOURCE).await.expect("watermark"),
        Some(at(60) + micro)
    );
    // No watermark: unchanged.
    store
        .commit_fetch(&commit(&t, &events[..1]))
        .await
        .expect("commit");
    assert_eq!(
        store.watermark(&t, SOURCE).await.expect("watermark"),
        Some(at(60) + micro)
    );
    // An empty window still moves it, and stores nothing.
    let report = store
        .commit_fetch(&FetchCommit {
            watermark: Some(at(120)),
            ..commit(&t, &[])
        })
        .await
        .expect("empty commit");
    assert_eq!((report.new, report.duplicate), (0, 0));
    assert_eq!(
        store.watermark(&t, SOURCE).await.expect("watermark"),
        Some(at(120))
    );
    assert_eq!(store.count_events().await.expect("count"), 3);
    // Per tenant and source.
    assert_eq!(
        store.watermark(&t, "graph.sign_ins").await.expect("wm"),
        None
    );
    assert_eq!(store.watermark(&other, SOURCE).await.expect("wm"), None);
    let s = state(store, &t, SOURCE).await;
    assert_eq!(s.watermark, Some(at(120)));
    assert_eq!(
        (s.last_attempt, s.last_success, &s.last_error),
        (None, None, &None)
    );
}

pub async fn coverage_counts_records_by_the_hour(store: &dyn Store) {
    let t = tenant();
    // Hour 0: minutes 10 and 50; hour 1: minutes 65 and 70.
    let events = events_at(&[10, 50, 65, 70]);
    let available = at(60);
    let first = store
        .commit_fetch(&FetchCommit {
            available_at: Some(available),
            ..commit(&t, &events[..3])
        })
        .await
        .expect("commit");
    assert_eq!(first.new, 3);
    // A repeat of 50 and 65, 70 twice; the source does not say when they became available.
    let mut batch = events[1..].to_vec();
    batch.push(events[3].clone());
    let second = store
        .commit_fetch(&commit(&t, &batch))
        .await
        .expect("commit");
    assert_eq!((second.new, second.duplicate), (1, 3));
    let ingested_first = ingested_at(store, &events[0]).await;
    let ingested_second = ingested_at(store, &events[3]).await;

    let rows = coverage(store, CoverageQuery::default()).await;
    let hours: Vec<_> = rows.iter().map(|r| r.hour).collect();
    assert_eq!(hours, vec![at(0), at(60)]);
    for row in &rows {
        assert_eq!((&row.tenant_id, row.source.as_str()), (&t, SOURCE));
        assert_eq!(
            (row.content_listed, row.content_fetched, row.content_expired),
            (0, 0, 0)
        );
    }
    let (h0, h1) = (&rows[0], &rows[1]);
    // Fetched counts every copy; stored counts the new ones once.
    assert_eq!((h0.records_fetched, h0.records_stored), (3, 2));
    assert_eq!((h1.records_fetched, h1.records_stored), (4, 2));
    // Available 50 and 10 minutes after the event; the event after `available` counts 0.
    assert_eq!(h0.available_delay.count, 2);
    assert_close(h0.available_delay.mean_seconds, 1800.0, "h0 available mean");
    assert_close(h0.available_delay.max_seconds, 3000.0, "h0 available max");
    assert_eq!(h1.available_delay.count, 1);
    assert_close(h1.available_delay.mean_seconds, 0.0, "h1 available mean");
    assert_close(h1.available_delay.max_seconds, 0.0, "h1 available max");
    // Stored: ingestion time minus event time, over the new records.
    let d0 = [
        seconds(ingested_first - at(10)),
        seconds(ingested_first - at(50)),
    ];
    assert_eq!(h0.stored_delay.count, 2);
    assert_close(
        h0.stored_delay.mean_seconds,
        (d0[0] + d0[1]) / 2.0,
        "h0 mean",
    );
    assert_close(h0.stored_delay.max_seconds, d0[0], "h0 max");
    let d1 = [
        seconds(ingested_first - at(65)),
        seconds(ingested_second - at(70)),
    ];
    assert_eq!(h1.stored_delay.count, 2);
    assert_close(
        h1.stored_delay.mean_seconds,
        (d1[0] + d1[1]) / 2.0,
        "h1 mean",
    );
    assert_close(h1.stored_delay.max_seconds, d1[0].max(d1[1]), "h1 max");

    // A commit of repeats only: fetched grows, nothing else.
    store
        .commit_fetch(&commit(&t, &events[..1]))
        .await
        .expect("commit");
    let again = coverage(store, CoverageQuery::default()).await;
    assert_eq!((again[0].records_fetched, again[0].records_stored), (4, 2));
    assert_eq!(again[0].stored_delay, h0.stored_delay);

    // Filters: source, tenant, and hours starting within [from, to).
    let other = TenantId::new(TENANTS[1]);
    let more = events_at(&[10, 11, 12, 13, 14, 15, 16]);
    store
        .commit_fetch(&FetchCommit {
            source: "graph.sign_ins",
            ..commit(&other, &more[5..])
        })
        .await
        .expect("commit");
    let all = coverage(store, CoverageQuery::default()).await;
    let keys: Vec<_> = all
        .iter()
        .map(|r| (r.tenant_id.as_str(), r.source.as_str(), r.hour))
        .collect();
    // Ordered by tenant, source, hour (TENANTS[1] sorts first).
    assert_eq!(
        keys,
        vec![
            (TENANTS[1], "graph.sign_ins", at(0)),
            (TENANTS[0], SOURCE, at(0)),
            (TENANTS[0], SOURCE, at(60)),
        ]
    );
    let only = |query: CoverageQuery| async move {
        coverage(store, query)
            .await
            .into_iter()
            .map(|r| (r.source, r.hour))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(CoverageQuery {
            source: Some("graph.sign_ins".into()),
            ..CoverageQuery::default()
        })
        .await,
        vec![("graph.sign_ins".to_owned(), at(0))]
    );
    assert_eq!(
        only(CoverageQuery {
            tenant: Some(t.clone()),
            from: Some(at(1)),
            ..CoverageQuery::default()
        })
        .await,
        vec![(SOURCE.to_owned(), at(60))],
        "the hour starting before `from` is left out"
    );
    assert_eq!(
        only(CoverageQuery {
            tenant: Some(t.clone()),
            from: Some(at(0)),
            to: Some(at(60)),
            ..CoverageQuery::default()
        })
        .await,
        vec![(SOURCE.to_owned(), at(0))]
    );
    assert!(
        only(CoverageQuery {
            tenant: Some(TenantId::new("nobody")),
            ..CoverageQuery::default()
        })
        .await
        .is_empty()
    );
}

pub async fn coverage_counts_content_by_the_hour_it_became_available(store: &dyn Store) {
    let t = tenant();
    let listed = [blob("b1", at(10)), blob("b2", at(20)), blob("b3", at(125))];
    let statuses = store.list_content(&t, SOURCE, &listed).await.expect("list");
    assert_eq!(statuses, vec![ContentStatus::Listed; 3]);
    // b1 fetched: its records are from minutes 1 and 2, so hour 0 has both kinds.
    let b1_events = events_at(&[1, 2]);
    store
        .commit_fetch(&FetchCommit {
            available_at: Some(at(10)),
            content_id: Some("b1"),
            ..commit(&t, &b1_events)
        })
        .await
        .expect("commit b1");
    store
        .mark_content_expired(&t, SOURCE, "b2")
        .await
        .expect("expire");
    // A blob fetched without having been listed: recorded as available at `available_at`.
    let late_events = events_at(&[301, 302, 303]);
    store
        .commit_fetch(&FetchCommit {
            available_at: Some(at(181)),
            content_id: Some("unlisted"),
            ..commit(&t, &late_events[2..])
        })
        .await
        .expect("commit unlisted");

    let rows = coverage(store, CoverageQuery::default()).await;
    let figures: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.hour,
                r.records_fetched,
                r.content_listed,
                r.content_fetched,
                r.content_expired,
            )
        })
        .collect();
    assert_eq!(
        figures,
        vec![
            (at(0), 2, 0, 1, 1),
            (at(120), 0, 1, 0, 0),
            (at(180), 0, 0, 1, 0),
            (at(300), 1, 0, 0, 0),
        ]
    );
    // A content-only hour has no delays.
    assert_eq!(rows[1].stored_delay.count, 0);
    assert_close(rows[1].stored_delay.mean_seconds, 0.0, "no records");
    // Hours starting within [from, to) for content too: b3 (2:05) is in the hour of 2:00.
    let hours = |from: DateTime<Utc>, to: DateTime<Utc>| async move {
        coverage(
            store,
            CoverageQuery {
                from: Some(from),
                to: Some(to),
                ..CoverageQuery::default()
            },
        )
        .await
        .into_iter()
        .map(|r| r.hour)
        .collect::<Vec<_>>()
    };
    assert_eq!(hours(at(120), at(181)).await, vec![at(120), at(180)]);
    assert_eq!(hours(at(121), at(181)).await, vec![at(180)]);
    assert_eq!(hours(at(0), at(180)).await, vec![at(0), at(120)]);

    // Without `available_at`, a blob counts in the hour it was fetched.
    let before = Utc::now();
    store
        .commit_fetch(&FetchCommit {
            source: "o365.Audit.SharePoint",
            content_id: Some("now"),
            ..commit(&t, &late_events[..1])
        })
        .await
        .expect("commit");
    let now_rows = coverage(
        store,
        CoverageQuery {
            source: Some("o365.Audit.SharePoint".into()),
            from: Some(before - Duration::hours(2)),
            ..CoverageQuery::default()
        },
    )
    .await;
    assert_eq!(now_rows.len(), 1, "{now_rows:?}");
    assert_eq!(now_rows[0].content_fetched, 1);
    assert!(now_rows[0].hour <= Utc::now() && now_rows[0].hour > before - Duration::hours(1));
}

pub async fn list_content_keeps_statuses(store: &dyn Store) {
    let t = tenant();
    assert!(
        store
            .list_content(&t, SOURCE, &[])
            .await
            .expect("empty listing")
            .is_empty()
    );
    // Hundreds of blobs, as a day's listing has.
    let listed: Vec<ContentRef> = (0..700)
        .map(|i| blob(&format!("blob-{i}"), at(i)))
        .collect();
    let statuses = store.list_content(&t, SOURCE, &listed).await.expect("list");
    assert_eq!(statuses, vec![ContentStatus::Listed; 700]);
    let events = events_at(&[1, 2]);
    store
        .commit_fetch(&FetchCommit {
            content_id: Some("blob-3"),
            available_at: Some(at(3)),
            ..commit(&t, &events)
        })
        .await
        .expect("commit");
    store
        .mark_content_expired(&t, SOURCE, "blob-5")
        .await
        .expect("expire");
    let relisted = [
        blob("blob-5", at(5)),
        blob("blob-3", at(3)),
        blob("new-1", at(800)),
        blob("blob-0", at(0)),
        blob("blob-3", at(3)),
    ];
    let statuses = store
        .list_content(&t, SOURCE, &relisted)
        .await
        .expect("list again");
    use ContentStatus::{Expired, Fetched, Listed};
    assert_eq!(statuses, vec![Expired, Fetched, Listed, Listed, Fetched]);
    // The ledger is per tenant and source.
    let other = store
        .list_content(&t, "o365.Audit.General", &relisted[..2])
        .await
        .expect("other source");
    assert_eq!(other, vec![Listed, Listed]);
    let other = store
        .list_content(&TenantId::new(TENANTS[1]), SOURCE, &relisted[..2])
        .await
        .expect("other tenant");
    assert_eq!(other, vec![Listed, Listed]);
    // Every blob once, in its status.
    let rows = coverage(
        store,
        CoverageQuery {
            tenant: Some(t.clone()),
            source: Some(SOURCE.into()),
            ..CoverageQuery::default()
        },
    )
    .await;
    let sum = |f: fn(&CoverageRow) -> u64| rows.iter().map(f).sum::<u64>();
    assert_eq!(sum(|r| r.content_listed), 699);
    assert_eq!(sum(|r| r.content_fetched), 1);
    assert_eq!(sum(|r| r.content_expired), 1);
}

pub async fn mark_content_expired_records_the_gap(store: &dyn Store) {
    let t = tenant();
    // Never listed (the listing was lost): recorded all the same.
    store
        .mark_content_expired(&t, SOURCE, "ghost")
        .await
        .expect("expire unknown");
    store
        .list_content(&t, SOURCE, &[blob("listed", at(0))])
        .await
        .expect("list");
    store
        .mark_content_expired(&t, SOURCE, "listed")
        .await
        .expect("expire listed");
    store
        .mark_content_expired(&t, SOURCE, "listed")
        .await
        .expect("expire twice");
    let statuses = store
        .list_content(&t, SOURCE, &[blob("ghost", at(0)), blob("listed", at(0))])
        .await
        .expect("list");
    assert_eq!(statuses, vec![ContentStatus::Expired; 2]);
    let rows = coverage(store, CoverageQuery::default()).await;
    assert_eq!(rows.iter().map(|r| r.content_expired).sum::<u64>(), 2);
    assert_eq!(rows.iter().map(|r| r.content_listed).sum::<u64>(), 0);
}

pub async fn record_run_keeps_source_health(store: &dyn Store) {
    let t = tenant();
    let tenant = &t;
    let source = "graph.sign_ins";
    let time = |minutes: i64| at(minutes) + Duration::microseconds(654_321);
    let record = |run: RunRecord| async move {
        store
            .record_run(tenant, source, &run)
            .await
            .expect("record");
        state(store, tenant, source).await
    };
    let s = record(RunRecord::Started { at: time(1) }).await;
    assert_eq!(s.last_attempt, Some(time(1)));
    assert_eq!(
        (s.last_success, &s.last_error, s.watermark),
        (None, &None, None)
    );
    assert_eq!((s.last_run_fetched, s.last_run_new), (0, 0));

    let s = record(RunRecord::Succeeded {
        at: time(2),
        fetched: 10,
        new: 7,
        problem: None,
    })
    .await;
    assert_eq!(
        (s.last_attempt, s.last_success),
        (Some(time(1)), Some(time(2)))
    );
    assert_eq!((s.last_run_fetched, s.last_run_new), (10, 7));
    assert_eq!(s.last_error, None);

    store
        .record_run(&t, source, &RunRecord::Started { at: time(3) })
        .await
        .expect("record");
    let denied = SourceProblem {
        at: time(4),
        code: Some("Authorization_RequestDenied".into()),
        message: "Insufficient privileges to complete the operation.".into(),
    };
    let s = record(RunRecord::Failed {
        fetched: 3,
        new: 1,
        problem: denied.clone(),
    })
    .await;
    assert_eq!(s.last_attempt, Some(time(3)));
    assert_eq!(s.last_success, Some(time(2)), "the last success stays");
    assert_eq!(s.last_error, Some(denied.clone()));
    assert_eq!((s.last_run_fetched, s.last_run_new), (3, 1));

    // A success without a problem leaves the last error in place, older than the success.
    let s = record(RunRecord::Succeeded {
        at: time(5),
        fetched: 5,
        new: 5,
        problem: None,
    })
    .await;
    assert_eq!(s.last_success, Some(time(5)));
    assert_eq!(s.last_error, Some(denied));
    assert_eq!((s.last_run_fetched, s.last_run_new), (5, 5));

    // A success that had to skip something reports it, replacing the old error entirely.
    let gap = SourceProblem {
        at: time(6),
        code: None,
        message: "content blob expired before it was fetched".into(),
    };
    let s = record(RunRecord::Succeeded {
        at: time(6),
        fetched: 0,
        new: 0,
        problem: Some(gap.clone()),
    })
    .await;
    assert_eq!(s.last_error, Some(gap));
    assert_eq!((s.last_run_fetched, s.last_run_new), (0, 0));

    // A failure without a code clears the old code.
    let timeout = SourceProblem {
        at: time(7),
        code: Some("http_timeout".into()),
        message: "no answer in 60 s".into(),
    };
    record(RunRecord::Failed {
        fetched: 0,
        new: 0,
        problem: timeout,
    })
    .await;
    let plain = SourceProblem {
        at: time(8),
        code: None,
        message: "connection reset".into(),
    };
    let s = record(RunRecord::Failed {
        fetched: 2,
        new: 0,
        problem: plain.clone(),
    })
    .await;
    assert_eq!(s.last_error, Some(plain));
    assert_eq!(s.last_success, Some(time(6)));

    // Every source that ran or holds a watermark, by tenant and source.
    let other = TenantId::new(TENANTS[1]);
    for (tenant, source) in [(&other, "z.source"), (&t, "a.source"), (&other, "a.source")] {
        store
            .record_run(tenant, source, &RunRecord::Started { at: time(9) })
            .await
            .expect("record");
    }
    store
        .commit_fetch(&FetchCommit {
            source: "m.source",
            watermark: Some(time(9)),
            ..commit(&other, &[])
        })
        .await
        .expect("watermark only");
    let keys: Vec<(String, String)> = store
        .source_states()
        .await
        .expect("states")
        .into_iter()
        .map(|s| (s.tenant_id.as_str().to_owned(), s.source))
        .collect();
    let mut want = vec![
        (TENANTS[0].to_owned(), "graph.sign_ins".to_owned()),
        (TENANTS[1].to_owned(), "z.source".to_owned()),
        (TENANTS[0].to_owned(), "a.source".to_owned()),
        (TENANTS[1].to_owned(), "a.source".to_owned()),
        (TENANTS[1].to_owned(), "m.source".to_owned()),
    ];
    want.sort();
    assert_eq!(keys, want);
    let m = state(store, &other, "m.source").await;
    assert_eq!((m.watermark, m.last_attempt), (Some(time(9)), None));
}

pub async fn prune_fetch_state_forgets_old_hours_and_blobs(store: &dyn Store) {
    let t = tenant();
    let events = events_at(&[5, 65, 185]);
    store
        .commit_fetch(&FetchCommit {
            watermark: Some(at(200)),
            ..commit(&t, &events)
        })
        .await
        .expect("commit");
    store
        .record_run(&t, SOURCE, &RunRecord::Started { at: at(1) })
        .await
        .expect("record");
    let listed = [
        blob("old", at(30)),
        blob("mid", at(130)),
        blob("new", at(240)),
    ];
    store.list_content(&t, SOURCE, &listed).await.expect("list");
    // Hours 0 and 1 (records) and the blob of 0:30 go.
    assert_eq!(store.prune_fetch_state(at(120)).await.expect("prune"), 3);
    let hours: Vec<_> = coverage(store, CoverageQuery::default())
        .await
        .into_iter()
        .map(|r| r.hour)
        .collect();
    assert_eq!(hours, vec![at(120), at(180), at(240)]);
    assert_eq!(store.prune_fetch_state(at(120)).await.expect("again"), 0);
    // A forgotten blob is new again; the others keep their place.
    let statuses = store.list_content(&t, SOURCE, &listed).await.expect("list");
    assert_eq!(statuses, vec![ContentStatus::Listed; 3]);
    // Events, watermarks and health are not fetch-state retention's business.
    assert_eq!(store.count_events().await.expect("count"), 3);
    assert_eq!(
        store.watermark(&t, SOURCE).await.expect("watermark"),
        Some(at(200))
    );
    assert_eq!(state(store, &t, SOURCE).await.last_attempt, Some(at(1)));
}

pub async fn leases_are_exclusive_until_they_expire(store: &dyn Store) {
    let long = StdDuration::from_secs(60);
    let name = "collector:o365";
    assert!(
        store
            .try_acquire_lease(name, "a", long)
            .await
            .expect("take")
    );
    assert!(
        !store
            .try_acquire_lease(name, "b", long)
            .await
            .expect("refuse")
    );
    assert!(
        store
            .try_acquire_lease(name, "a", long)
            .await
            .expect("renew")
    );
    // Another name is another lease.
    assert!(
        store
            .try_acquire_lease("collector:graph", "b", long)
            .await
            .expect("other name")
    );
    // Only the holder can give it up.
    store.release_lease(name, "b").await.expect("release");
    assert!(
        !store
            .try_acquire_lease(name, "b", long)
            .await
            .expect("still a's")
    );
    store.release_lease(name, "a").await.expect("release");
    assert!(
        store
            .try_acquire_lease(name, "b", long)
            .await
            .expect("free")
    );
    assert!(
        !store
            .try_acquire_lease(name, "a", long)
            .await
            .expect("b's now")
    );

    // An expired lease is free for anyone; its old holder has lost it.
    let short = StdDuration::from_millis(200);
    assert!(
        store
            .try_acquire_lease("brief", "a", short)
            .await
            .expect("take")
    );
    assert!(
        !store
            .try_acquire_lease("brief", "b", long)
            .await
            .expect("refuse")
    );
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert!(
        store
            .try_acquire_lease("brief", "b", long)
            .await
            .expect("expired")
    );
    assert!(
        !store
            .try_acquire_lease("brief", "a", long)
            .await
            .expect("lost")
    );
}

/// Eight contenders at once; how many got the lease.
async fn race(store: &dyn Store, name: &str, round: &str) -> usize {
    let ttl = StdDuration::from_secs(60);
    let holders: Vec<String> = (0..8).map(|i| format!("{round}-{i}")).collect();
    let take = |i: usize| store.try_acquire_lease(name, &holders[i], ttl);
    let won = tokio::join!(
        take(0),
        take(1),
        take(2),
        take(3),
        take(4),
        take(5),
        take(6),
        take(7)
    );
    [won.0, won.1, won.2, won.3, won.4, won.5, won.6, won.7]
        .into_iter()
        .map(|r| r.expect("try_acquire_lease"))
        .filter(|&won| won)
        .count()
}

pub async fn a_lease_race_has_one_winner(store: &dyn Store) {
    // Nobody holds it.
    assert_eq!(race(store, "race", "first").await, 1);
    // Somebody holds it.
    assert_eq!(race(store, "race", "second").await, 0);
    // It has expired.
    assert!(
        store
            .try_acquire_lease("expiring", "old", StdDuration::from_millis(200))
            .await
            .expect("take")
    );
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(race(store, "expiring", "third").await, 1);
}

pub async fn fetch_state_text_is_harmless(store: &dyn Store) {
    let t = TenantId::new("o'brien\u{0}; DROP TABLE leases; --");
    let source = "src\"\u{0}日本語 🎉";
    store
        .commit_fetch(&FetchCommit {
            source,
            content_id: Some("blob'\u{0}%_"),
            watermark: Some(at(5)),
            ..commit(&t, &events_at(&[1]))
        })
        .await
        .expect("commit");
    assert_eq!(
        store.watermark(&t, source).await.expect("watermark"),
        Some(at(5))
    );
    let statuses = store
        .list_content(&t, source, &[blob("blob'\u{0}%_", at(0)), blob("%", at(0))])
        .await
        .expect("list");
    assert_eq!(
        statuses,
        vec![ContentStatus::Fetched, ContentStatus::Listed]
    );
    let problem = SourceProblem {
        at: at(6),
        code: Some("x'\u{0}".into()),
        message: "\u{0}'\"\\".into(),
    };
    store
        .record_run(
            &t,
            source,
            &RunRecord::Failed {
                fetched: 0,
                new: 0,
                problem,
            },
        )
        .await
        .expect("record");
    // As in event columns, NUL is kept as U+FFFD.
    let states = store.source_states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(
        states[0].tenant_id.as_str(),
        "o'brien\u{FFFD}; DROP TABLE leases; --"
    );
    assert_eq!(states[0].source, "src\"\u{FFFD}日本語 🎉");
    let error = states[0].last_error.clone().expect("error");
    assert_eq!(
        (error.code.as_deref(), error.message.as_str()),
        (Some("x'\u{FFFD}"), "\u{FFFD}'\"\\")
    );
    let rows = coverage(
        store,
        CoverageQuery {
            tenant: Some(t.clone()),
            source: Some(source.into()),
            ..CoverageQuery::default()
        },
    )
    .await;
    assert_eq!(rows.iter().map(|r| r.records_fetched).sum::<u64>(), 1);
    let lease = "lease'\u{0}";
    assert!(
        store
            .try_acquire_lease(lease, "h'\u{0}", StdDuration::from_secs(60))
            .await
            .expect("take")
    );
    store
        .release_lease(lease, "h'\u{0}")
        .await
        .expect("release");
    assert!(
        store
            .try_acquire_lease(lease, "other", StdDuration::from_secs(60))
            .await
            .expect("released")
    );
}
