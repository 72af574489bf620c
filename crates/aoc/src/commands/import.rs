//! `aoc import FILE…`: streams files through normalization into the store.
//!
//! A blocking thread reads and normalizes (CPU work), the async side stores batches; a bounded
//! channel between them keeps memory flat whatever the file size. Every batch is one idempotent
//! transaction, so an import cut short (even by SIGKILL) and run again stores each event once.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use aoc_model::{Event, TenantId};
use aoc_normalize::{Context, normalize, normalize_purview_row};
use aoc_sources::files::{FileFormat, Position, RawRecord, detect_format, read_file};
use aoc_store::{InsertReport, Store};

use crate::cli::{GlobalArgs, ImportArgs};
use crate::config::{ConfigError, DatabaseUrl};
use crate::storage;

/// Events per store transaction.
const BATCH: usize = 2_000;
/// Unreadable records listed in the report; the count is always complete.
const MAX_LISTED: usize = 10_000;

struct Batch {
    events: Vec<Event>,
    unreadable: Vec<(Position, String)>,
}

#[derive(Default)]
struct FileReport {
    path: PathBuf,
    format: Option<FileFormat>,
    stored: InsertReport,
    unreadable: u64,
    listed: Vec<(Position, String)>,
    error: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: ImportArgs) -> anyhow::Result<()> {
    let format = args
        .format
        .as_deref()
        .map(|f| {
            FileFormat::parse(f).ok_or_else(|| {
                ConfigError::option(
                    "format",
                    format!(
                        "invalid value {f:?}: expected one of {}",
                        FileFormat::NAMES.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let tenant = match args.tenant.as_deref().map(str::trim) {
        Some("") => return Err(ConfigError::option("tenant", "must not be empty").into()),
        other => other.map(TenantId::new),
    };
    let retention_days = crate::config::retention_days(&args.retention_days)?;
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    let kept_until = chrono::Utc::now() + chrono::Duration::days(i64::from(retention_days));
    let context = Context {
        tenant,
        source: "import".into(),
    };
    let mut reports = Vec::new();
    for path in &args.files {
        let report = import_file(&store, path, format, &context).await;
        if !args.json {
            print_file(&report);
        }
        reports.push(report);
    }
    let mut total = aoc_store::InsertReport::default();
    let mut unreadable = 0;
    for report in &reports {
        total.add(report.stored);
        unreadable += report.unreadable;
    }
    if args.json {
        let mut report = json_report(&reports, total, unreadable);
        report["kept_until"] = json!(kept_until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        report["retention_days"] = json!(retention_days);
        println!("{report}");
    } else {
        if reports.len() > 1 {
            println!(
                "total: {} new, {} seen via another path, {} duplicate, {unreadable} unreadable",
                total.new, total.joined, total.duplicate
            );
        }
        // Imported evidence is kept from its import, however old the records are.
        println!(
            "Imported events are kept for {retention_days} days from today (RETENTION_DAYS), \
             until {}, whatever their own dates.",
            kept_until.format("%Y-%m-%d")
        );
    }
    let failed: Vec<&FileReport> = reports.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} files could not be imported completely",
            failed.len(),
            reports.len()
        );
    }
    Ok(())
}

async fn import_file(
    store: &Arc<dyn Store>,
    path: &Path,
    format: Option<FileFormat>,
    context: &Context,
) -> FileReport {
    let mut report = FileReport {
        path: path.to_owned(),
        ..FileReport::default()
    };
    let format = match format.map_or_else(|| detect_format(path), Ok) {
        Ok(format) => format,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.format = Some(format);
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = progress_bar(path, size);
    let bytes_read = Arc::new(AtomicU64::new(0));

    let (sender, mut receiver) = mpsc::channel::<Batch>(4);
    let reader = {
        let path = path.to_owned();
        let bytes_read = Arc::clone(&bytes_read);
        let context = context.clone();
        tokio::task::spawn_blocking(move || {
            read_and_normalize(&path, format, bytes_read, &context, &sender)
        })
    };
    while let Some(batch) = receiver.recv().await {
        report.unreadable += batch.unreadable.len() as u64;
        let room = MAX_LISTED.saturating_sub(report.listed.len());
        report
            .listed
            .extend(batch.unreadable.into_iter().take(room));
        match store.insert_events(&batch.events).await {
            Ok(stored) => report.stored.add(stored),
            Err(e) => {
                // What was stored stays stored; a re-run continues where this stopped.
                report.error = Some(format!("storing failed: {e}"));
                break;
            }
        }
        progress.set_position(bytes_read.load(Ordering::Relaxed));
    }
    drop(receiver);
    match reader.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => report.error = report.error.take().or(Some(e.to_string())),
        Err(e) => report.error = report.error.take().or(Some(format!("reader failed: {e}"))),
    }
    progress.finish_and_clear();
    report
}

fn read_and_normalize(
    path: &Path,
    format: FileFormat,
    bytes_read: Arc<AtomicU64>,
    context: &Context,
    sender: &mpsc::Sender<Batch>,
) -> Result<(), aoc_sources::files::FileError> {
    let mut batch = Batch {
        events: Vec::with_capacity(BATCH),
        unreadable: Vec::new(),
    };
    let mut stopped = false;
    read_file(path, format, bytes_read, &mut |item| {
        let normalized = item.record.and_then(|record| {
            match record {
                RawRecord::Json(value) => normalize(value, context),
                RawRecord::Purview(row) => normalize_purview_row(row, context),
            }
            .map_err(|e| e.to_string())
        });
        match normalized {
            Ok(event) => batch.events.push(event),
            Err(reason) => batch.unreadable.push((item.position, reason)),
        }
        if batch.events.len() >= BATCH {
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    events: Vec::with_capacity(BATCH),
                    unreadable: Vec::new(),
                },
            );
            if sender.blocking_send(full).is_err() {
                // The storing side gave up; it reports why.
                stopped = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if !stopped {
        let _ = sender.blocking_send(batch);
    }
    Ok(())
}

fn progress_bar(path: &Path, size: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(path.display().to_string());
    bar
}

fn format_name(format: Option<FileFormat>) -> &'static str {
    match format {
        Some(FileFormat::Ndjson) => "ndjson",
        Some(FileFormat::JsonArray) => "json",
        Some(FileFormat::GraphPage) => "graph",
        Some(FileFormat::PurviewCsv) => "csv",
        None => "unknown",
    }
}

fn print_file(report: &FileReport) {
    println!(
        "{} ({}): {} new, {} seen via another path, {} duplicate, {} unreadable",
        report.path.display(),
        format_name(report.format),
        report.stored.new,
        report.stored.joined,
        report.stored.duplicate,
        report.unreadable
    );
    for (position, reason) in report.listed.iter().take(50) {
        println!("  {position}: {reason}");
    }
    if report.unreadable > 50 {
        println!(
            "  … and {} more unreadable records (use --json for the full list)",
            report.unreadable - 50
        );
    }
    if let Some(error) = &report.error {
        eprintln!("error: {}: {error}", report.path.display());
    }
}

fn position_json(position: Position) -> (&'static str, u64) {
    match position {
        Position::Line(n) => ("line", n),
        Position::Record(n) => ("record", n),
        Position::Row(n) => ("row", n),
    }
}

fn json_report(reports: &[FileReport], total: InsertReport, unreadable: u64) -> Value {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "path": r.path.display().to_string(),
                "format": format_name(r.format),
                "new": r.stored.new,
                "joined": r.stored.joined,
                "duplicate": r.stored.duplicate,
                "unreadable": r.unreadable,
                "error": r.error,
            })
        })
        .collect();
    let records: Vec<Value> = reports
        .iter()
        .flat_map(|r| {
            r.listed.iter().map(|(position, reason)| {
                let (kind, n) = position_json(*position);
                json!({ "file": r.path.display().to_string(), kind: n, "reason": reason })
            })
        })
        .collect();
    json!({
        "new": total.new,
        "joined": total.joined,
        "duplicate": total.duplicate,
        "unreadable": unreadable,
        "unreadable_records": records,
        "files": files,
    })
}
