//! Coverage arithmetic both engines share: hour buckets, the figures one commit adds to each
//! hour, and the delay statistics read back.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use aoc_model::{Event, EventId};

use crate::{ContentStatus, DelayStats, StoreError, StoreResult};

const HOUR_MICROS: i64 = 3_600_000_000;

/// The start of the hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros - micros.rem_euclid(HOUR_MICROS)).unwrap_or(at)
}

/// The first hour start at or after `at`: an hour starts at or after `at` exactly when it starts
/// at or after this, and a blob created at `c` falls in such an hour exactly when
/// `c >= ceil_hour(at)`.
pub fn ceil_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = hour_of(at);
    if floor == at {
        at
    } else {
        floor + chrono::Duration::hours(1)
    }
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    to.timestamp_micros()
        .saturating_sub(from.timestamp_micros())
        .max(0) as f64
        / 1e6
}

/// The record figures one commit adds to one hour.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HourFigures {
    pub fetched: i64,
    pub stored: i64,
    pub avail_count: i64,
    pub avail_sum: f64,
    pub avail_max: f64,
    pub stored_sum: f64,
    pub stored_max: f64,
}

/// Figures by hour of event time: every event counts as fetched; the first copy of each new one
/// (`new`) counts as stored, with its delays.
pub fn hour_figures(
    events: &[Event],
    new: &[EventId],
    ingested_at: DateTime<Utc>,
    available_at: Option<DateTime<Utc>>,
) -> BTreeMap<DateTime<Utc>, HourFigures> {
    let mut unseen: HashSet<EventId> = new.iter().copied().collect();
    let mut hours: BTreeMap<DateTime<Utc>, HourFigures> = BTreeMap::new();
    for event in events {
        let figures = hours.entry(hour_of(event.timestamp)).or_default();
        figures.fetched += 1;
        if !unseen.remove(&event.id) {
            continue;
        }
        figures.stored += 1;
        let stored = seconds_between(event.timestamp, ingested_at);
        figures.stored_sum += stored;
        figures.stored_max = figures.stored_max.max(stored);
        if let Some(available_at) = available_at {
            let available = seconds_between(event.timestamp, available_at);
            figures.avail_count += 1;
            figures.avail_sum += available;
            figures.avail_max = figures.avail_max.max(available);
        }
    }
    hours
}

impl DelayStats {
    /// From the stored count, sum and maximum of seconds.
    pub fn from_sums(count: i64, sum: f64, max: f64) -> Self {
        Self {
            count: count.max(0) as u64,
            mean_seconds: if count > 0 { sum / count as f64 } else { 0.0 },
            max_seconds: max,
        }
    }
}

impl ContentStatus {
    /// A status read back from the store.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a value no engine writes.
    pub fn decode(text: &str) -> StoreResult<Self> {
        Self::parse(text).ok_or_else(|| StoreError::Corrupt(format!("content status {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).expect("in range")
    }

    #[test]
    fn hours_round_down_and_up() {
        assert_eq!(hour_of(at(HOUR_MICROS + 5)), at(HOUR_MICROS));
        assert_eq!(hour_of(at(HOUR_MICROS)), at(HOUR_MICROS));
        assert_eq!(hour_of(at(-1)), at(-HOUR_MICROS));
        assert_eq!(ceil_hour(at(HOUR_MICROS)), at(HOUR_MICROS));
        assert_eq!(ceil_hour(at(HOUR_MICROS + 1)), at(2 * HOUR_MICROS));
        assert_eq!(ceil_hour(at(-1)), at(0));
    }
}
