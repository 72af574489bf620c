//! `aoc`: Admin Operations Center. This binary reads the configuration, picks the storage engine
//! named by `DATABASE_URL`, and runs one subcommand.

mod cli;
mod collection;
mod commands;
mod config;
mod logging;
mod sample;
mod services;
mod storage;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use config::ConfigError;

fn main() -> ExitCode {
    // `.env` fills in what the environment does not set; a missing file is fine.
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    let log_format = match config::LogFormat::parse(&cli.global.log_format) {
        Ok(format) => format,
        Err(e) => return config_failure(&e),
    };
    logging::init(log_format);
    if let Err(e) = dotenv
        && !e.not_found()
    {
        tracing::warn!(error = %e, ".env could not be read");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(&cli.global, args).await,
            Command::Migrate => commands::migrate::run(&cli.global).await,
            Command::Import(args) => commands::import::run(&cli.global, args).await,
            Command::Dedupe(args) => commands::dedupe::run(&cli.global, args).await,
            Command::Fetch(args) => commands::fetch::run(&cli.global, args).await,
            Command::Simulate(args) => commands::simulate::run(args).await,
            Command::Worker(args) => commands::worker::run(&cli.global, args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<ConfigError>() {
            Some(config) => config_failure(config),
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// A bad setting: one line naming it, exit code 2.
fn config_failure(error: &ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}
