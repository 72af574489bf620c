//! Every metric this crate writes, and the events that write them. An event's `emit()` writes
//! its log line (if it has one) and moves its metrics together, so the log and `/metrics` cannot
//! disagree. Names and labels are read by dashboards and tests: change them here or nowhere.
//! [`describe`] registers the help texts; the binary calls it once it has installed a metrics
//! recorder. (Tokens and budget refusals are counted by the API, where answers are made.)

/// Answer-cache lookups and failures, by [`CACHE`] and [`OUTCOME`].
pub const CACHE_REQUESTS_TOTAL: &str = "aoc_cache_requests_total";

/// Label: which answers (`ask`, `explain`; the query cache's `events`, `aggregations`,
/// `facets`), the [`crate::cache::CacheKey`] kind.
pub const CACHE: &str = "cache";
/// Label: `hit`, `miss`, or `error` (the cache could not be used).
pub const OUTCOME: &str = "outcome";

/// Registers the help texts of the metrics above with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        CACHE_REQUESTS_TOTAL,
        "Cache lookups by cache (ask, explain, events, aggregations, facets) and outcome (hit, miss, error)"
    );
}

fn count(cache: &'static str, outcome: &'static str) {
    metrics::counter!(CACHE_REQUESTS_TOTAL, CACHE => cache, OUTCOME => outcome).increment(1);
}

/// A lookup in the `cache` answers found (or not).
pub(crate) struct CacheLookup {
    pub cache: &'static str,
    pub found: bool,
}

impl CacheLookup {
    pub fn emit(self) {
        count(self.cache, if self.found { "hit" } else { "miss" });
    }
}

/// A lookup was not tried: Valkey cannot be reached (said in the log when that was found out).
pub(crate) struct CacheUnavailable {
    pub cache: &'static str,
}

impl CacheUnavailable {
    pub fn emit(self) {
        count(self.cache, "error");
    }
}

/// A Valkey `operation` (`get`, `put`) of the `cache` failed with `error`; AOC goes on without.
pub(crate) struct CacheOperationFailed<'a> {
    pub cache: &'static str,
    pub operation: &'a str,
    pub error: &'a str,
}

impl CacheOperationFailed<'_> {
    pub fn emit(self) {
        count(self.cache, "error");
        tracing::warn!(
            operation = self.operation,
            error = self.error,
            "answer cache (Valkey) operation failed; going on without it"
        );
    }
}
