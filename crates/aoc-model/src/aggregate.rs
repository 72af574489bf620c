//! Dashboard figures over any events query: counts over time, top values, failure rate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most buckets a timeline may have; a finer interval over a long range is refused.
pub const MAX_BUCKETS: i64 = 2_000;
/// Buckets an automatic interval aims at, at most.
const AUTO_BUCKETS: i64 = 120;
/// Most values a top-N list may hold.
pub const MAX_TOP: u32 = 100;

/// The intervals an automatic timeline picks from, in seconds.
const NICE_INTERVALS: [i64; 12] = [
    60,
    300,
    900,
    1_800,
    3_600,
    3 * 3_600,
    6 * 3_600,
    12 * 3_600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
];

/// What to compute besides the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateSpec {
    /// Timeline bucket width in seconds; `None` picks one from the matching events' time span.
    pub interval_seconds: Option<i64>,
    /// Length of each top-N list.
    pub top: u32,
}

impl Default for AggregateSpec {
    fn default() -> Self {
        Self {
            interval_seconds: None,
            top: 10,
        }
    }
}

/// The smallest nice interval that covers `span` in at most [`AUTO_BUCKETS`] buckets.
pub fn auto_interval(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let span = (to - from).num_seconds().max(1);
    NICE_INTERVALS
        .into_iter()
        .find(|interval| span / interval < AUTO_BUCKETS)
        .unwrap_or(NICE_INTERVALS[NICE_INTERVALS.len() - 1])
}

/// The start of the bucket of width `interval_seconds` (aligned on the Unix epoch) holding `t`.
pub fn bucket_start(t: DateTime<Utc>, interval_seconds: i64) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    let width = interval_seconds.saturating_mul(1_000_000).max(1);
    DateTime::from_timestamp_micros(micros - micros.rem_euclid(width)).unwrap_or(t)
}

/// One bucket of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeBucket {
    pub start: DateTime<Utc>,
    pub count: u64,
    pub failures: u64,
}

/// A value and how many matching events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// The figures of one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventAggregates {
    pub total: u64,
    pub failures: u64,
    /// failures / total; 0 when nothing matches.
    pub failure_rate: f64,
    /// Earliest and latest matching event.
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub interval_seconds: i64,
    /// Every bucket from the first to the last, empty ones included, oldest first.
    pub timeline: Vec<TimeBucket>,
    pub top_operations: Vec<ValueCount>,
    /// By UPN, or object id when the actor has no UPN.
    pub top_actors: Vec<ValueCount>,
    pub top_ips: Vec<ValueCount>,
}

impl EventAggregates {
    /// Assembles the figures; `buckets` holds the non-empty buckets in any order, and the
    /// timeline spans `[from, to)` when given, else the matching events.
    #[expect(
        clippy::too_many_arguments,
        reason = "one figure per argument, assembled once"
    )]
    pub fn assemble(
        total: u64,
        failures: u64,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
        interval_seconds: i64,
        span: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        mut buckets: Vec<TimeBucket>,
        top: [Vec<ValueCount>; 3],
    ) -> Self {
        buckets.sort_by_key(|b| b.start);
        let start = span.0.or(first).map(|t| bucket_start(t, interval_seconds));
        // `to` is exclusive: the last bucket is the one holding the instant before it.
        let end = span
            .1
            .map(|t| t - chrono::Duration::microseconds(1))
            .or(last)
            .map(|t| bucket_start(t, interval_seconds));
        let mut timeline = Vec::new();
        if let (Some(start), Some(end)) = (start, end) {
            let step = chrono::Duration::seconds(interval_seconds);
            let mut given = buckets.into_iter().peekable();
            let mut at = start;
            while at <= end && (timeline.len() as i64) < MAX_BUCKETS {
                let mut bucket = TimeBucket {
                    start: at,
                    count: 0,
                    failures: 0,
                };
                while let Some(b) = given.next_if(|b| b.start <= at) {
                    if b.start == at {
                        bucket.count += b.count;
                        bucket.failures += b.failures;
                    }
                }
                timeline.push(bucket);
                at += step;
            }
        }
        let [top_operations, top_actors, top_ips] = top;
        Self {
            total,
            failures,
            failure_rate: if total == 0 {
                0.0
            } else {
                failures as f64 / total as f64
            },
            first,
            last,
            interval_seconds,
            timeline,
            top_operations,
            top_actors,
            top_ips,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn automatic_intervals_stay_under_the_bucket_budget() {
        let from = t("2025-03-01T00:00:00Z");
        assert_eq!(auto_interval(from, from), 60);
        assert_eq!(auto_interval(from, t("2025-03-01T01:00:00Z")), 60);
        assert_eq!(auto_interval(from, t("2025-03-02T00:00:00Z")), 900);
        assert_eq!(auto_interval(from, t("2025-03-08T00:00:00Z")), 3 * 3_600);
        assert_eq!(auto_interval(from, t("2025-06-01T00:00:00Z")), 86_400);
        assert_eq!(auto_interval(from, t("2125-06-01T00:00:00Z")), 365 * 86_400);
    }

    #[test]
    fn buckets_align_on_the_epoch_also_before_it() {
        assert_eq!(
            bucket_start(t("2025-03-01T10:59:59.999Z"), 3_600),
            t("2025-03-01T10:00:00Z")
        );
        assert_eq!(
            bucket_start(t("1969-12-31T23:30:00Z"), 3_600),
            t("1969-12-31T23:00:00Z")
        );
    }

    #[test]
    fn the_timeline_fills_empty_buckets_within_the_span() {
        let buckets = vec![
            TimeBucket {
                start: t("2025-03-01T12:00:00Z"),
                count: 2,
                failures: 1,
            },
            TimeBucket {
                start: t("2025-03-01T10:00:00Z"),
                count: 3,
                failures: 0,
            },
        ];
        let a = EventAggregates::assemble(
            5,
            1,
            Some(t("2025-03-01T10:05:00Z")),
            Some(t("2025-03-01T12:30:00Z")),
            3_600,
            (
                Some(t("2025-03-01T09:30:00Z")),
                Some(t("2025-03-01T14:00:00Z")),
            ),
            buckets,
            [Vec::new(), Vec::new(), Vec::new()],
        );
        let counts: Vec<u64> = a.timeline.iter().map(|b| b.count).collect();
        assert_eq!(counts, [0, 3, 0, 2, 0]);
        assert_eq!(a.timeline[0].start, t("2025-03-01T09:00:00Z"));
        assert!((a.failure_rate - 0.2).abs() < 1e-9);
    }
}

/// A field the events can be broken down by beside the results (a facet): its values with
/// counts, a click away from including or excluding them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Facet {
    Operation,
    Actor,
    Service,
    Result,
    Country,
    /// Every path an event was seen via counts (an event seen via two counts under both).
    Source,
    ClientIp,
    /// The application signed in to or acting ([`crate::Event::application`]).
    Application,
    /// Each target by name (id when it has none), lowercased as the target filter compares it;
    /// an event with two targets counts under both.
    Target,
}

impl Facet {
    pub const ALL: [Facet; 9] = [
        Self::Operation,
        Self::Actor,
        Self::Service,
        Self::Result,
        Self::Country,
        Self::Source,
        Self::ClientIp,
        Self::Application,
        Self::Target,
    ];

    /// The name the API uses, which is also the filter the values go to.
    pub fn name(self) -> &'static str {
        match self {
            Self::Operation => "operation",
            Self::Actor => "actor",
            Self::Service => "service",
            Self::Result => "result",
            Self::Country => "country",
            Self::Source => "source",
            Self::ClientIp => "ip",
            Self::Application => "application",
            Self::Target => "target",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name.trim())
    }
}
