//! Shared statements on SQLite: binds in (times as microseconds since the Unix epoch, ids as
//! their 16 bytes), plain rows out.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Column as _, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use aoc_store::sql::{Row, SqlTransaction, Statement, Value, micros};
use aoc_store::{Bind, StoreError, StoreResult};

use crate::map_err;

/// `statement` with its numbered placeholders (`?7`, `$7`) made anonymous (`?`) and its binds
/// put in the order they appear, repeated where a number is.
///
/// Why: SQLite names a numbered placeholder, and sqlx looks up each placeholder's name to find
/// its value; SQLite finds a name by walking the statement's list of names, so binding *n*
/// numbered placeholders costs *n²*. A 1,000-row upsert of 7 values each spent half of
/// ingest's time there. Anonymous placeholders have no names and bind in constant time.
/// Text inside quotes is left as it is; a statement that already mixes in anonymous
/// placeholders is returned unchanged.
pub(crate) fn positional(statement: Statement) -> StoreResult<(String, Vec<Bind>)> {
    let Statement { sql, binds } = statement;
    if binds.is_empty() {
        return Ok((sql, binds));
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut ordered = Vec::with_capacity(binds.len());
    let mut quote: Option<u8> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' | b'`' => quote = Some(b),
            b'?' | b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                if digits == 0 {
                    if b == b'?' {
                        // An anonymous placeholder already: numbering is SQLite's own.
                        return Ok((sql, binds));
                    }
                } else {
                    let number: usize = sql[i + 1..i + 1 + digits]
                        .parse()
                        .map_err(|_| StoreError::Internal(format!("placeholder at byte {i}")))?;
                    let bind = number
                        .checked_sub(1)
                        .and_then(|at| binds.get(at))
                        .ok_or_else(|| {
                            StoreError::Internal(format!(
                                "placeholder {number} of a statement with {} values",
                                binds.len()
                            ))
                        })?;
                    ordered.push(bind.clone());
                    out.push_str(&sql[copied..i]);
                    out.push('?');
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    Ok((out, ordered))
}

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
    let (sql, binds) = positional(statement)?;
    let args = arguments(binds)?;
    let done = sqlx::query_with(AssertSqlSafe(sql), args)
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
    let (sql, binds) = positional(statement)?;
    let args = arguments(binds)?;
    let rows = sqlx::query_with(AssertSqlSafe(sql), args)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(binds: &[Bind]) -> Vec<String> {
        binds
            .iter()
            .map(|b| match b {
                Bind::Text(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn numbered_placeholders_become_anonymous_in_the_order_they_appear() {
        let statement = Statement::raw(
            "SELECT ?2, '?1 $1 it''s', \"?3\", $1 FROM t WHERE a = ?2 AND b = ?10".into(),
            (1..=10).map(|i| Bind::Text(format!("v{i}"))).collect(),
        );
        let (sql, binds) = positional(statement).expect("rewritten");
        assert_eq!(
            sql,
            "SELECT ?, '?1 $1 it''s', \"?3\", ? FROM t WHERE a = ? AND b = ?"
        );
        assert_eq!(texts(&binds), ["v2", "v1", "v2", "v10"]);
    }

    #[test]
    fn anonymous_placeholders_and_statements_without_values_are_kept() {
        let anonymous = Statement::raw("SELECT ?1, ?".into(), vec![Bind::Integer(1)]);
        let (sql, binds) = positional(anonymous).expect("kept");
        assert_eq!((sql.as_str(), binds.len()), ("SELECT ?1, ?", 1));
        let plain = Statement::raw("SELECT '$1'".into(), Vec::new());
        assert_eq!(positional(plain).expect("kept").0, "SELECT '$1'");
    }

    #[test]
    fn a_placeholder_without_its_value_is_an_error_not_a_null() {
        let statement = Statement::raw("SELECT ?3".into(), vec![Bind::Integer(1)]);
        assert!(positional(statement).is_err());
    }
}
