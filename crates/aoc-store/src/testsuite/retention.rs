//! Retention of imported evidence: an import of last year's records is kept for the retention
//! period counted from the import, with its tags and comments, while collected events of the
//! same days go.

use chrono::{Duration, Utc};

use aoc_model::{Author, CommentBody, EventQuery, Tag};

use super::data::{base_time, varied_events};
use crate::{EventRef, IMPORT_SOURCE, Store};

pub async fn imported_events_stay_for_the_retention_from_their_import(store: &dyn Store) {
    // Twenty events of one old month (PostgreSQL would drop its partition whole), half of them
    // collected, half imported today.
    let mut events = varied_events(20);
    for (i, event) in events.iter_mut().enumerate() {
        event.timestamp = base_time() - Duration::days(45) + Duration::minutes(i as i64);
        if i % 2 == 1 {
            event.source = IMPORT_SOURCE.into();
        }
    }
    store.insert_events(&events).await.expect("insert");
    let imported = &events[1];
    let analyst = Author::new("analyst", None);
    store
        .add_tag(
            EventRef::from(imported),
            &Tag::parse("evidence").expect("tag"),
            &analyst,
            Utc::now(),
        )
        .await
        .expect("tag");
    let body = CommentBody::parse("From the 2024 Purview export.").expect("body");
    store
        .add_comment(EventRef::from(imported), &analyst, &body, Utc::now())
        .await
        .expect("comment");

    let cutoff = Utc::now() - Duration::days(90);
    assert_eq!(
        store.delete_events_before(cutoff).await.expect("retention"),
        10,
        "the collected half goes"
    );
    let left = super::collect_pages(store, &EventQuery::default()).await;
    assert_eq!(left.len(), 10);
    assert!(left.iter().all(|e| e.source == IMPORT_SOURCE));
    assert_eq!(store.event_tags(imported.id).await.expect("tags").len(), 1);
    assert_eq!(
        store
            .event_comments(imported.id)
            .await
            .expect("comments")
            .len(),
        1
    );
    assert_eq!(store.delete_events_before(cutoff).await.expect("again"), 0);

    // Once the import itself is older than the retention, they go too, with their annotations.
    let later = Utc::now() + Duration::minutes(1);
    assert_eq!(
        store.delete_events_before(later).await.expect("retention"),
        10
    );
    assert_eq!(store.count_events().await.expect("count"), 0);
    assert!(
        store
            .event_tags(imported.id)
            .await
            .expect("tags")
            .is_empty()
    );
    assert!(
        store
            .event_comments(imported.id)
            .await
            .expect("comments")
            .is_empty()
    );
}
