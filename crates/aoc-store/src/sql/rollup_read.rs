//! Figures and facets answered from `event_rollup` (see [`super::rollup`]): the rollup rows
//! of the whole spans in the range, and the events of its ends, added before ranking.

use std::collections::HashMap;

use aoc_model::{AggregateSpec, EventAggregates, EventQuery, Facet, TimeBucket, ValueCount};

use super::rollup::{Dimension, RollupPlan, timeline_spans, value_spans};
use super::{SqlEngine, Statement};
use crate::filter::{FilterDialect, event_filter};
use crate::{AggregateSql, StoreResult, TopColumn, aggregate_interval};

/// [`crate::EventStore::aggregate_events`] for a query [`RollupPlan::eligible`] accepts.
pub async fn aggregate<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    spec: &AggregateSpec,
    dialect: &(dyn FilterDialect + Send + Sync),
) -> StoreResult<EventAggregates> {
    let first = edge_time(engine, query, dialect, "ASC").await?;
    let last = edge_time(engine, query, dialect, "DESC").await?;
    let interval = aggregate_interval(query, spec, first, last)?;

    // Totals and timeline: the total's rows of the spans the interval is a multiple of.
    let plan = RollupPlan::new(query, &timeline_spans(interval));
    let mut buckets: HashMap<i64, (u64, u64)> = HashMap::new();
    let (mut total, mut failures) = (0u64, 0u64);
    let rolled = plan.rows(
        engine.dialect(),
        Dimension::Total,
        "start, events, failures",
    );
    let rows = engine
        .read_search(Statement::raw(
            format!("SELECT start, events, failures FROM {}", rolled.sql),
            rolled.binds,
        ))
        .await?;
    let width = interval.max(1) * 1_000_000;
    for mut row in rows {
        let start = row.integer("start")?;
        let (n, f) = (
            count(row.integer("events")?),
            count(row.integer("failures")?),
        );
        let bucket = buckets.entry(start - start.rem_euclid(width)).or_default();
        bucket.0 += n;
        bucket.1 += f;
        total += n;
        failures += f;
    }
    for piece in 0..plan.raw.len() {
        let sql = AggregateSql::new(&plan.raw_query(query, piece), dialect);
        let statement = |text: String| Statement::raw(text, sql.filter.binds.clone());
        for mut row in engine
            .read_search(statement(sql.timeline(dialect, interval)))
            .await?
        {
            let start = row.time("bucket")?.timestamp_micros();
            let (n, f) = (count(row.integer("n")?), count(row.integer("failures")?));
            let bucket = buckets.entry(start).or_default();
            bucket.0 += n;
            bucket.1 += f;
            total += n;
            failures += f;
        }
    }
    let buckets = buckets
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
        .filter_map(|(start, (count, failures))| {
            Some(TimeBucket {
                start: chrono::DateTime::from_timestamp_micros(start)?,
                count,
                failures,
            })
        })
        .collect();

    let mut top: [Vec<ValueCount>; 3] = Default::default();
    for (list, column) in top.iter_mut().zip(TopColumn::ALL) {
        *list = ranked(engine, query, dialect, Dimension::of_top(column), spec.top).await?;
    }
    Ok(EventAggregates::assemble(
        total,
        failures,
        first,
        last,
        interval,
        (query.from, query.to),
        buckets,
        top,
    ))
}

/// The facets the rollup keeps, for an eligible query; `None` for one it does not (counted
/// from the events by the caller).
pub async fn facet<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    dialect: &(dyn FilterDialect + Send + Sync),
    facet: Facet,
    top: u32,
) -> StoreResult<Option<Vec<ValueCount>>> {
    match Dimension::of_facet(facet) {
        Some(dimension) => Ok(Some(ranked(engine, query, dialect, dimension, top).await?)),
        None => Ok(None),
    }
}

/// The `top` most frequent values of `dimension` over `query`'s range, most frequent first,
/// ties by the value's bytes: day and hour rows, and the ends' events, added.
async fn ranked<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    dialect: &(dyn FilterDialect + Send + Sync),
    dimension: Dimension,
    top: u32,
) -> StoreResult<Vec<ValueCount>> {
    let plan = RollupPlan::new(query, &value_spans());
    let rolled = plan.rows(engine.dialect(), dimension, "value, events");
    // With no ends to add, the database ranks; otherwise every value comes back to be added.
    let rank = if plan.raw.is_empty() {
        format!(
            " HAVING sum(events) > 0 ORDER BY n DESC, {} LIMIT {top}",
            dialect.byte_order("value")
        )
    } else {
        String::new()
    };
    let rows = engine
        .read_search(Statement::raw(
            format!(
                "SELECT value, CAST(sum(events) AS BIGINT) AS n FROM {} GROUP BY value{rank}",
                rolled.sql
            ),
            rolled.binds,
        ))
        .await?;
    let mut counts: HashMap<String, i64> = HashMap::new();
    for mut row in rows {
        *counts.entry(row.text("value")?).or_default() += row.integer("n")?;
    }
    let expr = dimension.expression();
    for piece in 0..plan.raw.len() {
        let filter = event_filter(&plan.raw_query(query, piece), dialect);
        let rows = engine
            .read_search(Statement::raw(
                format!(
                    "SELECT {expr} AS value, count(*) AS n FROM events WHERE ({}) \
                     AND {expr} IS NOT NULL GROUP BY value",
                    filter.where_sql
                ),
                filter.binds,
            ))
            .await?;
        for mut row in rows {
            *counts.entry(row.text("value")?).or_default() += row.integer("n")?;
        }
    }
    let mut values: Vec<ValueCount> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(value, n)| ValueCount {
            value,
            count: n as u64,
        })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values.truncate(top as usize);
    Ok(values)
}

/// The first (`ASC`) or last (`DESC`) matching event's time, from the time index.
async fn edge_time<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    dialect: &(dyn FilterDialect + Send + Sync),
    direction: &str,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    let filter = event_filter(
        &EventQuery {
            cursor: None,
            ..query.clone()
        },
        dialect,
    );
    let rows = engine
        .read_search(Statement::raw(
            format!(
                "SELECT timestamp AS at FROM events WHERE {} ORDER BY timestamp {direction} \
                 LIMIT 1",
                filter.where_sql
            ),
            filter.binds,
        ))
        .await?;
    match rows.into_iter().next() {
        Some(mut row) => Ok(Some(row.time("at")?)),
        None => Ok(None),
    }
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}
