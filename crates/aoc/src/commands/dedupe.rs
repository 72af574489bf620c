//! `aoc dedupe`: removes events that are the same record stored twice under different keys.
//!
//! New events cannot be stored twice: the store is unique on (tenant, dedupe key). Duplicates
//! come from keys computed differently in the past (an older AOC, or data carried over from the
//! predecessor). This recomputes every event's key from its raw record with today's rules and
//! keeps the first-stored event of each (tenant, key).
//!
//! Memory stays bounded whatever the number of events: the keys are split by their hash into
//! passes, each pass reading every event in commit order and holding only its share of the keys
//! (about [`BYTES_PER_KEY`] each), so ten million events within 64 MB take eight passes.

use std::collections::HashSet;

use aoc_model::{EventId, Seq};
use aoc_normalize::{dedupe_key, detect_kind};
use aoc_store::Store;

use crate::cli::{DedupeArgs, GlobalArgs};
use crate::config::DatabaseUrl;
use crate::storage;

const PAGE: u32 = 5_000;
/// What one key costs in a pass's set: 16 bytes and the set's overhead.
const BYTES_PER_KEY: u64 = 64;

pub async fn run(global: &GlobalArgs, args: DedupeArgs) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    let stored = store.count_events().await?;
    let passes = match args.passes {
        Some(passes) => passes.max(1),
        None => {
            let keys_per_pass = (args.memory_mb.max(1) * 1024 * 1024 / BYTES_PER_KEY).max(1);
            stored.div_ceil(keys_per_pass).max(1)
        }
    };
    let (mut scanned, mut found, mut removed) = (0u64, 0u64, 0u64);
    for pass in 0..passes {
        let outcome = one_pass(&*store, pass, passes).await?;
        scanned = outcome.scanned;
        found += outcome.duplicates.len() as u64;
        if !args.dry_run {
            removed += store.delete_events(&outcome.duplicates).await?;
        }
    }
    tracing::info!(
        scanned,
        passes,
        duplicates = found,
        removed,
        dry_run = args.dry_run,
        "dedupe finished"
    );
    if args.dry_run {
        println!("{found} duplicate events found (dry run, nothing removed)");
    } else {
        println!("{removed} duplicate events removed");
    }
    Ok(())
}

struct Pass {
    scanned: u64,
    duplicates: Vec<EventId>,
}

/// The duplicates among the events whose recomputed id falls in pass `pass` of `passes`.
async fn one_pass(store: &dyn Store, pass: u64, passes: u64) -> anyhow::Result<Pass> {
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
            let id = EventId::derive(&event.tenant_id, &key);
            if share(&id, passes) != pass {
                continue;
            }
            if !seen.insert(id) {
                duplicates.push(event.id);
            }
        }
    }
    Ok(Pass {
        scanned,
        duplicates,
    })
}

/// Which pass a recomputed id belongs to: copies of one record share it.
fn share(id: &EventId, passes: u64) -> u64 {
    let bytes = id.as_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(first) % passes
}
