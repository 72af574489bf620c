//! The events page as the dashboard asks for it: one page of 50, newest first, read from a
//! store and written as the JSON the API sends, before and after lists stopped carrying raw
//! records, and compressed as the API compresses it (gzip level 6, brotli quality 4: what
//! `tower_http`'s `CompressionLayer` uses).
//!
//! ```sh
//! # a 1,000,000-event SQLite file, made once by the store bench
//! cargo bench -p aoc --bench store -- --events 1000000 --engine sqlite --no-queries --sqlite-dir /tmp/aoc-bench
//! cargo bench -p aoc --bench page -- --database-url sqlite:///tmp/aoc-bench/aoc.db [--iterations 200]
//! ```
//!
//! "Before" is the same store returning each event's raw record (`without_raw: false`), as the
//! list route did; the old binary cannot open a file migrated by the new one, so the old design
//! is measured as its query, in the same run, on the same file.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use aoc_model::{Cursor, EventQuery};
use aoc_store::{EventStore, Store};

struct Options {
    database_url: String,
    iterations: usize,
}

fn options() -> Result<Options> {
    let mut database_url = None;
    let mut iterations = 200;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database-url" => database_url = args.next(),
            "--iterations" => {
                iterations = args
                    .next()
                    .context("--iterations needs a value")?
                    .parse()
                    .context("--iterations takes a whole number")?;
            }
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => bail!("unknown option {other}"),
        }
    }
    Ok(Options {
        database_url: database_url.context("--database-url is required (see the file's header)")?,
        iterations: iterations.max(1),
    })
}

/// Sizes and times of one way of answering a page.
#[derive(Default)]
struct Sample {
    bytes: usize,
    gzip: usize,
    brotli: usize,
    read: Vec<Duration>,
    gzip_time: Vec<Duration>,
    brotli_time: Vec<Duration>,
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let at = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[at].as_secs_f64() * 1000.0
}

fn gzip(body: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(body)?;
    Ok(encoder.finish()?)
}

fn brotli(body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
        writer.write_all(body)?;
    }
    Ok(out)
}

/// One page of `query`, as JSON, `iterations` times: read + serialize, then each compression.
async fn measure(store: &dyn Store, query: &EventQuery, iterations: usize) -> Result<Sample> {
    let mut sample = Sample::default();
    for _ in 0..iterations {
        let started = Instant::now();
        let page = store.query_events(query).await?;
        let body = serde_json::to_vec(&page)?;
        sample.read.push(started.elapsed());
        let started = Instant::now();
        let gz = gzip(&body)?;
        sample.gzip_time.push(started.elapsed());
        let started = Instant::now();
        let br = brotli(&body)?;
        sample.brotli_time.push(started.elapsed());
        (sample.bytes, sample.gzip, sample.brotli) = (body.len(), gz.len(), br.len());
    }
    Ok(sample)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let options = options()?;
    let store = aoc_store_sqlite::SqliteStore::connect(&options.database_url).await?;
    store.migrate().await?;
    let newest = EventQuery::default();
    let total = store
        .aggregate_events(&newest, &Default::default())
        .await?
        .total;
    // The page after 20 pages: a cursor, as "Older →" sends.
    let mut deep = newest.clone();
    for _ in 0..20 {
        let page = store.query_events(&deep).await?;
        let cursor = page.next_cursor.context("fewer than 21 pages")?;
        deep.cursor = Some(Cursor::decode(&cursor)?);
    }
    println!(
        "{total} events; {} iterations per case\n",
        options.iterations
    );
    println!(
        "| page | lists carry | JSON bytes | gzip bytes | brotli bytes | read + JSON p50 / p95 ms | gzip p50 ms | brotli p50 ms |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, query) in [("first (newest 50)", &newest), ("21st (cursor)", &deep)] {
        for (label, without_raw) in [("raw records (before)", false), ("no raw (after)", true)] {
            let query = EventQuery {
                without_raw,
                ..query.clone()
            };
            let mut s = measure(&store, &query, options.iterations).await?;
            println!(
                "| {name} | {label} | {} | {} | {} | {:.2} / {:.2} | {:.2} | {:.2} |",
                s.bytes,
                s.gzip,
                s.brotli,
                percentile(&mut s.read, 0.5),
                percentile(&mut s.read, 0.95),
                percentile(&mut s.gzip_time, 0.5),
                percentile(&mut s.brotli_time, 0.5),
            );
        }
    }
    // What else the Events page asks for its range: the figures (totals, chart, top values)
    // and the facets of Break down. "From the rollup" is the query as the page sends it;
    // "scan" is the same query with an exclusion that removes nothing, which the rollup does
    // not answer, so the events are counted as before it existed.
    let rounds = (options.iterations / 10).max(5);
    let now = chrono::Utc::now();
    println!(
        "\n| range | events | how | figures p50 / p95 ms | facets (7 kept) p50 / p95 ms | facets (all 9) p50 / p95 ms |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: |");
    let kept: Vec<aoc_model::Facet> = aoc_model::Facet::ALL
        .into_iter()
        .filter(|f| !matches!(f, aoc_model::Facet::Source | aoc_model::Facet::Target))
        .collect();
    for (range, from) in [
        ("24 hours", Some(now - chrono::Duration::hours(24))),
        ("7 days", Some(now - chrono::Duration::days(7))),
        ("everything", None),
    ] {
        for (how, scan) in [("from the rollup", false), ("scan (before)", true)] {
            let query = EventQuery {
                from,
                exclude: aoc_model::Exclusions {
                    service: scan.then(|| "no such service".to_owned()),
                    ..Default::default()
                },
                ..EventQuery::default()
            };
            let (mut figures, mut rolled, mut all) = (Vec::new(), Vec::new(), Vec::new());
            let mut total = 0;
            for _ in 0..rounds {
                let started = Instant::now();
                total = store
                    .aggregate_events(&query, &Default::default())
                    .await?
                    .total;
                figures.push(started.elapsed());
                let started = Instant::now();
                store.facets(&query, &kept, 5).await?;
                rolled.push(started.elapsed());
                let started = Instant::now();
                store.facets(&query, &aoc_model::Facet::ALL, 5).await?;
                all.push(started.elapsed());
            }
            println!(
                "| {range} | {total} | {how} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} |",
                percentile(&mut figures, 0.5),
                percentile(&mut figures, 0.95),
                percentile(&mut rolled, 0.5),
                percentile(&mut rolled, 0.95),
                percentile(&mut all, 0.5),
                percentile(&mut all, 0.95),
            );
        }
    }
    Ok(())
}
