//! Client-side pacing under Microsoft's documented limits, so AOC does not lean on 429s: the
//! Graph identity reports (directory audits, sign-ins) allow 5 requests per 10 s per app and
//! tenant.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// At most `limit` starts in any `window`.
#[derive(Debug)]
pub struct Pacer {
    limit: usize,
    window: Duration,
    starts: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// The Graph identity reports' limit: 5 requests per 10 s.
    pub fn graph_reports() -> Self {
        Self::new(5, Duration::from_secs(10))
    }

    /// Waits until one more request fits in the window, and counts it.
    pub async fn wait(&self) {
        // Holding the lock while sleeping queues callers in arrival order.
        let mut starts = self.starts.lock().await;
        loop {
            let now = Instant::now();
            while starts
                .front()
                .is_some_and(|&t| now.duration_since(t) >= self.window)
            {
                starts.pop_front();
            }
            if starts.len() < self.limit {
                starts.push_back(now);
                return;
            }
            let oldest = starts.front().copied().unwrap_or(now);
            // A little margin: the server's clock for the window starts when it sees the request.
            tokio::time::sleep_until(oldest + self.window + Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_a_window() {
        let pacer = Pacer::new(5, Duration::from_secs(10));
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..12 {
            pacer.wait().await;
            at.push(start.elapsed());
        }
        for (i, t) in at.iter().enumerate() {
            let in_window = at
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(10))
                .count();
            assert!(in_window <= 5, "request {i} at {t:?}: {in_window} in 10 s");
        }
        assert!(at[11] >= Duration::from_secs(20));
    }
}
