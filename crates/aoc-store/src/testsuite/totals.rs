//! The stored-events figure and the data version: kept by the writes themselves, so reading
//! them never counts rows, and moved by exactly the changes a search could see.

use chrono::{Duration, Utc};

use aoc_model::{Author, EventQuery, Tag};

use super::collect_pages;
use super::data::{base_time, varied_events};
use crate::{EventRef, Store};

async fn version(store: &dyn Store) -> u64 {
    store.data_version().await.expect("data version")
}

/// `count_events` against the rows a full read finds.
async fn assert_count_is_exact(store: &dyn Store) {
    let rows = collect_pages(store, &EventQuery::default()).await.len() as u64;
    assert_eq!(store.count_events().await.expect("count"), rows);
}

pub async fn the_data_version_moves_with_every_change_and_only_then(store: &dyn Store) {
    let events = varied_events(40);
    let start = version(store).await;
    assert_count_is_exact(store).await;

    store.insert_events(&events[..30]).await.expect("insert");
    let stored = version(store).await;
    assert!(stored > start, "storing events moves the version");
    assert_count_is_exact(store).await;

    // Nothing new: the same answers hold, so the version stays.
    store.insert_events(&events[..30]).await.expect("again");
    store.insert_events(&[]).await.expect("empty");
    assert_eq!(version(store).await, stored);

    let tag = Tag::parse("reviewed").expect("tag");
    let analyst = Author::new("analyst", None);
    let target = EventRef::from(&events[3]);
    assert!(
        store
            .add_tag(target, &tag, &analyst, Utc::now())
            .await
            .expect("tag")
    );
    let tagged = version(store).await;
    assert!(tagged > stored, "a tag changes what tag: finds");
    assert!(
        !store
            .add_tag(target, &tag, &analyst, Utc::now())
            .await
            .expect("tag again")
    );
    assert_eq!(version(store).await, tagged);
    assert!(store.remove_tag(events[3].id, &tag).await.expect("untag"));
    let untagged = version(store).await;
    assert!(untagged > tagged);
    assert!(
        !store
            .remove_tag(events[3].id, &tag)
            .await
            .expect("untag again")
    );
    assert_eq!(version(store).await, untagged);

    assert_eq!(
        store
            .delete_events(&[events[0].id, events[1].id])
            .await
            .expect("delete"),
        2
    );
    let deleted = version(store).await;
    assert!(deleted > untagged);
    assert_count_is_exact(store).await;

    // Retention that finds nothing changes nothing; one that deletes moves the version.
    let before_all = base_time() - Duration::days(400);
    assert_eq!(
        store
            .delete_events_before(before_all)
            .await
            .expect("retention"),
        0
    );
    assert_eq!(version(store).await, deleted);
    let cutoff = base_time() + Duration::hours(4);
    let gone = store.delete_events_before(cutoff).await.expect("retention");
    assert!(gone > 0);
    assert!(version(store).await > deleted);
    assert_count_is_exact(store).await;

    store.insert_events(&events[30..]).await.expect("the rest");
    assert_count_is_exact(store).await;
    store.migrate().await.expect("migrate again");
    assert_count_is_exact(store).await;
}
