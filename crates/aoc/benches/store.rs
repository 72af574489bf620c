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
     operation, result, actor_upn, actor_id, client_ip, summary, payload, search, client_ip_key, country, target_keys";

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
// Generation

/// splitmix64: a cheap, well-mixed hash of the index, so runs are reproducible.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn user_upn(u: u64) -> String {
    let first = FIRST[(u % 50) as usize];
    let last = LAST[(u / 50 % 40) as usize];
    format!("{first}.{last}@contoso.com")
}

fn user_name(u: u64) -> String {
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    format!(
        "{} {}",
        cap(FIRST[(u % 50) as usize]),
        cap(LAST[(u / 50 % 40) as usize])
    )
}

fn user_object_id(u: u64) -> String {
    format!("{:08x}-5a1e-4c0d-9e2b-{:012x}", mix(u) as u32, u)
}

fn ip(j: u64) -> IpAddr {
    IpAddr::from([
        198,
        18 + (j / 256) as u8,
        (j % 256) as u8,
        (j * 37 % 253 + 1) as u8,
    ])
}

/// One fixture record and what to replace in it.
struct Shape {
    raw: Value,
    source: &'static str,
    /// The e-mail addresses in the record (lowercased), in order of appearance: the n-th is
    /// replaced by the n-th user drawn for each generated record.
    emails: Vec<String>,
    /// The actor's object id and display name, replaced by those of the actor's new user.
    actor: Option<(usize, Option<String>, Option<String>)>,
}

fn is_email(s: &str) -> bool {
    s.contains('@')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

fn collect_emails(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if is_email(s) => {
            let s = s.to_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_emails(v, out)),
        Value::Object(obj) => obj.values().for_each(|v| collect_emails(v, out)),
        _ => {}
    }
}

fn shapes() -> Vec<Shape> {
    aoc_store::testsuite::data::fixture_records()
        .into_iter()
        .map(|raw| {
            let source = match detect_kind(&raw) {
                RecordKind::DirectoryAudit => "graph.directory_audits",
                RecordKind::SignIn => "graph.sign_ins",
                RecordKind::IntuneAudit => "graph.intune_audit",
                _ => match raw.get("Workload").and_then(Value::as_str) {
                    Some("Exchange") => "o365.Audit.Exchange",
                    Some("SharePoint" | "OneDrive") => "o365.Audit.SharePoint",
                    _ => "o365.Audit.AzureActiveDirectory",
                },
            };
            let mut emails = Vec::new();
            collect_emails(&raw, &mut emails);
            let actor = normalize(raw.clone(), &Context::new(source))
                .ok()
                .and_then(|event| {
                    let upn = event.actor.upn?.to_lowercase();
                    let k = emails.iter().position(|e| *e == upn)?;
                    let id = event.actor.id.filter(|id| !id.contains('@'));
                    Some((k, id.map(|i| i.to_lowercase()), event.actor.display_name))
                });
            Shape {
                raw,
                source,
                emails,
                actor,
            }
        })
        .collect()
}

/// Rewrites every string of `value` found in `map` (by lowercase), and `ip[:port]` strings.
fn rewrite(value: &mut Value, map: &HashMap<String, String>, new_ip: &str) {
    match value {
        Value::String(s) => {
            if let Some(new) = map.get(&s.to_lowercase()) {
                *s = new.clone();
            } else if s.parse::<IpAddr>().is_ok() {
                *s = new_ip.to_owned();
            } else if let Some((host, port)) = s.rsplit_once(':')
                && host.parse::<std::net::Ipv4Addr>().is_ok()
                && port.parse::<u16>().is_ok()
            {
                *s = format!("{new_ip}:{port}");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, map, new_ip)),
        Value::Object(obj) => obj.values_mut().for_each(|v| rewrite(v, map, new_ip)),
        _ => {}
    }
}

fn set(raw: &mut Value, key: &str, value: String) {
    if let Some(obj) = raw.as_object_mut()
        && obj.contains_key(key)
    {
        obj.insert(key.to_owned(), Value::String(value));
    }
}

struct Generator {
    shapes: Vec<Shape>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    n: usize,
}

impl Generator {
    fn new(n: usize) -> Self {
        let end = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        Self {
            shapes: shapes(),
            start: end - Duration::days(DAYS),
            end,
            n,
        }
    }

    /// Record `i`'s time: in index order over the 90 days, jittered by up to ±30 minutes, as
    /// several collectors delivering roughly in time order would.
    fn time(&self, i: usize) -> DateTime<Utc> {
        let span = (self.end - self.start).num_microseconds().unwrap_or(1);
        let at = (span as i128 * i as i128 / self.n as i128) as i64;
        let jitter = (mix(i as u64 ^ 0x7177) % 3_600_000_000) as i64 - 1_800_000_000;
        let t = self.start + Duration::microseconds((at + jitter).clamp(0, span - 1));
        t.min(self.end - Duration::seconds(1))
    }

    fn record(&self, i: usize) -> (Value, &'static str) {
        let shape = &self.shapes[i % self.shapes.len()];
        let mut raw = shape.raw.clone();
        let h = mix(i as u64);
        let time = self.time(i);
        let users: Vec<u64> = (0..shape.emails.len())
            .map(|n| mix(h ^ (n as u64 + 1)) % USERS)
            .collect();
        let mut map: HashMap<String, String> = shape
            .emails
            .iter()
            .zip(&users)
            .map(|(email, &u)| (email.clone(), user_upn(u)))
            .collect();
        if let Some((k, id, name)) = &shape.actor {
            if let Some(id) = id {
                map.insert(id.clone(), user_object_id(users[*k]));
            }
            if let Some(name) = name.as_ref().filter(|n| !n.contains('@')) {
                map.insert(name.to_lowercase(), user_name(users[*k]));
            }
        }
        let new_ip = ip((h >> 20) % IPS).to_string();
        rewrite(&mut raw, &map, &new_ip);
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            (h >> 12) & 0xfff,
            i
        );
        set(&mut raw, "id", id.clone());
        set(&mut raw, "Id", id);
        let graph_time = time.to_rfc3339_opts(SecondsFormat::Micros, true);
        set(&mut raw, "activityDateTime", graph_time.clone());
        set(&mut raw, "createdDateTime", graph_time);
        set(
            &mut raw,
            "CreationTime",
            time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        );
        if raw.get("SourceFileName").is_some() {
            let f = (h >> 40) % 400;
            let site = SITES[(f % 8) as usize];
            let name = format!(
                "{}-{:02} {}.{}",
                2024 + f % 2,
                1 + f % 12,
                FILE_WORDS[(f / 4 % 10) as usize],
                FILE_EXTS[(f / 40 % 4) as usize]
            );
            let folder = "Shared Documents";
            set(
                &mut raw,
                "SiteUrl",
                format!("https://contoso.sharepoint.com/sites/{site}/"),
            );
            set(
                &mut raw,
                "ObjectId",
                format!("https://contoso.sharepoint.com/sites/{site}/{folder}/{name}"),
            );
            set(&mut raw, "SourceFileName", name);
        }
        (raw, shape.source)
    }

    fn batch(&self, from: usize, to: usize) -> Vec<(Value, &'static str)> {
        (from..to).map(|i| self.record(i)).collect()
    }
}

fn normalize_batch(batch: Vec<(Value, &'static str)>, tenant: &TenantId) -> Result<Vec<Event>> {
    batch
        .into_iter()
        .map(|(raw, source)| {
            normalize(raw, &Context::new(source).with_tenant(tenant.clone()))
                .map_err(anyhow::Error::from)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bare engines

/// The bare SQLite baseline: the same DDL in another file, rows written with prepared multi-row
/// INSERTs, one transaction per batch, `seq` assigned here instead of read back.
struct BareSqlite {
    conn: SqliteConnection,
    next_seq: i64,
}

const BARE_SQLITE_CHUNK: usize = 500;

impl BareSqlite {
    async fn open(path: &Path, page_size: Option<u32>, setup: &[String]) -> Result<Self> {
        // The engine's own migrations make the table and indexes, so they are identical.
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
        store.migrate().await?;
        drop(store);
        let mut conn = sqlite_options(path).connect().await?;
        if let Some(size) = page_size {
            // The file is still empty: a new page size takes with VACUUM, outside WAL mode.
            sqlx::raw_sql(AssertSqlSafe(format!(
                "PRAGMA journal_mode = DELETE; PRAGMA page_size = {size}; VACUUM; \
                 PRAGMA journal_mode = WAL"
            )))
            .execute(&mut conn)
            .await?;
        }
        for sql in setup {
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await?;
        }
        Ok(Self { conn, next_seq: 1 })
    }

    async fn insert(&mut self, columns: &[EventColumns<'_>], ingested_at: i64) -> Result<()> {
        let mut tx = self.conn.begin().await?;
        for chunk in columns.chunks(BARE_SQLITE_CHUNK) {
            let rows = vec!["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
            let sql = format!(
                "INSERT INTO events (seq, id, tenant_id, dedupe_key, source, service, timestamp, \
                 ingested_at, operation, result, actor_upn, actor_id, client_ip, summary, payload, \
                 client_ip_key, country, target_keys) VALUES {rows}"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (k, c) in chunk.iter().enumerate() {
                let e = c.event;
                q = q
                    .bind(self.next_seq + k as i64)
                    .bind(e.id.as_bytes().to_vec())
                    .bind(c.tenant_id.as_ref())
                    .bind(c.dedupe_key.as_ref())
                    .bind(c.source.as_ref())
                    .bind(c.service.as_ref())
                    .bind(e.timestamp.timestamp_micros())
                    .bind(ingested_at)
                    .bind(c.operation.as_ref())
                    .bind(e.result.as_str())
                    .bind(c.actor_upn.as_deref())
                    .bind(c.actor_id.as_deref())
                    .bind(c.client_ip.as_deref())
                    .bind(c.summary.as_ref())
                    .bind(c.payload.as_slice())
                    .bind(c.client_ip_key.map(|k| k.to_vec()))
                    .bind(c.country.as_deref())
                    .bind(c.target_keys.as_str());
            }
            q.execute(&mut *tx).await?;
            let rows = vec!["(?,?)"; chunk.len()].join(",");
            let sql = format!("INSERT INTO events_fts (rowid, body) VALUES {rows}");
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (k, c) in chunk.iter().enumerate() {
                q = q.bind(self.next_seq + k as i64).bind(c.search.as_str());
            }
            q.execute(&mut *tx).await?;
            self.next_seq += chunk.len() as i64;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    // The pragmas of SqliteStore::connect.
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(StdDuration::from_secs(10))
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
}

/// COPY text format: backslash, newline, carriage return and tab escaped.
fn copy_text(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("\\N");
        return;
    };
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

/// `to_tsvector('simple', tokens)` computed here: each token with its positions. Tokens are
/// letters and digits only (aoc_model::search), so they need no quoting.
fn tsvector_text(search: &str) -> String {
    let mut positions: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (n, token) in search.split(' ').filter(|t| !t.is_empty()).enumerate() {
        let pos = (n + 1).min(16_383);
        match index.get(token) {
            Some(&k) => positions[k].1.push(pos),
            None => {
                index.insert(token, positions.len());
                positions.push((token, vec![pos]));
            }
        }
    }
    let mut out = String::with_capacity(search.len() * 2);
    for (k, (token, pos)) in positions.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(token);
        out.push(':');
        for (p, n) in pos.iter().take(256).enumerate() {
            if p > 0 {
                out.push(',');
            }
            let _ = write!(out, "{n}");
        }
    }
    out
}

async fn bare_pg_copy(
    pool: &PgPool,
    columns: &[EventColumns<'_>],
    ingested_at: &str,
) -> Result<()> {
    let mut buf = String::with_capacity(columns.len() * 4096);
    for c in columns {
        let e = c.event;
        let ts = e.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true);
        let id = e.id.as_uuid().to_string();
        let search = tsvector_text(&c.search);
        // bytea as text is `\x` and hex; COPY's own escaping doubles the backslash.
        let mut payload = String::with_capacity(2 + c.payload.len() * 2);
        payload.push_str("\\\\x");
        for byte in &c.payload {
            let _ = write!(payload, "{byte:02x}");
        }
        let ip_key = c.client_ip_key.map(|key| {
            let mut hex = String::from("\\\\x");
            for byte in key {
                let _ = write!(hex, "{byte:02x}");
            }
            hex
        });
        let fields: [Option<&str>; 18] = [
            Some(&id),
            Some(&c.tenant_id),
            Some(&c.dedupe_key),
            Some(&c.source),
            Some(&c.service),
            Some(&ts),
            Some(ingested_at),
            Some(&c.operation),
            Some(e.result.as_str()),
            c.actor_upn.as_deref(),
            c.actor_id.as_deref(),
            c.client_ip.as_deref(),
            Some(&c.summary),
            None,
            Some(&search),
            None,
            c.country.as_deref(),
            Some(&c.target_keys),
        ];
        for (k, field) in fields.into_iter().enumerate() {
            if k > 0 {
                buf.push('\t');
            }
            if k == 13 {
                buf.push_str(&payload);
            } else if k == 15 {
                match &ip_key {
                    Some(hex) => buf.push_str(hex),
                    None => buf.push_str("\\N"),
                }
            } else {
                copy_text(&mut buf, field);
            }
        }
        buf.push('\n');
    }
    let statement = format!("COPY events ({BARE_COLUMNS}) FROM STDIN");
    let mut copy = pool.copy_in_raw(&statement).await?;
    copy.send(buf.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn months(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or_default();
    while m <= to.date_naive() {
        let next = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or_default();
        out.push((m, next));
        m = next;
    }
    out
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

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

enum Bare {
    Sqlite(Box<BareSqlite>),
    Postgres(PgPool),
}

async fn ingest(
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
        if inserted.new as usize != events.len() {
            bail!(
                "batch {from}: {} new of {} (generated ids must be unique)",
                inserted.new,
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

fn query(mutate: impl FnOnce(&mut EventQuery)) -> EventQuery {
    let mut q = EventQuery::default()
        .with_page_size(PAGE_SIZE)
        .unwrap_or_default();
    mutate(&mut q);
    q
}

fn text(q: &str) -> Option<SearchText> {
    SearchText::parse(q).ok()
}

/// The cursor of page `page` (1-based) of `q`, or of the last page when there are fewer.
async fn deep_cursor(
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

async fn queries(
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

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

async fn sqlite_size(path: &Path) -> Result<String> {
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

async fn pg_size(pool: &PgPool, schema: &str) -> Result<String> {
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

// ---------------------------------------------------------------------------------------------
// Engines

async fn run_sqlite(opts: &Options, generator: &Generator) -> Result<EngineReport> {
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
    let queries = if opts.queries {
        queries(
            &store,
            generator,
            opts.iterations,
            opts.case_seconds,
            opts.min_runs,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(EngineReport {
        engine: "SQLite",
        ingest,
        size,
        queries,
    })
}

fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

async fn run_postgres(opts: &Options, generator: &Generator) -> Result<EngineReport> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(PgConnectOptions::from_str(&opts.pg_url)?)
        .await
        .context("connecting to AOC_BENCH_DATABASE_URL")?;
    for schema in ["aoc_bench", "aoc_bench_bare"] {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .execute(&admin)
        .await?;
    }
    let store = PostgresStore::connect(&with_search_path(&opts.pg_url, "aoc_bench"))?;
    store.migrate().await?;
    let bare_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(PgConnectOptions::from_str(&with_search_path(
            &opts.pg_url,
            "aoc_bench_bare",
        ))?)
        .await?;
    // The engine's own migrations make the table and indexes, so they are identical.
    let bare_store = PostgresStore::connect(&with_search_path(&opts.pg_url, "aoc_bench_bare"))?;
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
    let queries = if opts.queries {
        queries(
            &store,
            generator,
            opts.iterations,
            opts.case_seconds,
            opts.min_runs,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(EngineReport {
        engine: "PostgreSQL",
        ingest,
        size,
        queries,
    })
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
