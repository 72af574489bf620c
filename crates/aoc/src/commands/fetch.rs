//! `aoc fetch`: one collection run from the command line, with a progress bar per source and a
//! summary (or `--json`). Exits 1 when a source failed, so schedulers notice.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use aoc_model::TenantId;
use aoc_sources::m365::{Progress, RunRequest, RunStatus, SourceKind, SourceRun};

use crate::cli::{FetchArgs, GlobalArgs};
use crate::collection;
use crate::config::collect::CollectConfig;
use crate::config::{ConfigError, DatabaseUrl};
use crate::storage;

/// Progress bars, one per (tenant, source), created when its run starts.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<(TenantId, SourceKind), ProgressBar>>,
    several_tenants: bool,
}

impl Bars {
    fn label(&self, tenant: &TenantId, source: &str) -> String {
        if self.several_tenants {
            format!(
                "{} {source}",
                &tenant.as_str()[..8.min(tenant.as_str().len())]
            )
        } else {
            source.to_owned()
        }
    }
}

impl Progress for Bars {
    fn started(&self, tenant: &TenantId, source: SourceKind) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<40} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(self.label(tenant, source.name()));
        bar.set_message("starting");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert((tenant.clone(), source), bar);
        }
    }

    fn advanced(&self, tenant: &TenantId, source: SourceKind, fetched: u64, new: u64) {
        if let Ok(bars) = self.bars.lock()
            && let Some(bar) = bars.get(&(tenant.clone(), source))
        {
            bar.set_message(format!("{fetched} fetched, {new} new"));
        }
    }

    fn finished(&self, run: &SourceRun) {
        let Ok(source) = run.source.parse::<SourceKind>() else {
            return;
        };
        let bar = self
            .bars
            .lock()
            .ok()
            .and_then(|mut bars| bars.remove(&(run.tenant_id.clone(), source)));
        let line = format!(
            "{} {}",
            self.label(&run.tenant_id, &run.source),
            describe(run)
        );
        match bar {
            Some(bar) => bar.finish_with_message(describe(run)),
            None => {
                let _ = self.multi.println(line);
            }
        }
    }
}

fn describe(run: &SourceRun) -> String {
    match run.status {
        RunStatus::Ok => {
            let mut text = format!("ok: {} fetched, {} new", run.fetched, run.new);
            if let Some(problem) = &run.problem {
                text.push_str(&format!(" (warning: {})", problem.message));
            }
            text
        }
        RunStatus::Skipped => "skipped: another AOC process is fetching it".into(),
        RunStatus::Failed => format!(
            "FAILED: {}",
            run.problem
                .as_ref()
                .map_or("unknown error", |p| p.message.as_str())
        ),
    }
}

pub async fn run(global: &GlobalArgs, args: FetchArgs) -> anyhow::Result<()> {
    let hours = args
        .hours
        .as_deref()
        .map(|h| match h.trim().parse::<u32>() {
            Ok(n) if (1..=168).contains(&n) => Ok(n),
            _ => Err(ConfigError::option(
                "hours",
                format!("invalid value {h:?}: expected whole hours from 1 to 168"),
            )),
        })
        .transpose()?;
    let config = CollectConfig::from_args(&args.collect)?.ok_or_else(|| {
        ConfigError::new(
            "TENANT_ID",
            "tenant-id",
            "no tenant to fetch from: set TENANT_ID, CLIENT_ID and CLIENT_SECRET (or CLIENT_CERTIFICATE_PATH), or AOC_TENANTS_FILE",
        )
    })?;
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    let several_tenants = config.tenants.len() > 1;
    let collector = collection::build(store, config)?;
    let request = RunRequest {
        hours,
        ..RunRequest::default()
    };
    let interactive = !args.json && std::io::stderr().is_terminal();
    let bars = Bars {
        multi: if interactive {
            MultiProgress::new()
        } else {
            MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
        },
        bars: Mutex::default(),
        several_tenants,
    };
    let runs = collector.run(&request, &bars).await;
    let failed = runs
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .count();
    if args.json {
        let summary = json!({
            "runs": runs,
            "fetched": runs.iter().map(|r| r.fetched).sum::<u64>(),
            "new": runs.iter().map(|r| r.new).sum::<u64>(),
            "failed": failed,
        });
        println!("{summary}");
    } else {
        if !interactive {
            for run in &runs {
                eprintln!(
                    "{} {}",
                    bars.label(&run.tenant_id, &run.source),
                    describe(run)
                );
            }
        }
        eprintln!(
            "fetched {} records, {} new, from {} sources ({} failed)",
            runs.iter().map(|r| r.fetched).sum::<u64>(),
            runs.iter().map(|r| r.new).sum::<u64>(),
            runs.len(),
            failed
        );
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} sources failed", runs.len());
    }
    Ok(())
}
