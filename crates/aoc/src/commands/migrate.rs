//! `aoc migrate`: apply the schema migrations and exit.

use crate::cli::GlobalArgs;
use crate::config::DatabaseUrl;
use crate::storage;

pub async fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&global.database_url)?;
    let store = storage::open(&url).await?;
    println!("{} database at {url} is up to date", store.engine());
    Ok(())
}
