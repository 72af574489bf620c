//! Events: the queries both engines run alike. Writes and retention are the engines' own (see
//! [`SqlEngine::store_events`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{
    AggregateSpec, Event, EventAggregates, EventId, EventPage, EventQuery, Facet, Seq, TimeBucket,
    ValueCount,
};

use super::rollup::{RollupDelta, RollupPlan, rollup_ready_for_search};
use super::{Row, SqlEngine, Statement};
use crate::filter::{FilterDialect, event_filter};
use crate::{
    AggregateSql, DerivedColumns, EventColumns, EventStore, InsertReport, SELECT_COLUMNS,
    StoreResult, StoredRow, TopColumn, aggregate_interval, decode_event_with, encode_chunk,
    into_page,
};

/// Rows per pass of [`fill_derived_columns`].
const FILL_CHUNK: i64 = 5_000;

/// An engine's bulk write of encoded events, inside its transaction.
#[async_trait]
pub trait ChunkWriter: Send {
    /// Writes one chunk; returns the ids of the events that were not stored before (a repeat
    /// within the chunk is stored, and listed, once).
    async fn write_chunk(&mut self, columns: &[EventColumns<'_>]) -> StoreResult<Vec<EventId>>;
}

/// Writes `events` through `writer` in chunks of `chunk_size`, encoding the next chunk (JSON,
/// compression, tokens: about a fifth of a write's cost) while the current one is written, so
/// the two overlap on separate cores. Returns the ids of the events stored for the first time,
/// and their counts for the rollup (see [`super::rollup`]).
pub async fn write_in_chunks(
    writer: &mut dyn ChunkWriter,
    events: &[Event],
    chunk_size: usize,
) -> StoreResult<(Vec<EventId>, RollupDelta)> {
    let mut chunks = events.chunks(chunk_size);
    let mut current = chunks.next().map(encode_chunk).transpose()?;
    let mut new = Vec::new();
    let mut rollup = RollupDelta::default();
    while let Some(columns) = current {
        // The write goes to the engine on its first poll; the next chunk is encoded meanwhile.
        let next = chunks.next();
        let (written, encoded) = tokio::join!(writer.write_chunk(&columns), async {
            next.map(encode_chunk).transpose()
        });
        let written = written?;
        let mut stored: std::collections::HashSet<EventId> = written.iter().copied().collect();
        for c in &columns {
            // A repeat within the chunk was stored once: it counts once.
            if stored.remove(&c.event.id) {
                rollup.add_stored(c);
            }
        }
        new.extend(written);
        current = encoded?;
    }
    Ok((new, rollup))
}

/// The engine's dialect for `query` with its actor filter looked up (see
/// [`super::actor_lookup`]); `None` when nothing can match (no text, or no actor, does).
async fn planned_dialect<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
) -> StoreResult<Option<Box<dyn FilterDialect + Send + Sync>>> {
    use super::actor_lookup::{ActorLookup, WithActor, lookup};
    let Some(dialect) = engine.events_dialect(query).await? else {
        return Ok(None);
    };
    Ok(match lookup(engine, query, &*dialect).await? {
        Some(ActorLookup::Nothing) => None,
        Some(ActorLookup::Keys(actor_keys)) => Some(Box::new(WithActor {
            inner: dialect,
            actor_keys,
        })),
        Some(ActorLookup::Many) | None => Some(dialect),
    })
}

/// Rows of `value` and `n` (a top list, a facet).
fn value_counts(rows: Vec<Row>) -> StoreResult<Vec<ValueCount>> {
    rows.into_iter()
        .map(|mut row| {
            Ok(ValueCount {
                value: row.text("value")?,
                count: row.integer("n")? as u64,
            })
        })
        .collect()
}

/// Rebuilds the event of a row selected with [`SELECT_COLUMNS`].
pub(super) fn decode_row(mut row: Row, with_raw: bool) -> StoreResult<Event> {
    let stored = StoredRow {
        seq: row.integer("seq")?,
        id: EventId::from_uuid(row.uuid("id")?),
        tenant_id: row.text("tenant_id")?,
        dedupe_key: row.text("dedupe_key")?,
        source: row.text("source")?,
        service: row.text("service")?,
        timestamp: row.time("timestamp")?,
        ingested_at: row.time("ingested_at")?,
        operation: row.text("operation")?,
        result: row.text("result")?,
        client_ip: row.opt_text("client_ip")?,
        summary: row.text("summary")?,
        payload: row.bytes("payload")?,
    };
    decode_event_with(stored, with_raw)
}

/// One page of `query`, filtered in `dialect` (the engine's, with its full-text plan).
pub async fn query_page<E: SqlEngine + ?Sized>(
    engine: &E,
    query: &EventQuery,
    dialect: &(dyn FilterDialect + Send + Sync),
) -> StoreResult<EventPage> {
    let filter = event_filter(query, dialect);
    let rows = engine
        .read_search(Statement::raw(filter.select_sql(), filter.binds))
        .await?;
    let mut items = rows
        .into_iter()
        .map(|row| decode_row(row, !query.without_raw))
        .collect::<StoreResult<Vec<_>>>()?;
    // Lists name the other paths; their raw records only come with the event's own.
    super::attach_sightings(engine, &mut items, !query.without_raw).await?;
    Ok(into_page(items, query))
}

/// Computes the filter columns of rows stored before they existed, a chunk at a time (written
/// by [`SqlEngine::write_derived`]); a no-op once done.
pub async fn fill_derived_columns<E: SqlEngine + ?Sized>(engine: &E) -> StoreResult<()> {
    let mut filled = 0u64;
    loop {
        let select = Statement::new(
            engine.dialect(),
            &format!(
                "SELECT {SELECT_COLUMNS} FROM events WHERE target_keys IS NULL \
                 ORDER BY seq LIMIT $1"
            ),
        )
        .bind(FILL_CHUNK);
        let rows = engine.read(select).await?;
        if rows.is_empty() {
            break;
        }
        let n = rows.len() as u64;
        let mut rows_tenants = Vec::with_capacity(rows.len());
        let derived = rows
            .into_iter()
            .map(|row| {
                let event = decode_row(row, false)?;
                let seq = event.seq.map_or(0, |s| s.0);
                rows_tenants.push(crate::clean_text(event.tenant_id.as_str()).into_owned());
                Ok((seq, DerivedColumns::of(&event)))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let names = derived
            .iter()
            .filter_map(|(_, d)| d.actor_name.clone())
            .collect();
        super::people::record_names(engine, names).await?;
        let mut actors = super::actor_lookup::ActorCounts::new();
        for (tenant, (_, d)) in rows_tenants.into_iter().zip(&derived) {
            if !d.actor_keys.is_empty() {
                *actors.entry((tenant, d.actor_keys.clone())).or_default() += 1;
            }
        }
        super::actor_lookup::record_actor_keys(engine, actors).await?;
        engine.write_derived(derived).await?;
        filled += n;
    }
    if filled > 0 {
        tracing::info!(
            events = filled,
            "filled in the filter columns of stored events"
        );
    }
    Ok(())
}

/// `event_totals`' version and stored events, from the primary or (`for_search`) from where
/// searches read: the version that keys a cached answer must be the one its data was read at.
async fn totals<E: SqlEngine + ?Sized>(engine: &E, for_search: bool) -> StoreResult<(u64, u64)> {
    let select = Statement::new(
        engine.dialect(),
        "SELECT version, stored FROM event_totals WHERE id = 1",
    );
    let rows = if for_search {
        engine.read_search(select).await?
    } else {
        engine.read(select).await?
    };
    let mut row = rows
        .into_iter()
        .next()
        .ok_or_else(|| crate::StoreError::Corrupt("event_totals has no row".into()))?;
    let version = row.integer("version")?;
    let stored = row.integer("stored")?;
    Ok((version.max(0) as u64, stored.max(0) as u64))
}

#[async_trait]
impl<E: SqlEngine> EventStore for E {
    async fn insert_events(&self, events: &[Event]) -> StoreResult<InsertReport> {
        if events.is_empty() {
            return Ok(InsertReport::default());
        }
        self.store_events(events, None).await
    }

    async fn query_events(&self, query: &EventQuery) -> StoreResult<EventPage> {
        match planned_dialect(self, query).await? {
            Some(dialect) => query_page(self, query, &*dialect).await,
            None => Ok(EventPage {
                items: Vec::new(),
                next_cursor: None,
            }),
        }
    }

    async fn aggregate_events(
        &self,
        query: &EventQuery,
        spec: &AggregateSpec,
    ) -> StoreResult<EventAggregates> {
        let Some(dialect) = planned_dialect(self, query).await? else {
            let interval = aggregate_interval(query, spec, None, None)?;
            return Ok(EventAggregates::assemble(
                0,
                0,
                None,
                None,
                interval,
                (query.from, query.to),
                Vec::new(),
                Default::default(),
            ));
        };
        if RollupPlan::eligible(query) && rollup_ready_for_search(self).await? {
            return super::rollup_read::aggregate(self, query, spec, &*dialect).await;
        }
        let sql = AggregateSql::new(query, &*dialect);
        let statement = |text: String| Statement::raw(text, sql.filter.binds.clone());
        let mut totals = self
            .read_search(statement(sql.totals()))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| crate::StoreError::Internal("totals returned no row".into()))?;
        let total = totals.integer("total")?;
        let failures = totals.integer("failures")?;
        let first = totals.opt_time("first_at")?;
        let last = totals.opt_time("last_at")?;
        let interval = aggregate_interval(query, spec, first, last)?;
        let buckets = self
            .read_search(statement(sql.timeline(&*dialect, interval)))
            .await?
            .into_iter()
            .map(|mut row| {
                Ok(TimeBucket {
                    start: row.time("bucket")?,
                    count: row.integer("n")? as u64,
                    failures: row.integer("failures")? as u64,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut top: [Vec<ValueCount>; 3] = Default::default();
        for (list, column) in top.iter_mut().zip(TopColumn::ALL) {
            *list = value_counts(
                self.read_search(statement(sql.top(&*dialect, column, spec.top)))
                    .await?,
            )?;
        }
        Ok(EventAggregates::assemble(
            total as u64,
            failures as u64,
            first,
            last,
            interval,
            (query.from, query.to),
            buckets,
            top,
        ))
    }

    async fn facets(
        &self,
        query: &EventQuery,
        facets: &[Facet],
        top: u32,
    ) -> StoreResult<Vec<(Facet, Vec<ValueCount>)>> {
        let Some(dialect) = planned_dialect(self, query).await? else {
            return Ok(facets.iter().map(|f| (*f, Vec::new())).collect());
        };
        let sql = AggregateSql::new(query, &*dialect);
        let rolled = RollupPlan::eligible(query) && rollup_ready_for_search(self).await?;
        let mut out = Vec::with_capacity(facets.len());
        for facet in facets {
            if rolled
                && let Some(values) =
                    super::rollup_read::facet(self, query, &*dialect, *facet, top).await?
            {
                out.push((*facet, values));
                continue;
            }
            let statement =
                Statement::raw(sql.facet(&*dialect, *facet, top), sql.filter.binds.clone());
            let rows = self.read_search(statement).await?;
            let values = if *facet == Facet::Target {
                let names = rows
                    .into_iter()
                    .map(|mut row| row.text("value"))
                    .collect::<StoreResult<Vec<_>>>()?;
                crate::aggregate_sql::count_target_names(names, top)
            } else {
                value_counts(rows)?
            };
            out.push((*facet, values));
        }
        Ok(out)
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>> {
        let select = Statement::new(
            self.dialect(),
            &format!("SELECT {SELECT_COLUMNS} FROM events WHERE id = $1"),
        )
        .bind(id);
        let row = self.read(select).await?.into_iter().next();
        let Some(event) = row.map(|row| decode_row(row, true)).transpose()? else {
            return Ok(None);
        };
        let mut events = [event];
        super::attach_sightings(self, &mut events, true).await?;
        let [event] = events;
        Ok(Some(event))
    }

    async fn events_after(&self, after: Option<Seq>, limit: u32) -> StoreResult<Vec<Event>> {
        let select = Statement::new(
            self.dialect(),
            &format!("SELECT {SELECT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"),
        )
        .bind(after.map_or(0, |s| s.0))
        .bind(i64::from(limit));
        let rows = self.read(select).await?;
        let mut events = rows
            .into_iter()
            .map(|row| decode_row(row, true))
            .collect::<StoreResult<Vec<_>>>()?;
        super::attach_sightings(self, &mut events, true).await?;
        Ok(events)
    }

    async fn delete_events(&self, ids: &[EventId]) -> StoreResult<u64> {
        self.remove_events(ids).await
    }

    async fn delete_events_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.remove_events_before(cutoff).await
    }

    async fn count_events(&self) -> StoreResult<u64> {
        Ok(totals(self, false).await?.1)
    }

    async fn data_version(&self) -> StoreResult<u64> {
        Ok(totals(self, true).await?.0)
    }
}
