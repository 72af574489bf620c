//! Saved searches: each person's own and the shared ones, newest first, kept as written.

use chrono::{Duration, Utc};

use aoc_model::Author;

use crate::{NewSavedSearch, Store};

pub async fn saved_searches_are_personal_or_shared(store: &dyn Store) {
    let ana = Author::new("ana-oid", Some("Ana".into()));
    let bo = Author::new("bo-oid", None);
    let at = Utc::now();
    let save =
        |name: &str, query: &str, shared: bool, owner: &Author, minutes: i64| NewSavedSearch {
            name: name.into(),
            query: query.into(),
            shared,
            owner: owner.clone(),
            at: at + Duration::minutes(minutes),
        };
    let mine = store
        .save_search(&save(
            "Ravi today",
            "range=today&actor=ravi",
            false,
            &ana,
            0,
        ))
        .await
        .expect("save");
    assert_eq!(mine.name, "Ravi today");
    assert_eq!(mine.query, "range=today&actor=ravi");
    assert!(!mine.shared);
    assert_eq!(mine.owner, ana);
    let shared = store
        .save_search(&save(
            "Forwarding, March",
            "from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z&q=forwarding",
            true,
            &bo,
            1,
        ))
        .await
        .expect("save");
    let bos = store
        .save_search(&save("Bo's own", "hours=24\u{0}", false, &bo, 2))
        .await
        .expect("save");
    assert_eq!(
        bos.query, "hours=24\u{FFFD}",
        "NUL is stored as U+FFFD, like every text"
    );

    let names =
        |list: Vec<crate::SavedSearch>| list.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.saved_searches("ana-oid").await.expect("list")),
        ["Forwarding, March", "Ravi today"],
        "Ana's own and the shared one, newest first"
    );
    assert_eq!(
        names(store.saved_searches("bo-oid").await.expect("list")),
        ["Bo's own", "Forwarding, March"]
    );
    assert_eq!(
        store.get_saved_search(shared.id).await.expect("get"),
        Some(shared.clone())
    );
    assert!(store.delete_saved_search(mine.id).await.expect("delete"));
    assert!(!store.delete_saved_search(mine.id).await.expect("again"));
    assert_eq!(store.get_saved_search(mine.id).await.expect("get"), None);
}
