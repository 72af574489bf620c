//! The command line. Each setting is a flag and an environment variable (a `.env` file is read
//! too); values are checked in `config`, which names the variable at fault.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aoc",
    version,
    about = "Admin Operations Center: who did what in your Microsoft 365 tenant"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct GlobalArgs {
    /// Where events are stored: sqlite://PATH (embedded, created on first start) or postgres://…
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://aoc.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Log format: json, text, or auto (text on a terminal, JSON lines otherwise)
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "auto")]
    pub log_format: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and apply migrations and retention)
    Serve(ServeArgs),
    /// Apply database schema migrations and exit
    Migrate,
    /// Import audit records from files: NDJSON, JSON array, Graph page or Purview CSV export
    Import(ImportArgs),
    /// Remove duplicate events left by older versions or other paths, and print how many
    Dedupe(DedupeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on
    #[arg(long, env = "AOC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Comma-separated origins allowed to call the API from a browser (`*` for any, without credentials)
    #[arg(long, env = "CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// Days to keep events; older ones are deleted every hour
    #[arg(long, env = "RETENTION_DAYS", default_value = "90")]
    pub retention_days: String,

    /// Import the bundled sample tenant's records before serving, so the API shows events at once
    #[arg(long)]
    pub sample: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Files to import
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// File format: ndjson, json, graph or csv (detected when not given)
    #[arg(long)]
    pub format: Option<String>,

    /// Tenant the records belong to (otherwise read from each record)
    #[arg(long)]
    pub tenant: Option<String>,

    /// Print the report as one JSON object on standard output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DedupeArgs {
    /// Count the duplicates without removing them
    #[arg(long)]
    pub dry_run: bool,
}
