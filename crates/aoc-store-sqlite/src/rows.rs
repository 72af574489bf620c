//! Shared statements on SQLite: binds in (times as microseconds since the Unix epoch, ids as
//! their 16 bytes), plain rows out.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Column as _, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use aoc_store::sql::{Row, SqlTransaction, Statement, Value, micros};
use aoc_store::{Bind, StoreError, StoreResult};

use crate::map_err;

/// The binds of a statement as SQLite arguments. SQLite's NULL has no type.
pub(crate) fn arguments(binds: Vec<Bind>) -> StoreResult<SqliteArguments> {
    use sqlx::Arguments as _;
    let mut args = SqliteArguments::default();
    for bind in binds {
        match bind {
            Bind::Text(text) => args.add(text),
            Bind::Timestamp(ts) => args.add(micros(ts)),
            Bind::Id(id) => args.add(id.as_bytes().to_vec()),
            Bind::Uuid(id) => args.add(id.as_bytes().to_vec()),
            Bind::Bytes(bytes) => args.add(bytes),
            Bind::Integer(value) => args.add(value),
            Bind::Float(value) => args.add(value),
            Bind::Null(_) => args.add(None::<i64>),
        }
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// Column `index` by its value's storage class (SQLite types values, not columns).
fn value(row: &SqliteRow, index: usize) -> StoreResult<Value> {
    let raw = row.try_get_raw(index).map_err(corrupt)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Integer(row.try_get(index).map_err(corrupt)?),
        "REAL" => Value::Float(row.try_get(index).map_err(corrupt)?),
        "TEXT" => Value::Text(row.try_get(index).map_err(corrupt)?),
        "BLOB" => Value::Bytes(row.try_get(index).map_err(corrupt)?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {index} holds a {other} value"
            )));
        }
    })
}

pub(crate) fn plain_rows(rows: &[SqliteRow]) -> StoreResult<Vec<Row>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    rows.iter()
        .map(|row| {
            let values = (0..columns.len())
                .map(|i| value(row, i))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Row::new(Arc::clone(&columns), values))
        })
        .collect()
}

/// Runs `statement` on a pool or connection; returns how many rows it changed.
pub(crate) async fn execute<'e>(
    on: impl sqlx::Executor<'e, Database = Sqlite>,
    statement: Statement,
) -> StoreResult<u64> {
    let args = arguments(statement.binds)?;
    let done = sqlx::query_with(AssertSqlSafe(statement.sql), args)
        .execute(on)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

/// Runs `statement` on a pool or connection; returns its rows.
pub(crate) async fn fetch<'e>(
    on: impl sqlx::Executor<'e, Database = Sqlite>,
    statement: Statement,
) -> StoreResult<Vec<Row>> {
    let args = arguments(statement.binds)?;
    let rows = sqlx::query_with(AssertSqlSafe(statement.sql), args)
        .fetch_all(on)
        .await
        .map_err(map_err)?;
    plain_rows(&rows)
}

/// A transaction on the writer connection.
pub(crate) struct Tx(pub(crate) sqlx::Transaction<'static, Sqlite>);

#[async_trait]
impl SqlTransaction for Tx {
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        execute(&mut *self.0, statement).await
    }

    async fn fetch(&mut self, statement: Statement) -> StoreResult<Vec<Row>> {
        fetch(&mut *self.0, statement).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
    }
}
