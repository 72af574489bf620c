//! `aoc serve` (the real binary, bench profile) as a child process on a database, for the
//! benches that measure it from outside.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running `aoc serve`, killed when dropped.
pub struct Server {
    pub base: String,
    pub pid: u32,
    _child: tokio::process::Child,
}

/// Resident memory of a process, in KiB: now (`VmRSS`) and its peak so far (`VmHWM`).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `aoc serve` on `database_url` with no rate limit and every stored event kept, and
/// waits until `/health` answers.
pub async fn start(database_url: &str, extra_env: &[(&str, &str)]) -> Result<(Server, Duration)> {
    let port = free_port()?;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_aoc"));
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("AOC_BIND", format!("127.0.0.1:{port}"))
        .env("RATE_LIMIT_PER_MINUTE", "0")
        // The store bench's events span 90 days up to its run: keep them all.
        .env("RETENTION_DAYS", "36500")
        .env("RUST_LOG", "warn");
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("start aoc serve")?;
    let pid = child.id().context("server pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("aoc serve did not come up");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((
        Server {
            base,
            pid,
            _child: child,
        },
        started.elapsed(),
    ))
}
