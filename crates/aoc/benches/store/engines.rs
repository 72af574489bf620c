//! One run per engine: set-up, ingest, queries, size.

use aoc_store_postgres::testing::recreate_schema;

use super::*;

// ---------------------------------------------------------------------------------------------
// Engines

/// The query cases on `store`, unless `--no-queries`.
async fn query_cases(
    opts: &Options,
    store: &dyn Store,
    generator: &Generator,
) -> Result<Vec<Latency>> {
    if !opts.queries {
        return Ok(Vec::new());
    }
    queries(
        store,
        generator,
        opts.iterations,
        opts.case_seconds,
        opts.min_runs,
    )
    .await
}

pub(crate) async fn run_sqlite(opts: &Options, generator: &Generator) -> Result<EngineReport> {
    let tmp = tempfile::tempdir()?;
    let dir = opts.sqlite_dir.clone().unwrap_or_else(|| tmp.path().into());
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("aoc.db");
    let bare_path = dir.join("bare.db");
    for p in [&path, &bare_path].into_iter().filter(|_| !opts.reuse) {
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(p.with_extension(ext));
        }
    }
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    if opts.reuse {
        let (max,): (i64,) = sqlx::query_as("SELECT max(timestamp) FROM events")
            .fetch_one(&mut sqlite_options(&path).connect().await?)
            .await?;
        let mut generator = Generator::new(generator.n);
        generator.end =
            DateTime::from_timestamp_micros(max).unwrap_or_default() + Duration::seconds(1);
        generator.start = generator.end - Duration::days(DAYS);
        eprintln!("sqlite: querying the events of {}", dir.display());
        let queries = queries(
            &store,
            &generator,
            opts.iterations,
            opts.case_seconds,
            opts.min_runs,
        )
        .await?;
        return Ok(EngineReport {
            engine: "SQLite",
            ingest: Ingest::default(),
            size: sqlite_size(&path).await?,
            queries,
        });
    }
    let mut bare = Bare::Sqlite(Box::new(
        BareSqlite::open(&bare_path, opts.bare_page_size, &opts.bare_setup).await?,
    ));
    eprintln!(
        "sqlite: ingesting {} events into {}",
        generator.n,
        dir.display()
    );
    let tenant = TenantId::new(TENANT);
    let ingest = ingest(&store, &mut bare, generator, &tenant).await?;
    drop(bare);
    let size = format!(
        "AOC {}; bare {}",
        sqlite_size(&path).await?,
        sqlite_size(&bare_path).await?
    );
    eprintln!("sqlite: size {size}");
    let queries = query_cases(opts, &store, generator).await?;
    Ok(EngineReport {
        engine: "SQLite",
        ingest,
        size,
        queries,
    })
}

pub(crate) async fn run_postgres(opts: &Options, generator: &Generator) -> Result<EngineReport> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(PgConnectOptions::from_str(&opts.pg_url)?)
        .await
        .context("connecting to AOC_BENCH_DATABASE_URL")?;
    let aoc_url = recreate_schema(&opts.pg_url, "aoc_bench").await?;
    let bare_url = recreate_schema(&opts.pg_url, "aoc_bench_bare").await?;
    let store = PostgresStore::connect(&aoc_url)?;
    store.migrate().await?;
    let bare_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(PgConnectOptions::from_str(&bare_url)?)
        .await?;
    // The engine's own migrations make the table and indexes, so they are identical.
    let bare_store = PostgresStore::connect(&bare_url)?;
    bare_store.migrate().await?;
    drop(bare_store);
    for sql in &opts.bare_setup {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&bare_pool)
            .await?;
    }
    // The baseline's partitions exist up front; AOC creates its own on demand, in the timed loop.
    for (from, to) in months(generator.start, generator.end) {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE events_p{:04}_{:02} PARTITION OF events \
             FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')",
            from.year(),
            from.month()
        )))
        .execute(&bare_pool)
        .await?;
    }
    eprintln!("postgres: ingesting {} events", generator.n);
    let mut bare = Bare::Postgres(bare_pool.clone());
    let tenant = TenantId::new(TENANT);
    let ingest = ingest(&store, &mut bare, generator, &tenant).await?;
    // What autovacuum does after a bulk load anyway, done now so plans do not depend on timing.
    for schema in ["aoc_bench", "aoc_bench_bare"] {
        sqlx::raw_sql(AssertSqlSafe(format!("VACUUM ANALYZE {schema}.events")))
            .execute(&admin)
            .await?;
    }
    let size = format!(
        "AOC {}; bare {}",
        pg_size(&admin, "aoc_bench").await?,
        pg_size(&admin, "aoc_bench_bare").await?
    );
    eprintln!("postgres: size {size}");
    let queries = query_cases(opts, &store, generator).await?;
    Ok(EngineReport {
        engine: "PostgreSQL",
        ingest,
        size,
        queries,
    })
}
