//! `aoc dedupe`: removes events that are the same record stored twice under different keys.
//!
//! New events cannot be stored twice: the store is unique on (tenant, dedupe key). Duplicates
//! come from keys computed differently in the past (an older AOC, or data carried over from the
//! predecessor). This recomputes every event's key from its raw record with today's rules and
//! keeps the first-stored event of each (tenant, key).

use std::collections::HashSet;

use aoc_model::{EventId, Seq};
use aoc_normalize::{dedupe_key, detect_kind};

use crate::cli::{DedupeArgs, GlobalArgs};
use crate::config::DatabaseUrl;
use crate::storage;

const PAGE: u32 = 5_000;

pub async fn run(global: &GlobalArgs, args: DedupeArgs) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    // One 16-byte id per distinct record: about 50 bytes an event with the set's overhead.
    let mut seen: HashSet<EventId> = HashSet::new();
    let mut duplicates = Vec::new();
    let mut after: Option<Seq> = None;
    let mut scanned = 0u64;
    loop {
        let page = store.events_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            scanned += 1;
            let key = dedupe_key(detect_kind(&event.raw), &event.raw);
            if !seen.insert(EventId::derive(&event.tenant_id, &key)) {
                duplicates.push(event.id);
            }
        }
    }
    let removed = if args.dry_run {
        0
    } else {
        store.delete_events(&duplicates).await?
    };
    tracing::info!(
        scanned,
        duplicates = duplicates.len(),
        removed,
        dry_run = args.dry_run,
        "dedupe finished"
    );
    if args.dry_run {
        println!(
            "{} duplicate events found (dry run, nothing removed)",
            duplicates.len()
        );
    } else {
        println!("{removed} duplicate events removed");
    }
    Ok(())
}
