//! End-to-end tests of the `aoc` binary: real processes, real files, real SQLite and PostgreSQL.
//! One test binary with a module per area (each file under tests/ would link its own).

mod cli;
mod collect;
mod dedupe;
mod import;
mod jobs;
mod replica;
mod serve;
mod support;
mod webhook;
