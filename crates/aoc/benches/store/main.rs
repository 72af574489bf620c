//! Store benchmark: ingest and query figures for DESIGN.md's "Targets", printed as Markdown.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p aoc --bench store -- \
//!     [--events N] [--engine sqlite|postgres|both] [--iterations N] [--case-seconds S]
//!     [--min-runs N] [--sqlite-dir DIR] [--reuse-sqlite] [--no-queries] [--bare-page-size N]
//!     [--bare-setup SQL]...
//! ```
//!
//! `--sqlite-dir` keeps the SQLite files (for `EXPLAIN QUERY PLAN` afterwards) and
//! `--reuse-sqlite` queries them again without ingesting; `--bare-page-size`
//! and `--bare-setup` change the baseline only, to measure what an engine setting would be worth
//! before AOC adopts it (use them with one `--engine`: the SQL is the engine's own).
//!
//! * Generation (not timed): raw records cycling through every fixture shape, each mutated per
//!   index: unique ids, times spread over the 90 days ending now, ~2,000 users, ~5,000 client
//!   addresses, ~400 SharePoint file names.
//! * Ingest (timed): `normalize` + `Store::insert_events` in batches of 5,000. Interleaved batch by
//!   batch with the bare engine baseline: the same rows (from `EventColumns`) written into an
//!   identical table and indexes with the engine's plainest fast path (SQLite: prepared multi-row
//!   `INSERT`s in one transaction per batch; PostgreSQL: `COPY ... FROM STDIN`), so both see the
//!   same machine load and the same table sizes.
//! * Queries (timed): first pages and a deep page of `/api/events`-style queries through
//!   `Store::query_events`, each case run `--iterations` times (default 200).
//!
//! PostgreSQL: `AOC_BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! schemas `aoc_bench` (AOC) and `aoc_bench_bare` (baseline) are dropped and created.

mod bare;
mod engines;
mod generate;
mod measure;

use bare::*;
use engines::*;
use generate::*;
use measure::*;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolCopyExt, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgPool, SqliteConnection};

use aoc_model::search::SearchText;
use aoc_model::{Cursor, Event, EventQuery, EventResult, TenantId};
use aoc_normalize::{Context, RecordKind, detect_kind, normalize};
use aoc_store::{EventColumns, Store};
use aoc_store_postgres::PostgresStore;
use aoc_store_sqlite::SqliteStore;

const BATCH: usize = 5_000;
const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
const DAYS: i64 = 90;
const USERS: u64 = 2_000;
const IPS: u64 = 5_000;
const DEEP_PAGE: usize = 1_000;
const PAGE_SIZE: u32 = 50;
const BARE_COLUMNS: &str = "id, tenant_id, dedupe_key, source, service, timestamp, ingested_at, \
     operation, result, actor_upn, actor_id, client_ip, summary, payload, search, client_ip_key, country, target_keys, \
     target_names, activity_key, actor_keys, application, application_key";

const FIRST: [&str; 50] = [
    "kim", "lee", "dana", "megan", "omar", "alex", "sam", "jordan", "taylor", "chris", "pat",
    "robin", "jamie", "casey", "morgan", "riley", "avery", "quinn", "drew", "jesse", "noah",
    "emma", "liam", "olivia", "ava", "mia", "lucas", "sofia", "ethan", "isabella", "mason",
    "amelia", "logan", "harper", "elijah", "ella", "james", "aria", "aiden", "chloe", "carlos",
    "fatima", "yuki", "priya", "ivan", "anna", "ahmed", "lena", "marco", "nina",
];
const LAST: [&str; 40] = [
    "admin", "gomez", "park", "ross", "haddad", "smith", "nguyen", "garcia", "muller", "rossi",
    "tanaka", "kowalski", "johnson", "brown", "davis", "wilson", "moore", "clark", "lewis",
    "walker", "young", "allen", "king", "wright", "scott", "green", "baker", "adams", "nelson",
    "hill", "campbell", "mitchell", "roberts", "carter", "phillips", "evans", "turner", "torres",
    "parker", "collins",
];
const FILE_WORDS: [&str; 10] = [
    "payroll", "budget", "roadmap", "contract", "invoice", "forecast", "minutes", "handbook",
    "pricing", "salaries",
];
const FILE_EXTS: [&str; 4] = ["xlsx", "docx", "pdf", "pptx"];
const SITES: [&str; 8] = [
    "Finance",
    "HR",
    "Sales",
    "Legal",
    "Engineering",
    "Marketing",
    "Board",
    "IT",
];

// ---------------------------------------------------------------------------------------------
// Options and machine

struct Options {
    events: usize,
    sqlite: bool,
    postgres: bool,
    iterations: usize,
    /// A case stops early (after at least `MIN_RUNS`) once it has taken this long.
    case_seconds: f64,
    sqlite_dir: Option<PathBuf>,
    /// Experiments on the baseline only: SQLite page size, SQL run after the baseline's DDL
    /// (PostgreSQL: before its partitions are made), and skipping the query cases.
    bare_page_size: Option<u32>,
    bare_setup: Vec<String>,
    queries: bool,
    /// Query the SQLite files a previous run left in `--sqlite-dir` instead of ingesting again.
    reuse: bool,
    min_runs: usize,
    pg_url: String,
}

fn options() -> Result<Options> {
    let mut opts = Options {
        events: 1_000_000,
        sqlite: true,
        postgres: true,
        iterations: 200,
        case_seconds: 60.0,
        sqlite_dir: None,
        bare_page_size: None,
        bare_setup: Vec::new(),
        queries: true,
        reuse: false,
        min_runs: 30,
        pg_url: std::env::var("AOC_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--events" => opts.events = value("--events")?.replace('_', "").parse()?,
            "--iterations" => opts.iterations = value("--iterations")?.parse()?,
            "--case-seconds" => opts.case_seconds = value("--case-seconds")?.parse()?,
            "--sqlite-dir" => opts.sqlite_dir = Some(value("--sqlite-dir")?.into()),
            "--bare-page-size" => opts.bare_page_size = Some(value("--bare-page-size")?.parse()?),
            "--bare-setup" => opts.bare_setup.push(value("--bare-setup")?),
            "--no-queries" => opts.queries = false,
            "--reuse-sqlite" => opts.reuse = true,
            "--min-runs" => opts.min_runs = value("--min-runs")?.parse()?,
            "--engine" => match value("--engine")?.as_str() {
                "sqlite" => (opts.sqlite, opts.postgres) = (true, false),
                "postgres" => (opts.sqlite, opts.postgres) = (false, true),
                "both" => (opts.sqlite, opts.postgres) = (true, true),
                other => bail!("unknown engine {other}: sqlite, postgres or both"),
            },
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    if opts.events < BATCH {
        bail!("--events must be at least {BATCH}");
    }
    Ok(opts)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown")
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "nproc {cores}, CPU {cpu}, memory {:.1} GiB, load average at start {}",
        mem_kb as f64 / 1024.0 / 1024.0,
        load.join(" ")
    )
}

// ---------------------------------------------------------------------------------------------
// Measurement

#[derive(Default)]
struct Ingest {
    events: usize,
    normalize: StdDuration,
    store: StdDuration,
    bare: StdDuration,
    /// `EventColumns::new` for every event (done inside `insert_events`; timed apart, for insight).
    encode: StdDuration,
}

impl Ingest {
    fn aoc_rate(&self) -> f64 {
        self.events as f64 / (self.normalize + self.store).as_secs_f64()
    }
    fn normalize_rate(&self) -> f64 {
        self.events as f64 / self.normalize.as_secs_f64()
    }
    fn store_rate(&self) -> f64 {
        self.events as f64 / self.store.as_secs_f64()
    }
    fn encode_rate(&self) -> f64 {
        self.events as f64 / self.encode.as_secs_f64()
    }
    fn bare_rate(&self) -> f64 {
        self.events as f64 / self.bare.as_secs_f64()
    }
}

struct Latency {
    case: String,
    rows: usize,
    runs: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    target: f64,
}

struct EngineReport {
    engine: &'static str,
    ingest: Ingest,
    size: String,
    queries: Vec<Latency>,
}

// ---------------------------------------------------------------------------------------------
// Report

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn report(opts: &Options, machine: &str, reports: &[EngineReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {machine}\n");
    let _ = writeln!(
        out,
        "Events: {} (batches of {BATCH}, 90 days, ~{USERS} users, ~{IPS} addresses); {} runs per query case, fewer (at least {}) once a case passes {} s\n",
        opts.events, opts.iterations, opts.min_runs, opts.case_seconds
    );
    let _ = writeln!(
        out,
        "| engine | AOC ingest (normalize + store) | normalize alone | store alone | of which EventColumns | bare engine, same rows and indexes | AOC / bare | target | verdict |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    );
    for r in reports {
        let i = &r.ingest;
        let (floor, bare_name) = if r.engine == "SQLite" {
            (100_000.0, "prepared multi-row INSERT")
        } else {
            (50_000.0, "COPY FROM STDIN")
        };
        let share = i.aoc_rate() / i.bare_rate() * 100.0;
        let _ = writeln!(
            out,
            "| {} | {:.0} ev/s | {:.0} ev/s | {:.0} ev/s | {:.0} ev/s | {:.0} ev/s ({bare_name}) | {share:.0} % | ≥ {floor:.0} ev/s and ≥ 80 % | {} / {} |",
            r.engine,
            i.aoc_rate(),
            i.normalize_rate(),
            i.store_rate(),
            i.encode_rate(),
            i.bare_rate(),
            verdict(i.aoc_rate() >= floor),
            verdict(share >= 80.0)
        );
    }
    let _ = writeln!(out);
    for r in reports {
        let _ = writeln!(out, "{} size after ingest: {}\n", r.engine, r.size);
    }
    let _ = write!(out, "| query (page_size {PAGE_SIZE}) |");
    for r in reports {
        let _ = write!(
            out,
            " {0} rows | {0} runs | {0} p50 ms | {0} p95 ms | {0} p99 ms |",
            r.engine
        );
    }
    let _ = writeln!(out, " target p95 | verdict |");
    let _ = write!(out, "| --- |");
    for _ in reports {
        let _ = write!(out, " ---: | ---: | ---: | ---: | ---: |");
    }
    let _ = writeln!(out, " --- | --- |");
    let cases = reports.first().map_or(0, |r| r.queries.len());
    for k in 0..cases {
        let first = &reports[0].queries[k];
        let _ = write!(out, "| {} |", first.case);
        let mut ok = true;
        for r in reports {
            let l = &r.queries[k];
            ok &= l.p95 <= l.target;
            let _ = write!(
                out,
                " {} | {} | {:.2} | {:.2} | {:.2} |",
                l.rows, l.runs, l.p50, l.p95, l.p99
            );
        }
        let _ = writeln!(out, " ≤ {:.0} ms | {} |", first.target, verdict(ok));
    }
    out
}

fn main() -> Result<()> {
    let opts = options()?;
    let machine = machine();
    eprintln!("{machine}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let generator = Generator::new(opts.events);
        let mut reports = Vec::new();
        if opts.sqlite {
            reports.push(run_sqlite(&opts, &generator).await?);
        }
        if opts.postgres {
            reports.push(run_postgres(&opts, &generator).await?);
        }
        println!("{}", report(&opts, &machine, &reports));
        Ok(())
    })
}
