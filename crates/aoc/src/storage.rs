//! The one place that names the storage engines: `DATABASE_URL` picks one.

use std::sync::Arc;

use anyhow::Context as _;

use aoc_store::{InstrumentedStore, Store, StoreError};
use aoc_store_postgres::PostgresStore;
use aoc_store_sqlite::SqliteStore;

use crate::config::{ConfigError, DatabaseUrl, Engine};
use crate::telemetry::StoreCallTimed;

/// Opens the engine of `url` and applies its migrations. Store calls are timed into `/metrics`.
pub async fn open(url: &DatabaseUrl) -> anyhow::Result<Arc<dyn Store>> {
    open_with_replica(url, None).await
}

/// [`open`], with searches, figures and exports read from `replica` (`DATABASE_READ_URL`,
/// PostgreSQL only: [`DatabaseUrl::parse_read`] checked it).
pub async fn open_with_replica(
    url: &DatabaseUrl,
    replica: Option<&DatabaseUrl>,
) -> anyhow::Result<Arc<dyn Store>> {
    let engine: Arc<dyn Store> = match url.engine {
        Engine::Sqlite => Arc::new(
            SqliteStore::connect(url.expose())
                .await
                .map_err(|e| bad_url(url, e))?,
        ),
        Engine::Postgres => {
            let mut store = PostgresStore::connect(url.expose()).map_err(|e| bad_url(url, e))?;
            if let Some(replica) = replica {
                store = store.with_read_replica(replica.expose()).map_err(|e| {
                    ConfigError::new(
                        "DATABASE_READ_URL",
                        "database-read-url",
                        format!("{replica}: {e}"),
                    )
                })?;
            }
            Arc::new(store)
        }
    };
    let store: Arc<dyn Store> = Arc::new(InstrumentedStore::new(
        engine,
        |engine, operation, seconds, ok| {
            StoreCallTimed {
                engine,
                operation,
                seconds,
                ok,
            }
            .emit();
        },
    ));
    store
        .migrate()
        .await
        .with_context(|| format!("cannot prepare the database at {url}"))?;
    Ok(store)
}

fn bad_url(url: &DatabaseUrl, error: StoreError) -> anyhow::Error {
    match error {
        // A SQLite file that cannot be opened or created is a bad setting, like a bad URL.
        StoreError::InvalidArgument { message, .. }
        | StoreError::Unavailable(message)
        | StoreError::Internal(message)
            if url.engine == Engine::Sqlite =>
        {
            ConfigError::new("DATABASE_URL", "database-url", format!("{url}: {message}")).into()
        }
        StoreError::InvalidArgument { message, .. } => {
            ConfigError::new("DATABASE_URL", "database-url", format!("{url}: {message}")).into()
        }
        other => anyhow::Error::new(other).context(format!("cannot open the database at {url}")),
    }
}
