//! Measurement: timed ingest and query cases, and database sizes.

use super::*;

pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

pub(crate) enum Bare {
    Sqlite(Box<BareSqlite>),
    Postgres(PgPool),
}

pub(crate) async fn ingest(
    store: &dyn Store,
    bare: &mut Bare,
    generator: &Generator,
    tenant: &TenantId,
) -> Result<Ingest> {
    let mut report = Ingest::default();
    let started = Instant::now();
    let mut from = 0;
    while from < generator.n {
        let to = (from + BATCH).min(generator.n);
        let raw = generator.batch(from, to);
        // Timed: normalize + store.
        let t = Instant::now();
        let events = normalize_batch(raw, tenant)?;
        let normalized = t.elapsed();
        let t = Instant::now();
        let inserted = store.insert_events(&events).await?;
        report.store += t.elapsed();
        report.normalize += normalized;
        // A generated sign-in may share every key field with one of the other path's (the same
        // second, user, app and address): AOC joins the two as one activity (a sighting).
        if (inserted.new + inserted.joined) as usize != events.len() {
            bail!(
                "batch {from}: {} new and {} joined of {} (generated ids must be unique)",
                inserted.new,
                inserted.joined,
                events.len()
            );
        }
        // Not part of either rate: the rows as the engine receives them.
        let t = Instant::now();
        let columns = events
            .iter()
            .map(EventColumns::new)
            .collect::<Result<Vec<_>, _>>()?;
        report.encode += t.elapsed();
        let now = Utc::now();
        // Timed: the bare engine.
        let t = Instant::now();
        match bare {
            Bare::Sqlite(b) => b.insert(&columns, now.timestamp_micros()).await?,
            Bare::Postgres(pool) => {
                let at = now.to_rfc3339_opts(SecondsFormat::Micros, true);
                bare_pg_copy(pool, &columns, &at).await?;
            }
        }
        report.bare += t.elapsed();
        report.events += events.len();
        from = to;
        if from % 100_000 == 0 || from == generator.n {
            eprintln!(
                "  {from} events, {:.0}s: AOC {:.0}/s (normalize {:.0}/s, store {:.0}/s), \
                 EventColumns {:.0}/s, bare {:.0}/s",
                started.elapsed().as_secs_f64(),
                report.aoc_rate(),
                report.normalize_rate(),
                report.store_rate(),
                report.encode_rate(),
                report.bare_rate()
            );
        }
    }
    Ok(report)
}

pub(crate) fn query(mutate: impl FnOnce(&mut EventQuery)) -> EventQuery {
    let mut q = EventQuery::default()
        .with_page_size(PAGE_SIZE)
        .unwrap_or_default();
    mutate(&mut q);
    q
}

pub(crate) fn text(q: &str) -> Option<SearchText> {
    SearchText::parse(q).ok()
}

/// The cursor of page `page` (1-based) of `q`, or of the last page when there are fewer.
pub(crate) async fn deep_cursor(
    store: &dyn Store,
    q: &EventQuery,
    page: usize,
) -> Result<(EventQuery, usize)> {
    let mut q = q.clone();
    let mut reached = 1;
    while reached < page {
        let result = store.query_events(&q).await?;
        let Some(token) = result.next_cursor else {
            break;
        };
        q.cursor = Some(Cursor::decode(&token)?);
        reached += 1;
    }
    Ok((q, reached))
}

pub(crate) async fn queries(
    store: &dyn Store,
    generator: &Generator,
    iterations: usize,
    case_seconds: f64,
    min_runs: usize,
) -> Result<Vec<Latency>> {
    let actor = user_upn(1_234);
    let client_ip = ip(1_234);
    let last_day = generator.end - Duration::hours(24);
    let end = generator.end;
    let first_page = 20.0;
    let full_text = 100.0;
    let rare = user_upn(777);
    let rare = rare.split('@').next().unwrap_or_default().to_owned();
    let mut cases: Vec<(String, EventQuery, f64)> = vec![
        ("no filter".into(), query(|_| {}), first_page),
        (
            "service = Exchange".into(),
            query(|q| q.service = Some("Exchange".into())),
            first_page,
        ),
        (
            "service = Entra ID, result = failure".into(),
            query(|q| {
                q.service = Some("Entra ID".into());
                q.result = Some(EventResult::Failure);
            }),
            first_page,
        ),
        (
            format!("actor = {actor}"),
            query(|q| q.actor = Some(actor.clone())),
            first_page,
        ),
        (
            "operation = FileDownloaded".into(),
            query(|q| q.operation = Some("FileDownloaded".into())),
            first_page,
        ),
        (
            "time range: last 24 h".into(),
            query(|q| {
                q.from = Some(last_day);
                q.to = Some(end);
            }),
            first_page,
        ),
        (
            format!("client_ip = {client_ip}"),
            query(|q| q.client_ip = Some(client_ip)),
            first_page,
        ),
    ];
    for (name, base) in [
        ("no filter", query(|_| {})),
        (
            "service = SharePoint",
            query(|q| q.service = Some("SharePoint".into())),
        ),
    ] {
        let t = Instant::now();
        let (deep, reached) = deep_cursor(store, &base, DEEP_PAGE).await?;
        eprintln!(
            "  cursor of page {reached} ({name}) in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        cases.push((format!("page {reached}, {name}"), deep, first_page));
    }
    for (name, q) in [
        ("common word", "contoso".to_owned()),
        ("rare token (one user)", rare),
        ("phrase", "payroll.xlsx".into()),
        ("prefix", "forec".into()),
        ("address prefix", "198.20".into()),
    ] {
        cases.push((
            format!("q = `{q}` ({name})"),
            query(|e| e.text = text(&q)),
            full_text,
        ));
    }
    let mut out = Vec::new();
    for (case, q, target) in cases {
        let mut rows = 0;
        for _ in 0..3 {
            rows = store.query_events(&q).await?.items.len();
        }
        let mut times = Vec::with_capacity(iterations);
        let started = Instant::now();
        for run in 0..iterations {
            if run >= min_runs && started.elapsed().as_secs_f64() > case_seconds {
                break;
            }
            let t = Instant::now();
            let page = store.query_events(&q).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = page.items.len();
        }
        times.sort_by(f64::total_cmp);
        let latency = Latency {
            case,
            rows,
            runs: times.len(),
            p50: percentile(&times, 0.50),
            p95: percentile(&times, 0.95),
            p99: percentile(&times, 0.99),
            target,
        };
        eprintln!(
            "  {}: {} rows, {} runs, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms ({:.1}s)",
            latency.case,
            latency.rows,
            latency.runs,
            latency.p50,
            latency.p95,
            latency.p99,
            started.elapsed().as_secs_f64()
        );
        out.push(latency);
    }
    Ok(out)
}

pub(crate) fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

pub(crate) async fn sqlite_size(path: &Path) -> Result<String> {
    // Fold the WAL into the file first, so the size is the database's.
    let mut conn = sqlite_options(path).connect().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    let objects: Result<Vec<(String, i64)>, _> = sqlx::query_as(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8",
    )
    .fetch_all(&mut conn)
    .await;
    conn.close().await?;
    let mut out = mib(file_size(path) + file_size(&path.with_extension("db-wal")));
    if let Ok(objects) = objects {
        let parts: Vec<String> = objects
            .into_iter()
            .map(|(name, size)| format!("{name} {}", mib(size as u64)))
            .collect();
        let _ = write!(out, " ({})", parts.join(", "));
    }
    Ok(out)
}

pub(crate) async fn pg_size(pool: &PgPool, schema: &str) -> Result<String> {
    let (table, indexes): (i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint, \
                coalesce(sum(pg_indexes_size(relid)), 0)::bigint \
         FROM pg_partition_tree('{schema}.events') WHERE isleaf"
    )))
    .fetch_one(pool)
    .await?;
    let per_index: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT p.relname::text, sum(pg_relation_size(c.indexrelid))::bigint \
         FROM pg_partition_tree('{schema}.events') t \
         JOIN pg_index c ON c.indrelid = t.relid \
         JOIN pg_inherits i ON i.inhrelid = c.indexrelid \
         JOIN pg_class p ON p.oid = i.inhparent \
         WHERE t.isleaf GROUP BY 1 ORDER BY 2 DESC"
    )))
    .fetch_all(pool)
    .await?;
    let parts: Vec<String> = per_index
        .into_iter()
        .map(|(name, size)| format!("{name} {}", mib(size as u64)))
        .collect();
    Ok(format!(
        "{} (table with TOAST {}, indexes {}: {})",
        mib((table + indexes) as u64),
        mib(table as u64),
        mib(indexes as u64),
        parts.join(", ")
    ))
}
