use aoc_model::DedupeKey;

use crate::support::{ENGINES, TestDb, stderr, stdout};

#[tokio::test]
async fn dedupe_removes_records_stored_under_stale_keys() {
    for engine in ENGINES {
        let db = TestDb::new(engine, "dedupe").await;
        let store = db.store().await;
        let events = aoc_store::testsuite::data::fixture_events();
        store.insert_events(&events).await.expect("insert");
        // Two fixture activities arrive through two paths each: one event apiece.
        let stored = store.count_events().await.expect("count");
        assert_eq!(stored, events.len() as u64 - 2);
        // The same records once more under keys an older version might have computed.
        let stale: Vec<_> = events[..4]
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.dedupe_key = DedupeKey::new(format!("legacy:{}", e.dedupe_key));
                e.refresh_id();
                e
            })
            .collect();
        store.insert_events(&stale).await.expect("insert stale");
        let before = store.count_events().await.expect("count");
        assert_eq!(before, stored + 4);

        let dry = db
            .aoc()
            .args(["dedupe", "--dry-run"])
            .output()
            .expect("run");
        assert!(
            stdout(&dry).contains("4 duplicate events found"),
            "{}{}",
            stdout(&dry),
            stderr(&dry)
        );
        assert_eq!(store.count_events().await.expect("count"), before);

        // Split into passes (as ten million events would be within --memory-mb), the same
        // duplicates are found.
        let split = db
            .aoc()
            .args(["dedupe", "--dry-run", "--passes", "3"])
            .output()
            .expect("run");
        assert!(
            stdout(&split).contains("4 duplicate events found"),
            "{}{}",
            stdout(&split),
            stderr(&split)
        );
        let refused = db
            .aoc()
            .args(["dedupe", "--memory-mb", "0"])
            .output()
            .expect("run");
        assert!(!refused.status.success());
        assert!(
            stderr(&refused).contains("--memory-mb"),
            "{}",
            stderr(&refused)
        );

        let output = db
            .aoc()
            .args(["dedupe", "--passes", "2"])
            .output()
            .expect("run");
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output).trim(), "4 duplicate events removed");
        assert_eq!(store.count_events().await.expect("count"), stored);
        // The first-stored copies are the ones kept.
        for event in &events[..4] {
            assert!(
                store.get_event(event.id).await.expect("get").is_some(),
                "{engine:?}"
            );
        }
        let again = db.aoc().arg("dedupe").output().expect("run");
        assert_eq!(stdout(&again).trim(), "0 duplicate events removed");
    }
}
