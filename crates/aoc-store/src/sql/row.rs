//! Rows as plain values: each engine converts its own rows once, and every decoder is shared.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StoreError, StoreResult};

/// A column's value, in the few types the engines store.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Timestamp(DateTime<Utc>),
    Uuid(Uuid),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Integer(_) => "integer",
            Self::Float(_) => "float",
            Self::Text(_) => "text",
            Self::Bytes(_) => "bytes",
            Self::Timestamp(_) => "timestamp",
            Self::Uuid(_) => "uuid",
        }
    }
}

/// One row. Each column is read once: reading takes its value out.
///
/// Times read from integers are microseconds since the Unix epoch, and ids read from bytes are
/// their 16 bytes (how SQLite keeps both).
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

fn corrupt(column: &str, want: &str, got: &Value) -> StoreError {
    StoreError::Corrupt(format!("{column}: expected {want}, found {}", got.kind()))
}

impl Row {
    /// `values` in the order of `columns` (shared by the rows of one result).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    fn take(&mut self, column: &str) -> StoreResult<Value> {
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {column}")))?;
        Ok(std::mem::replace(&mut self.values[index], Value::Null))
    }

    fn required<T>(column: &str, value: Option<T>) -> StoreResult<T> {
        value.ok_or_else(|| StoreError::Corrupt(format!("{column} is null")))
    }

    pub fn opt_text(&mut self, column: &str) -> StoreResult<Option<String>> {
        match self.take(column)? {
            Value::Null => Ok(None),
            Value::Text(text) => Ok(Some(text)),
            other => Err(corrupt(column, "text", &other)),
        }
    }

    pub fn text(&mut self, column: &str) -> StoreResult<String> {
        let value = self.opt_text(column)?;
        Self::required(column, value)
    }

    pub fn opt_integer(&mut self, column: &str) -> StoreResult<Option<i64>> {
        match self.take(column)? {
            Value::Null => Ok(None),
            Value::Integer(value) => Ok(Some(value)),
            other => Err(corrupt(column, "integer", &other)),
        }
    }

    pub fn integer(&mut self, column: &str) -> StoreResult<i64> {
        let value = self.opt_integer(column)?;
        Self::required(column, value)
    }

    pub fn float(&mut self, column: &str) -> StoreResult<f64> {
        match self.take(column)? {
            Value::Float(value) => Ok(value),
            Value::Integer(value) => Ok(value as f64),
            other => Err(corrupt(column, "float", &other)),
        }
    }

    pub fn opt_time(&mut self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        match self.take(column)? {
            Value::Null => Ok(None),
            Value::Timestamp(at) => Ok(Some(at)),
            Value::Integer(micros) => super::from_micros(micros, column).map(Some),
            other => Err(corrupt(column, "timestamp", &other)),
        }
    }

    pub fn time(&mut self, column: &str) -> StoreResult<DateTime<Utc>> {
        let value = self.opt_time(column)?;
        Self::required(column, value)
    }

    pub fn uuid(&mut self, column: &str) -> StoreResult<Uuid> {
        match self.take(column)? {
            Value::Uuid(id) => Ok(id),
            Value::Bytes(bytes) => Uuid::from_slice(&bytes)
                .map_err(|_| StoreError::Corrupt(format!("{column} is not 16 bytes"))),
            other => Err(corrupt(column, "uuid", &other)),
        }
    }

    pub fn bytes(&mut self, column: &str) -> StoreResult<Vec<u8>> {
        match self.take(column)? {
            Value::Bytes(bytes) => Ok(bytes),
            other => Err(corrupt(column, "bytes", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_engines_representations() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time");
        let id = Uuid::from_bytes([7; 16]);
        let columns: Arc<[String]> = ["at", "id", "n"].map(String::from).into();
        let mut sqlite = Row::new(
            columns.clone(),
            vec![
                Value::Integer(at.timestamp_micros()),
                Value::Bytes(id.as_bytes().to_vec()),
                Value::Integer(3),
            ],
        );
        let mut postgres = Row::new(
            columns,
            vec![Value::Timestamp(at), Value::Uuid(id), Value::Null],
        );
        assert_eq!(sqlite.time("at").expect("at"), at);
        assert_eq!(sqlite.uuid("id").expect("id"), id);
        assert_eq!(sqlite.float("n").expect("n"), 3.0);
        assert_eq!(postgres.time("at").expect("at"), at);
        assert_eq!(postgres.uuid("id").expect("id"), id);
        assert_eq!(postgres.opt_integer("n").expect("n"), None);
        assert!(postgres.integer("missing").is_err());
    }
}
