//! A fresh PostgreSQL schema for each test (feature `testing`): the one helper every crate's
//! tests and the store benchmark use, so a test database is made the same way everywhere.

use sqlx::{AssertSqlSafe, PgPool};

use aoc_store::{Store, StoreError, StoreResult};

use crate::PostgresStore;

/// The server tests use: `AOC_TEST_DATABASE_URL`, else the local one.
pub fn test_database_url() -> String {
    std::env::var("AOC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its connections' `search_path` set to `schema`.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// Drops `schema` at `url` (an identifier the caller chose, never user input) and creates it
/// empty; returns the URL of connections that work in it.
///
/// # Errors
/// [`StoreError::Unavailable`] when the server cannot be reached, [`StoreError::Internal`]
/// when it refuses the DDL.
pub async fn recreate_schema(url: &str, schema: &str) -> StoreResult<String> {
    let admin = PgPool::connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(format!("PostgreSQL at {url}: {e}")))?;
    for ddl in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(AssertSqlSafe(ddl))
            .execute(&admin)
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    admin.close().await;
    Ok(with_search_path(url, schema))
}

/// A fresh, empty `schema` on the test server; the URL of connections that work in it. A test
/// fails, never skips, when the server cannot be reached.
pub async fn fresh_schema(schema: &str) -> String {
    recreate_schema(&test_database_url(), schema)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at AOC_TEST_DATABASE_URL: {e}"))
}

/// A migrated store in a fresh `schema` of the test server.
pub async fn fresh_store(schema: &str) -> PostgresStore {
    let store = PostgresStore::connect(&fresh_schema(schema).await).expect("url");
    store.migrate().await.expect("migrate");
    store
}
