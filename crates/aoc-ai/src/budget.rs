//! The daily token budget of each caller: model calls stop for a caller whose calls today (UTC)
//! have used it up, and AOC's parser and summaries answer instead. Counted in Valkey when
//! `REDIS_URL` is set, so every server and worker draws on one budget per caller; in this
//! process otherwise, and while Valkey cannot be reached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use crate::cache::ValkeyCache;

/// How long a day's counter outlives the day in Valkey.
const COUNTER_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

/// Tokens each caller may spend per UTC day; 0: no limit.
pub struct TokenBudget {
    per_day: u64,
    spent: Mutex<HashMap<String, (NaiveDate, u64)>>,
    shared: Option<Arc<ValkeyCache>>,
}

impl TokenBudget {
    /// A budget counted in this process.
    pub fn new(per_day: u64) -> Self {
        Self {
            per_day,
            spent: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A budget counted in Valkey (through the answer cache's connection), shared by every
    /// process that uses the same Valkey and namespace.
    pub fn shared(per_day: u64, valkey: Arc<ValkeyCache>) -> Self {
        Self {
            shared: Some(valkey),
            ..Self::new(per_day)
        }
    }

    /// The counter of `caller` on `day`; the caller is hashed, so no name or id is in the key.
    fn counter_name(caller: &str, day: NaiveDate) -> String {
        format!(
            "aoc:budget:{day}:{}",
            &blake3::hash(caller.as_bytes()).to_hex()[..32]
        )
    }

    /// Whether `caller` may make another model call on `today`.
    pub async fn allows_now(&self, caller: &str, today: NaiveDate) -> bool {
        if self.per_day == 0 {
            return true;
        }
        if let Some(valkey) = &self.shared
            && let Some(spent) = valkey.counter(&Self::counter_name(caller, today)).await
        {
            return spent < self.per_day;
        }
        self.allows(caller, today)
    }

    /// Adds what a call cost, to Valkey when shared (and to this process's figures when Valkey
    /// cannot be reached, so the limit still holds here).
    pub async fn spend_now(&self, caller: &str, today: NaiveDate, tokens: u64) {
        if self.per_day == 0 {
            return;
        }
        if let Some(valkey) = &self.shared
            && valkey
                .add(&Self::counter_name(caller, today), tokens, COUNTER_TTL)
                .await
                .is_some()
        {
            return;
        }
        self.spend(caller, today, tokens);
    }

    /// The daily budget; 0 means none.
    pub fn per_day(&self) -> u64 {
        self.per_day
    }

    /// Whether `caller` may make another model call on `today`.
    pub fn allows(&self, caller: &str, today: NaiveDate) -> bool {
        self.per_day == 0 || self.spent_on(caller, today) < self.per_day
    }

    /// Tokens `caller` has spent on `today`.
    pub fn spent_on(&self, caller: &str, today: NaiveDate) -> u64 {
        self.spent
            .lock()
            .map(|spent| match spent.get(caller) {
                Some((day, tokens)) if *day == today => *tokens,
                _ => 0,
            })
            .unwrap_or(0)
    }

    /// Adds what a call cost.
    pub fn spend(&self, caller: &str, today: NaiveDate, tokens: u64) {
        if let Ok(mut spent) = self.spent.lock() {
            // Yesterday's figures go: the map holds one entry per caller who spent today.
            spent.retain(|_, (day, _)| *day == today);
            let entry = spent.entry(caller.to_owned()).or_insert((today, 0));
            entry.1 = entry.1.saturating_add(tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).expect("date")
    }

    #[test]
    fn a_caller_stops_at_the_budget_and_starts_again_the_next_day() {
        let budget = TokenBudget::new(100);
        assert!(budget.allows("alice", day(27)));
        budget.spend("alice", day(27), 60);
        assert!(budget.allows("alice", day(27)));
        budget.spend("alice", day(27), 60);
        assert!(!budget.allows("alice", day(27)));
        assert_eq!(budget.spent_on("alice", day(27)), 120);
        // Someone else, and the next day, are untouched.
        assert!(budget.allows("bob", day(27)));
        assert!(budget.allows("alice", day(28)));
        budget.spend("bob", day(28), 1);
        assert_eq!(
            budget.spent_on("alice", day(27)),
            0,
            "yesterday's entries are dropped"
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let budget = TokenBudget::new(0);
        budget.spend("alice", day(27), u64::MAX);
        assert!(budget.allows("alice", day(27)));
    }

    fn redis_url() -> String {
        std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// Two processes (two budgets over one Valkey) draw on one budget per caller.
    #[tokio::test]
    async fn a_shared_budget_is_one_budget_across_processes() {
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let namespace = format!("aoc-test-budget-{}-{nanos}:", std::process::id());
        let valkey = |ns: &str| {
            Arc::new(
                ValkeyCache::new(&redis_url())
                    .expect("url")
                    .in_namespace(ns),
            )
        };
        let server = TokenBudget::shared(100, valkey(&namespace));
        let worker = TokenBudget::shared(100, valkey(&namespace));
        let today = chrono::Utc::now().date_naive();
        let caller = format!("t/{}", std::process::id());
        assert!(worker.allows_now(&caller, today).await);
        server.spend_now(&caller, today, 70).await;
        worker.spend_now(&caller, today, 40).await;
        assert!(!server.allows_now(&caller, today).await, "110 of 100 spent");
        assert!(!worker.allows_now(&caller, today).await);
        assert!(worker.allows_now("t/someone-else", today).await);
        // Another deployment on the same Valkey has its own budgets.
        let elsewhere = TokenBudget::shared(100, valkey(&format!("{namespace}elsewhere:")));
        assert!(elsewhere.allows_now(&caller, today).await);
    }

    /// Without Valkey the budget still holds, in this process.
    #[tokio::test]
    async fn a_shared_budget_without_valkey_counts_here() {
        let gone = Arc::new(ValkeyCache::new("redis://127.0.0.1:1").expect("url"));
        let budget = TokenBudget::shared(100, gone);
        let today = chrono::Utc::now().date_naive();
        budget.spend_now("t/alice", today, 150).await;
        assert!(!budget.allows_now("t/alice", today).await);
        assert!(budget.allows_now("t/bob", today).await);
    }
}
