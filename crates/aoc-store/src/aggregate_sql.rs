//! The figures' statements (totals, timeline, top values, facets) over the events query's
//! filter, built once for both engines.

use chrono::{DateTime, Utc};

use aoc_model::EventQuery;

use crate::filter::{FilterDialect, SqlFilter, event_filter};

/// The grouping of a top-N list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopColumn {
    Operation,
    Actor,
    ClientIp,
}

impl TopColumn {
    pub const ALL: [TopColumn; 3] = [Self::Operation, Self::Actor, Self::ClientIp];

    fn expression(self) -> &'static str {
        match self {
            Self::Operation => "operation",
            Self::Actor => "coalesce(actor_upn, actor_id)",
            Self::ClientIp => "client_ip",
        }
    }
}

/// The statements of [`crate::EventStore::aggregate_events`], sharing one filter and its binds.
pub struct AggregateSql {
    pub filter: SqlFilter,
}

impl AggregateSql {
    pub fn new<D: FilterDialect + ?Sized>(query: &EventQuery, dialect: &D) -> Self {
        let query = EventQuery {
            cursor: None,
            ..query.clone()
        };
        Self {
            filter: event_filter(&query, dialect),
        }
    }

    /// `total`, `failures`, `first_at` (min timestamp), `last_at` (max timestamp).
    pub fn totals(&self) -> String {
        format!(
            "SELECT count(*) AS total, \
             coalesce(sum(CASE WHEN result = 'failure' THEN 1 ELSE 0 END), 0) AS failures, \
             min(timestamp) AS first_at, max(timestamp) AS last_at FROM events WHERE {}",
            self.filter.where_sql
        )
    }

    /// `bucket` (its start), `n`, `failures`; non-empty buckets only.
    pub fn timeline<D: FilterDialect + ?Sized>(
        &self,
        dialect: &D,
        interval_seconds: i64,
    ) -> String {
        format!(
            "SELECT {bucket} AS bucket, count(*) AS n, \
             coalesce(sum(CASE WHEN result = 'failure' THEN 1 ELSE 0 END), 0) AS failures \
             FROM events WHERE {} GROUP BY bucket",
            self.filter.where_sql,
            bucket = dialect.time_bucket(interval_seconds)
        )
    }

    /// `value`, `n`; most frequent first, ties by value.
    pub fn top<D: FilterDialect + ?Sized>(
        &self,
        dialect: &D,
        column: TopColumn,
        limit: u32,
    ) -> String {
        let expr = column.expression();
        format!(
            "SELECT {expr} AS value, count(*) AS n FROM events WHERE ({}) AND {expr} IS NOT NULL \
             GROUP BY value ORDER BY n DESC, {} LIMIT {limit}",
            self.filter.where_sql,
            dialect.byte_order(expr)
        )
    }
}

impl AggregateSql {
    /// The `top` most frequent values of `facet` (`value`, `n`), most frequent first, ties by
    /// value's bytes.
    pub fn facet<D: FilterDialect + ?Sized>(
        &self,
        dialect: &D,
        facet: aoc_model::Facet,
        top: u32,
    ) -> String {
        use aoc_model::Facet;
        let w = &self.filter.where_sql;
        let expr = match facet {
            // Every path an event was seen via counts, as the source filter finds it.
            Facet::Source => {
                return format!(
                    "SELECT value, count(*) AS n FROM (\
                     SELECT source AS value FROM events WHERE {w} \
                     UNION ALL SELECT s.source AS value FROM event_sightings s \
                     WHERE s.event_id IN (SELECT id FROM events WHERE {w})) t \
                     GROUP BY value ORDER BY n DESC, {} LIMIT {top}",
                    dialect.byte_order("value")
                );
            }
            Facet::Operation => "operation",
            Facet::Actor => "coalesce(actor_upn, actor_id)",
            Facet::Service => "service",
            Facet::Result => "result",
            Facet::Country => "country",
            Facet::ClientIp => "client_ip",
            Facet::Application => "application",
            // Counted in Rust from each event's names (see `count_target_names`).
            Facet::Target => {
                return format!(
                    "SELECT target_names AS value FROM events WHERE ({w}) \
                     AND target_names IS NOT NULL"
                );
            }
        };
        format!(
            "SELECT {expr} AS value, count(*) AS n FROM events WHERE ({w}) AND {expr} IS NOT NULL \
             GROUP BY value ORDER BY n DESC, {} LIMIT {top}",
            dialect.byte_order(expr)
        )
    }
}

/// The timeline interval for `spec` over the matching events' span, refusing more than
/// [`aoc_model::aggregate::MAX_BUCKETS`] buckets.
pub fn aggregate_interval(
    query: &EventQuery,
    spec: &aoc_model::AggregateSpec,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
) -> crate::StoreResult<i64> {
    use aoc_model::aggregate::{MAX_BUCKETS, auto_interval};
    let from = query.from.or(first);
    let to = query.to.or(last);
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(spec.interval_seconds.unwrap_or(3_600));
    };
    let Some(interval) = spec.interval_seconds else {
        return Ok(auto_interval(from, to));
    };
    if (to - from).num_seconds() / interval.max(1) >= MAX_BUCKETS {
        return Err(crate::StoreError::invalid(
            "interval",
            format!(
                "the range would need more than {MAX_BUCKETS} buckets; choose a wider interval"
            ),
        ));
    }
    Ok(interval)
}

/// The target facet: each event's target names ([`aoc_model::target_names`]) counted once per
/// event, the `top` most frequent first, ties by the value's bytes (as the SQL facets order).
pub fn count_target_names(
    rows: impl IntoIterator<Item = String>,
    top: u32,
) -> Vec<aoc_model::ValueCount> {
    let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for names in rows {
        for name in aoc_model::split_keys(&names) {
            *counts.entry(name.to_owned()).or_default() += 1;
        }
    }
    let mut values: Vec<aoc_model::ValueCount> = counts
        .into_iter()
        .map(|(value, count)| aoc_model::ValueCount { value, count })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values.truncate(top as usize);
    values
}
