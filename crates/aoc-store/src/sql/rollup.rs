//! Counts per hour and per day (`event_rollup`), kept in the transaction of every insert and
//! delete, so that the figures and facets of a time range never scan its events: a week is 7
//! day rows per value, not a hundred thousand events.
//!
//! Each event counts once in every span of [`SPANS`] for the total (900 s buckets too, for the
//! timeline of a day) and once per span for each [`Dimension`] it has a value of. A query is
//! answered from the rollup when it filters on nothing but time and tenant ([`RollupPlan`]):
//! the whole days of its range from day rows, the whole hours left from hour rows, and the
//! minutes at each end from the events themselves; the parts' counts are added before ranking,
//! so the answer is the same as a scan's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use aoc_model::{EventQuery, Facet};

use super::{Dialect, Row, SqlTransaction, Statement};
use crate::{EventColumns, StoreResult, TopColumn};

/// The spans kept, in seconds: a quarter-hour (total only), an hour, a day.
const QUARTER: i64 = 900;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const SPANS: [i64; 3] = [QUARTER, HOUR, DAY];
/// Rows per upsert statement (7 values each: under both engines' bind limits).
const UPSERT_CHUNK: usize = 1_000;

/// What a rollup row counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Total,
    Operation,
    Actor,
    ClientIp,
    Service,
    Result,
    Country,
    Application,
}

impl Dimension {
    /// The dimensions with values, in [`RollupRow::values`]' order.
    const VALUED: [Dimension; 7] = [
        Self::Operation,
        Self::Actor,
        Self::ClientIp,
        Self::Service,
        Self::Result,
        Self::Country,
        Self::Application,
    ];

    fn code(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Operation => "operation",
            Self::Actor => "actor",
            Self::ClientIp => "ip",
            Self::Service => "service",
            Self::Result => "result",
            Self::Country => "country",
            Self::Application => "application",
        }
    }

    /// The value as the events' columns give it: what a scan groups by.
    pub(crate) fn expression(self) -> &'static str {
        match self {
            Self::Total => "''",
            Self::Operation => "operation",
            Self::Actor => "coalesce(actor_upn, actor_id)",
            Self::ClientIp => "client_ip",
            Self::Service => "service",
            Self::Result => "result",
            Self::Country => "country",
            Self::Application => "application",
        }
    }

    /// The spans this dimension is kept in.
    fn spans(self) -> &'static [i64] {
        match self {
            Self::Total => &SPANS,
            _ => &SPANS[1..],
        }
    }

    /// The dimension a facet counts, when the rollup keeps it.
    pub fn of_facet(facet: Facet) -> Option<Self> {
        match facet {
            Facet::Operation => Some(Self::Operation),
            Facet::Actor => Some(Self::Actor),
            Facet::ClientIp => Some(Self::ClientIp),
            Facet::Service => Some(Self::Service),
            Facet::Result => Some(Self::Result),
            Facet::Country => Some(Self::Country),
            Facet::Application => Some(Self::Application),
            // Sightings and each event's several targets: counted from the events.
            Facet::Source | Facet::Target => None,
        }
    }

    pub fn of_top(column: TopColumn) -> Self {
        match column {
            TopColumn::Operation => Self::Operation,
            TopColumn::Actor => Self::Actor,
            TopColumn::ClientIp => Self::ClientIp,
        }
    }
}

/// One event as the rollup sees it.
struct RollupRow<'a> {
    tenant: &'a str,
    /// Microseconds since the Unix epoch.
    timestamp: i64,
    failure: bool,
    values: [Option<&'a str>; 7],
}

type Cell = (String, i64, i64, Dimension, String);

/// Counts to add to (or, negative, take from) `event_rollup`.
#[derive(Debug, Default)]
pub struct RollupDelta {
    cells: HashMap<Cell, (i64, i64)>,
}

impl RollupDelta {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    fn add(&mut self, row: &RollupRow<'_>, sign: i64) {
        let failures = if row.failure { sign } else { 0 };
        let mut count = |dimension: Dimension, value: &str| {
            for &span in dimension.spans() {
                let width = span * 1_000_000;
                let start = row.timestamp - row.timestamp.rem_euclid(width);
                let cell = (
                    row.tenant.to_owned(),
                    span,
                    start,
                    dimension,
                    value.to_owned(),
                );
                let counts = self.cells.entry(cell).or_default();
                counts.0 += sign;
                counts.1 += failures;
            }
        };
        count(Dimension::Total, "");
        for (dimension, value) in Dimension::VALUED.into_iter().zip(row.values) {
            if let Some(value) = value {
                count(dimension, value);
            }
        }
    }

    /// Counts a newly stored event, from the columns it was stored with.
    pub fn add_stored(&mut self, c: &EventColumns<'_>) {
        let row = RollupRow {
            tenant: &c.tenant_id,
            timestamp: c.event.timestamp.timestamp_micros(),
            failure: c.event.result == aoc_model::EventResult::Failure,
            values: [
                Some(&c.operation),
                c.actor_upn.as_deref().or(c.actor_id.as_deref()),
                c.client_ip.as_deref(),
                Some(&c.service),
                Some(c.event.result.as_str()),
                c.country.as_deref(),
                c.application.as_deref(),
            ],
        };
        self.add(&row, 1);
    }

    /// Takes away events about to be deleted: rows selected with [`ROLLUP_COLUMNS`].
    pub fn remove_rows(&mut self, rows: Vec<Row>) -> StoreResult<()> {
        for mut row in rows {
            let tenant = row.text("tenant_id")?;
            let timestamp = row.time("timestamp")?.timestamp_micros();
            let result = row.text("result")?;
            let values = [
                Some(row.text("operation")?),
                row.opt_text("actor")?,
                row.opt_text("client_ip")?,
                Some(row.text("service")?),
                Some(result.clone()),
                row.opt_text("country")?,
                row.opt_text("application")?,
            ];
            let row = RollupRow {
                tenant: &tenant,
                timestamp,
                failure: result == "failure",
                values: values.each_ref().map(Option::as_deref),
            };
            self.add(&row, -1);
        }
        Ok(())
    }

    /// The upserts that apply these counts.
    pub fn statements(&self, dialect: Dialect) -> Vec<Statement> {
        let mut cells: Vec<_> = self.cells.iter().filter(|(_, c)| **c != (0, 0)).collect();
        // In the primary key's order: each statement's rows go to neighbouring pages.
        cells.sort_by(|((ta, sa, a, da, va), _), ((tb, sb, b, db, vb), _)| {
            (da.code(), sa, a, va, ta).cmp(&(db.code(), sb, b, vb, tb))
        });
        cells
            .chunks(UPSERT_CHUNK)
            .map(|chunk| {
                let mut sql = format!(
                    "INSERT INTO event_rollup \
                     (tenant_id, span, start, dimension, value, events, failures) VALUES {}",
                    dialect.value_rows(chunk.len(), 7)
                );
                let mut binds = Vec::with_capacity(chunk.len() * 7);
                for ((tenant, span, start, dimension, value), (events, failures)) in chunk {
                    binds.push(crate::filter::Bind::Text(tenant.clone()));
                    binds.push(crate::filter::Bind::Integer(*span));
                    binds.push(crate::filter::Bind::Integer(*start));
                    binds.push(crate::filter::Bind::Text(dimension.code().to_owned()));
                    binds.push(crate::filter::Bind::Text(value.clone()));
                    binds.push(crate::filter::Bind::Integer(*events));
                    binds.push(crate::filter::Bind::Integer(*failures));
                }
                sql.push_str(
                    " ON CONFLICT (dimension, span, start, value, tenant_id) DO UPDATE SET \
                     events = event_rollup.events + excluded.events, \
                     failures = event_rollup.failures + excluded.failures",
                );
                Statement::raw(sql, binds)
            })
            .collect()
    }

    /// Applies these counts in `tx`.
    pub async fn apply(&self, tx: &mut dyn SqlTransaction, dialect: Dialect) -> StoreResult<()> {
        for statement in self.statements(dialect) {
            tx.execute(statement).await?;
        }
        Ok(())
    }
}

/// The columns [`RollupDelta::remove_rows`] reads, for a `SELECT … FROM events`.
pub const ROLLUP_COLUMNS: &str = "tenant_id, timestamp, result, operation, \
     coalesce(actor_upn, actor_id) AS actor, client_ip, service, country, application";

/// Takes the events matching `condition` (over `events`, with its binds) out of the rollup, in
/// `tx`, before they are deleted there.
pub async fn remove_from_rollup(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    condition: Statement,
) -> StoreResult<()> {
    let select = Statement::raw(
        format!(
            "SELECT {ROLLUP_COLUMNS} FROM events WHERE {}",
            condition.sql
        ),
        condition.binds,
    );
    let rows = tx.fetch(select).await?;
    let mut delta = RollupDelta::default();
    delta.remove_rows(rows)?;
    delta.apply(tx, dialect).await
}

/// Builds the rollup from the stored events when it has not been (the first start after the
/// upgrade that brought it), in one transaction that holds writers off `event_rollup`: an
/// insert committed before it is counted by it, one after it adds its own counts.
pub async fn build_once<E: super::SqlEngine + ?Sized>(engine: &E) -> StoreResult<()> {
    if rollup_ready(engine).await? {
        return Ok(());
    }
    let dialect = engine.dialect();
    let started = std::time::Instant::now();
    let mut tx = engine.begin().await?;
    if dialect == Dialect::Postgres {
        tx.execute(Statement::new(
            dialect,
            "LOCK TABLE event_rollup IN EXCLUSIVE MODE",
        ))
        .await?;
    }
    for statement in build_statements(dialect) {
        tx.execute(statement).await?;
    }
    tx.commit().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "counted the stored events by hour and day for the figures"
    );
    Ok(())
}

/// Whether the rollup holds every stored event (built, then kept), on the primary.
pub async fn rollup_ready<E: super::SqlEngine + ?Sized>(engine: &E) -> StoreResult<bool> {
    ready_in(engine.read(ready_select(engine.dialect())).await?)
}

/// Whether the rollup that searches read (a replica's, when there is one) holds every event.
pub async fn rollup_ready_for_search<E: super::SqlEngine + ?Sized>(
    engine: &E,
) -> StoreResult<bool> {
    ready_in(engine.read_search(ready_select(engine.dialect())).await?)
}

fn ready_select(dialect: Dialect) -> Statement {
    Statement::new(
        dialect,
        "SELECT rollup_ready FROM event_totals WHERE id = 1",
    )
}

fn ready_in(mut rows: Vec<super::Row>) -> StoreResult<bool> {
    Ok(match rows.first_mut() {
        Some(row) => row.integer("rollup_ready")? == 1,
        None => false,
    })
}

/// The statements that build the whole rollup from the stored events (the upgrade, once).
fn build_statements(dialect: Dialect) -> Vec<Statement> {
    let mut out = vec![Statement::new(dialect, "DELETE FROM event_rollup")];
    let micros = match dialect {
        Dialect::Sqlite => "timestamp",
        Dialect::Postgres => "(extract(epoch FROM timestamp) * 1000000)::bigint",
    };
    for dimension in std::iter::once(Dimension::Total).chain(Dimension::VALUED) {
        for &span in dimension.spans() {
            let width = span * 1_000_000;
            let expr = dimension.expression();
            let group = if dimension == Dimension::Total {
                String::new()
            } else {
                format!(", {expr}")
            };
            out.push(Statement::new(
                dialect,
                &format!(
                    "INSERT INTO event_rollup \
                     (tenant_id, span, start, dimension, value, events, failures) \
                     SELECT tenant_id, {span}, {micros} - ({micros} % {width}), '{code}', \
                     {expr}, count(*), \
                     sum(CASE WHEN result = 'failure' THEN 1 ELSE 0 END) \
                     FROM events WHERE {expr} IS NOT NULL \
                     GROUP BY tenant_id, {micros} - ({micros} % {width}){group}",
                    code = dimension.code(),
                ),
            ));
        }
    }
    out.push(Statement::new(
        dialect,
        "UPDATE event_totals SET rollup_ready = 1, version = version + 1 WHERE id = 1",
    ));
    out
}

/// `[from, to)`, `None` for an open end.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A query's time range split into what the rollup answers and what the events do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupPlan {
    pub tenant: Option<String>,
    /// `(span, from, to)` in microseconds: the rollup rows of `span` starting in `[from, to)`.
    pub rolled: Vec<(i64, i64, i64)>,
    /// The ends left to the events: `[from, to)`, `None` for open.
    pub raw: Vec<TimeRange>,
}

impl RollupPlan {
    /// Whether the rollup can answer `query`: it filters on nothing but time and tenant.
    pub fn eligible(query: &EventQuery) -> bool {
        let rest = EventQuery {
            from: None,
            to: None,
            tenant: None,
            cursor: None,
            order: aoc_model::Order::default(),
            page_size: aoc_model::PageSize::default(),
            without_raw: false,
            ..query.clone()
        };
        rest == EventQuery::default()
    }

    /// The plan of `query`'s range with rollup rows of `spans` (largest first, each a multiple
    /// of the next): the whole spans of the largest, the ends left by the next, and so on; what
    /// no span covers goes to the events.
    pub fn new(query: &EventQuery, spans: &[i64]) -> Self {
        let mut plan = Self {
            tenant: query.tenant.as_ref().map(|t| t.as_str().to_owned()),
            rolled: Vec::new(),
            raw: Vec::new(),
        };
        let from = query.from.map(|t| t.timestamp_micros());
        let to = query.to.map(|t| t.timestamp_micros());
        plan.cover(from, to, spans);
        plan
    }

    fn cover(&mut self, lo: Option<i64>, hi: Option<i64>, spans: &[i64]) {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo >= hi
        {
            return;
        }
        let Some((&span, finer)) = spans.split_first() else {
            self.raw.push((lo.and_then(time), hi.and_then(time)));
            return;
        };
        let width = span * 1_000_000;
        let start = lo.map(|t| ceil(t, width));
        let end = hi.map(|t| t - t.rem_euclid(width));
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            return self.cover(lo, hi, finer);
        }
        self.rolled
            .push((span, start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)));
        if let (Some(lo), Some(s)) = (lo, start) {
            self.cover(Some(lo), Some(s), finer);
        }
        if let (Some(e), Some(hi)) = (end, hi) {
            self.cover(Some(e), Some(hi), finer);
        }
    }

    /// The events query of one raw end.
    pub fn raw_query(&self, query: &EventQuery, piece: usize) -> EventQuery {
        let (from, to) = self.raw[piece];
        EventQuery {
            from,
            to,
            cursor: None,
            ..query.clone()
        }
    }

    /// The rollup rows of `dimension` this plan covers, as a subquery of `columns`: one
    /// `SELECT` per piece joined by `UNION ALL`, so each reads its own key range (an `OR` of
    /// ranges is not planned as several range reads).
    pub fn rows(&self, dialect: Dialect, dimension: Dimension, columns: &str) -> Statement {
        let mut binds = vec![crate::filter::Bind::Text(dimension.code().to_owned())];
        let tenant = self.tenant.as_ref().map(|tenant| {
            binds.push(crate::filter::Bind::Text(tenant.clone()));
            format!(" AND tenant_id = {}", dialect.placeholder(2))
        });
        let tenant = tenant.unwrap_or_default();
        let mut parts = Vec::new();
        for &(span, from, to) in &self.rolled {
            binds.push(crate::filter::Bind::Integer(span));
            binds.push(crate::filter::Bind::Integer(from));
            binds.push(crate::filter::Bind::Integer(to));
            let n = binds.len();
            parts.push(format!(
                "SELECT {columns} FROM event_rollup WHERE dimension = {} AND span = {} \
                 AND start >= {} AND start < {}{tenant}",
                dialect.placeholder(1),
                dialect.placeholder(n - 2),
                dialect.placeholder(n - 1),
                dialect.placeholder(n)
            ));
        }
        if parts.is_empty() {
            parts.push(format!(
                "SELECT {columns} FROM event_rollup WHERE dimension = {} AND 1 = 0{tenant}",
                dialect.placeholder(1)
            ));
        }
        Statement::raw(format!("({}) AS r", parts.join(" UNION ALL ")), binds)
    }
}

/// The spans a timeline of `interval_seconds` can be counted from: those it is a multiple of.
pub fn timeline_spans(interval_seconds: i64) -> Vec<i64> {
    SPANS
        .iter()
        .rev()
        .copied()
        .filter(|span| interval_seconds % span == 0)
        .collect()
}

/// The spans the values are kept in, largest first.
pub fn value_spans() -> Vec<i64> {
    vec![DAY, HOUR]
}

fn ceil(t: i64, width: i64) -> i64 {
    let r = t.rem_euclid(width);
    if r == 0 { t } else { t - r + width }
}

fn time(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}
