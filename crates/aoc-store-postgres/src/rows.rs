//! Shared statements on PostgreSQL: binds in with their types (a NULL too, so PostgreSQL can
//! infer nothing wrong), plain rows out.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Column as _, Postgres, Row as _, TypeInfo as _, ValueRef as _};
use uuid::Uuid;

use aoc_store::sql::{Row, SqlTransaction, Statement, Value};
use aoc_store::{Bind, BindType, StoreError, StoreResult};

use crate::map_err;

/// The binds of a statement as PostgreSQL arguments.
pub(crate) fn arguments(binds: Vec<Bind>) -> StoreResult<PgArguments> {
    use sqlx::Arguments as _;
    let mut args = PgArguments::default();
    for bind in binds {
        let added = match bind {
            Bind::Text(text) => args.add(text),
            Bind::Timestamp(ts) => args.add(ts),
            Bind::Id(id) => args.add(id.as_uuid()),
            Bind::Uuid(id) => args.add(id),
            Bind::Bytes(bytes) => args.add(bytes),
            Bind::Integer(value) => args.add(value),
            Bind::Float(value) => args.add(value),
            Bind::Null(BindType::Text) => args.add(None::<String>),
            Bind::Null(BindType::Timestamp) => args.add(None::<DateTime<Utc>>),
            Bind::Null(BindType::Bytes) => args.add(None::<Vec<u8>>),
            Bind::Null(BindType::Integer) => args.add(None::<i64>),
        };
        added.map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}

/// A shared statement as a query of this engine.
pub(crate) fn query(statement: Statement) -> StoreResult<Query<'static, Postgres, PgArguments>> {
    let args = arguments(statement.binds)?;
    Ok(sqlx::query_with(AssertSqlSafe(statement.sql), args))
}

/// Column `index` by its declared type.
fn value(row: &PgRow, index: usize) -> StoreResult<Value> {
    let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let raw = row.try_get_raw(index).map_err(get_err)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    let value = match type_name.as_str() {
        "INT8" => Value::Integer(row.try_get(index).map_err(get_err)?),
        "INT4" => Value::Integer(row.try_get::<i32, _>(index).map_err(get_err)?.into()),
        "INT2" => Value::Integer(row.try_get::<i16, _>(index).map_err(get_err)?.into()),
        "FLOAT8" => Value::Float(row.try_get(index).map_err(get_err)?),
        "TEXT" | "VARCHAR" | "NAME" => Value::Text(row.try_get(index).map_err(get_err)?),
        "BYTEA" => Value::Bytes(row.try_get(index).map_err(get_err)?),
        "UUID" => Value::Uuid(row.try_get::<Uuid, _>(index).map_err(get_err)?),
        "TIMESTAMPTZ" => Value::Timestamp(row.try_get(index).map_err(get_err)?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {index} has the unexpected type {other}"
            )));
        }
    };
    Ok(value)
}

pub(crate) fn plain_rows(rows: &[PgRow]) -> StoreResult<Vec<Row>> {
    let columns: Arc<[String]> = match rows.first() {
        Some(first) => first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        None => return Ok(Vec::new()),
    };
    let mut plain = Vec::with_capacity(rows.len());
    for row in rows {
        let values = (0..columns.len())
            .map(|i| value(row, i))
            .collect::<StoreResult<Vec<_>>>()?;
        plain.push(Row::new(Arc::clone(&columns), values));
    }
    Ok(plain)
}

/// A transaction on one pooled connection.
pub(crate) struct Tx(pub(crate) sqlx::Transaction<'static, Postgres>);

#[async_trait]
impl SqlTransaction for Tx {
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        let done = query(statement)?
            .execute(&mut *self.0)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn fetch(&mut self, statement: Statement) -> StoreResult<Vec<Row>> {
        let rows = query(statement)?
            .fetch_all(&mut *self.0)
            .await
            .map_err(map_err)?;
        plain_rows(&rows)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
    }
}
