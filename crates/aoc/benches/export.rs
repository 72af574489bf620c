//! Export throughput and memory: `aoc serve` (the real binary, as a child process) streams every
//! event of a database through `GET /api/events/export`, while this bench reads the stream,
//! counts the rows, and samples the server's resident memory.
//!
//! ```sh
//! # a 1,000,000-event SQLite file, made once by the store bench
//! cargo bench -p aoc --bench store -- --events 1000000 --engine sqlite --no-queries --sqlite-dir /tmp/aoc-bench
//! cargo bench -p aoc --bench export -- --database-url sqlite:///tmp/aoc-bench/aoc.db
//! ```
//!
//! Options: `--database-url URL` (required), `--formats csv,ndjson,json`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[path = "common/server.rs"]
mod server;
use server::rss_kib;

struct Options {
    database_url: String,
    formats: Vec<String>,
}

fn options() -> Result<Options> {
    let mut database_url = None;
    let mut formats = vec!["csv".to_owned(), "ndjson".to_owned(), "json".to_owned()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database-url" => database_url = args.next(),
            "--formats" => {
                formats = args
                    .next()
                    .context("--formats needs a value")?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => bail!("unknown option {other}"),
        }
    }
    Ok(Options {
        database_url: database_url.context("--database-url is required (see the file's header)")?,
        formats,
    })
}

/// Rows in a chunk of an export body: CSV records end with CRLF (the header is subtracted at
/// the end; `after_cr` carries a CR that ended the previous chunk), NDJSON and JSON lines with LF.
fn count_rows(chunk: &[u8], format: &str, after_cr: &mut bool) -> u64 {
    let rows = match format {
        "csv" => {
            let split = u64::from(*after_cr && chunk.first() == Some(&b'\n'));
            split + chunk.windows(2).filter(|w| w == b"\r\n").count() as u64
        }
        _ => chunk.iter().filter(|&&b| b == b'\n').count() as u64,
    };
    *after_cr = chunk.last() == Some(&b'\r');
    rows
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = options()?;
    let (server, up) =
        server::start(&opts.database_url, &[("EXPORT_MAX_ROWS", "100000000")]).await?;
    let (base, pid) = (server.base.clone(), server.pid);
    let http = reqwest::Client::new();
    let (idle, _) = rss_kib(pid).context("read /proc")?;
    println!(
        "aoc serve up in {:.1} s, idle RSS {:.1} MiB",
        up.as_secs_f64(),
        idle as f64 / 1024.0
    );
    println!("| format | rows | bytes | seconds | rows/s | MB/s | peak RSS during export (MiB) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for format in &opts.formats {
        let mut response = http
            .get(format!("{base}/api/events/export?format={format}"))
            .send()
            .await?
            .error_for_status()?;
        let start = Instant::now();
        let (mut rows, mut bytes, mut peak) = (0u64, 0u64, 0u64);
        let mut after_cr = false;
        let mut last_sample = Instant::now();
        while let Some(chunk) = response.chunk().await? {
            rows += count_rows(&chunk, format, &mut after_cr);
            bytes += chunk.len() as u64;
            if last_sample.elapsed() > Duration::from_millis(20) {
                if let Some((rss, _)) = rss_kib(pid) {
                    peak = peak.max(rss);
                }
                last_sample = Instant::now();
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        if let Some((rss, _)) = rss_kib(pid) {
            peak = peak.max(rss);
        }
        // CSV: minus the header; JSON (`[`, a line per event, `]`): minus the last two breaks.
        let rows = match format.as_str() {
            "csv" => rows.saturating_sub(1),
            "json" => rows.saturating_sub(2),
            _ => rows,
        };
        println!(
            "| {format} | {rows} | {bytes} | {seconds:.1} | {:.0} | {:.1} | {:.1} |",
            rows as f64 / seconds,
            bytes as f64 / seconds / 1e6,
            peak as f64 / 1024.0
        );
    }
    if let Some((rss, hwm)) = rss_kib(pid) {
        println!(
            "after the exports: RSS {:.1} MiB, peak over the whole run (VmHWM) {:.1} MiB",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    drop(server);
    Ok(())
}
