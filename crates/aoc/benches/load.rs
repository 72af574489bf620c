//! Load: `aoc serve` (the real binary) under concurrent clients on loopback, each case for a
//! bounded time, reporting throughput and latency percentiles. `/health` is the peer: the same
//! server and HTTP stack without the store.
//!
//! ```sh
//! # a 1,000,000-event SQLite file, made once by the store bench
//! cargo bench -p aoc --bench store -- --events 1000000 --engine sqlite --no-queries --sqlite-dir /tmp/aoc-bench
//! cargo bench -p aoc --bench load -- --database-url sqlite:///tmp/aoc-bench/aoc.db [--clients 64] [--seconds 20] [--uncompressed]
//! ```
//!
//! Cases: `/health`; the Events page's first page (`/api/events?page_size=50`), as gzip and as
//! brotli (each kept encoded with the cached page); its figures and its facets over the default
//! 7 days. Every request has a 30-second timeout; one that fails or
//! times out is counted as an error, not as a latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[path = "common/server.rs"]
mod server;

struct Options {
    database_url: String,
    clients: usize,
    seconds: u64,
    /// Ask for uncompressed answers (by default the clients accept gzip, as browsers do).
    uncompressed: bool,
}

fn options() -> Result<Options> {
    let mut database_url = None;
    let (mut clients, mut seconds, mut uncompressed) = (64, 20, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} takes a whole number"))
        };
        match arg.as_str() {
            "--database-url" => database_url = args.next(),
            "--clients" => clients = number("--clients")?.max(1) as usize,
            "--seconds" => seconds = number("--seconds")?.max(1),
            "--uncompressed" => uncompressed = true,
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => bail!("unknown option {other}"),
        }
    }
    Ok(Options {
        database_url: database_url.context("--database-url is required (see the file's header)")?,
        clients,
        seconds,
        uncompressed,
    })
}

/// What the clients of one case saw.
#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
}

/// `clients` clients asking for `path` one request after another until `seconds` have passed;
/// with `accept`, sending that `Accept-Encoding` and reading the encoded bytes as they come.
async fn drive(
    base: &str,
    path: &str,
    opts: &Options,
    accept: Option<&'static str>,
) -> Result<(Outcome, f64)> {
    let (clients, seconds) = (opts.clients, opts.seconds);
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(accept) = accept {
        headers.insert(
            reqwest::header::ACCEPT_ENCODING,
            reqwest::header::HeaderValue::from_static(accept),
        );
    }
    let http = reqwest::Client::builder()
        .gzip(!opts.uncompressed && accept.is_none())
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = Arc::new(format!("{base}{path}"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url) = (http.clone(), Arc::clone(&url));
        tasks.spawn(async move {
            let mut outcome = Outcome::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let answer = http.get(url.as_str()).send().await;
                let ok = match answer {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                };
                if ok {
                    outcome.latencies.push(sent.elapsed());
                } else {
                    outcome.errors += 1;
                }
            }
            outcome
        });
    }
    let mut all = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        let done = done?;
        all.latencies.extend(done.latencies);
        all.errors += done.errors;
    }
    Ok((all, started.elapsed().as_secs_f64()))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = options()?;
    let (server, up) = server::start(&opts.database_url, &[]).await?;
    let idle = server::rss_kib(server.pid).map_or(0.0, |(rss, _)| rss as f64 / 1024.0);
    println!(
        "aoc serve up in {:.1} s, idle RSS {idle:.1} MiB; {} clients, {} s per case\n",
        up.as_secs_f64(),
        opts.clients,
        opts.seconds
    );
    println!("| case | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, path, accept) in [
        ("/health (peer)", "/health", None),
        ("first page", "/api/events?page_size=50", None),
        // What browsers prefer (they also accept gzip): kept as brotli beside the page.
        ("first page, brotli", "/api/events?page_size=50", Some("br")),
        (
            "figures, 7 days",
            "/api/events/aggregations?hours=168",
            None,
        ),
        ("facets, 7 days", "/api/events/facets?top=5&hours=168", None),
    ] {
        if accept.is_some() && opts.uncompressed {
            continue;
        }
        let (mut outcome, elapsed) = drive(&server.base, path, &opts, accept).await?;
        outcome.latencies.sort();
        let n = outcome.latencies.len();
        println!(
            "| {name} | {n} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            n as f64 / elapsed,
            percentile(&outcome.latencies, 0.5),
            percentile(&outcome.latencies, 0.95),
            percentile(&outcome.latencies, 0.99),
            outcome
                .latencies
                .last()
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
            outcome.errors
        );
    }
    let peak = server::rss_kib(server.pid).map_or(0.0, |(_, hwm)| hwm as f64 / 1024.0);
    println!("\npeak RSS over the run (VmHWM): {peak:.1} MiB");
    Ok(())
}
