//! The daily token budget of each caller: model calls stop for a caller whose calls today (UTC)
//! have used it up, and AOC's parser and summaries answer instead. Kept in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

/// Tokens each caller may spend per UTC day; 0: no limit.
pub struct TokenBudget {
    per_day: u64,
    spent: Mutex<HashMap<String, (NaiveDate, u64)>>,
}

impl TokenBudget {
    pub fn new(per_day: u64) -> Self {
        Self {
            per_day,
            spent: Mutex::new(HashMap::new()),
        }
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
}
