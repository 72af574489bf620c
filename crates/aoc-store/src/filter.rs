//! The events query as SQL, built once for both engines.
//!
//! User input only ever becomes bound parameters; the engines differ in placeholders, in how a
//! timestamp or id is bound, and in their full-text syntax, which a [`Dialect`] supplies.

use chrono::{DateTime, Utc};

use aoc_model::search::SearchText;
use aoc_model::{ActorFilter, EventId, EventQuery, Order};

/// A value to bind, in the order of the placeholders.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Timestamp(DateTime<Utc>),
    Id(EventId),
    Integer(i64),
}

/// What differs between engines.
pub trait Dialect {
    /// The placeholder of the `index`-th bound value (1-based).
    fn placeholder(&self, index: usize) -> String;
    /// A condition that holds when the event's full text matches the query bound at `placeholder`.
    fn text_match(&self, placeholder: &str) -> String;
    /// The full-text query to bind for `text`, in the engine's syntax. Tokens are letters and
    /// digits only (see `aoc_model::search`), so they never carry syntax of their own.
    fn text_query(&self, text: &SearchText) -> String;
}

/// A `WHERE` clause (without the keyword; `TRUE` when empty), its `ORDER BY`, and the binds.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    pub where_sql: String,
    pub order_sql: &'static str,
    pub binds: Vec<Bind>,
    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub limit: u32,
}

struct Builder<'d, D: Dialect> {
    dialect: &'d D,
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl<D: Dialect> Builder<'_, D> {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        self.dialect.placeholder(self.binds.len())
    }

    fn equals(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            let ph = self.bind(Bind::Text(crate::codec::clean_text(value).into_owned()));
            self.clauses.push(format!("{column} = {ph}"));
        }
    }
}

pub fn event_filter<D: Dialect>(query: &EventQuery, dialect: &D) -> SqlFilter {
    let mut b = Builder {
        dialect,
        clauses: Vec::new(),
        binds: Vec::new(),
    };
    if let Some(from) = query.from {
        let ph = b.bind(Bind::Timestamp(from));
        b.clauses.push(format!("timestamp >= {ph}"));
    }
    if let Some(to) = query.to {
        let ph = b.bind(Bind::Timestamp(to));
        b.clauses.push(format!("timestamp < {ph}"));
    }
    b.equals("tenant_id", query.tenant.as_ref().map(|t| t.as_str()));
    b.equals("source", query.source.as_deref());
    b.equals("service", query.service.as_deref());
    b.equals("operation", query.operation.as_deref());
    match query.actor_filter() {
        Some(ActorFilter::Upn(upn)) => b.equals("actor_upn", Some(&upn)),
        Some(ActorFilter::Id(id)) => b.equals("actor_id", Some(&id)),
        None => {}
    }
    b.equals(
        "client_ip",
        query.client_ip.map(|ip| ip.to_string()).as_deref(),
    );
    b.equals("result", query.result.map(|r| r.as_str()));
    if let Some(text) = &query.text {
        let ph = b.bind(Bind::Text(dialect.text_query(text)));
        let condition = dialect.text_match(&ph);
        b.clauses.push(condition);
    }
    if let Some(cursor) = query.cursor {
        let ts = b.bind(Bind::Timestamp(cursor.timestamp));
        let id = b.bind(Bind::Id(cursor.id));
        let op = match query.order {
            Order::NewestFirst => "<",
            Order::OldestFirst => ">",
        };
        b.clauses.push(format!("(timestamp, id) {op} ({ts}, {id})"));
    }
    let where_sql = if b.clauses.is_empty() {
        "TRUE".to_owned()
    } else {
        b.clauses.join(" AND ")
    };
    let order_sql = match query.order {
        Order::NewestFirst => "timestamp DESC, id DESC",
        Order::OldestFirst => "timestamp ASC, id ASC",
    };
    SqlFilter {
        where_sql,
        order_sql,
        binds: b.binds,
        limit: query.page_size() + 1,
    }
}

impl SqlFilter {
    /// The whole page query: the columns of [`crate::StoredRow`], in keyset order.
    pub fn select_sql(&self) -> String {
        self.select_from(crate::codec::SELECT_COLUMNS, "events")
    }

    /// The page query over `columns` of `table`.
    pub fn select_from(&self, columns: &str, table: &str) -> String {
        format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {} LIMIT {}",
            self.where_sql, self.order_sql, self.limit
        )
    }
}

/// Turns the rows fetched with [`SqlFilter::limit`] into a page and its next cursor.
pub fn into_page(mut items: Vec<aoc_model::Event>, query: &EventQuery) -> aoc_model::EventPage {
    let page_size = query.page_size() as usize;
    let next_cursor = if items.len() > page_size {
        items.truncate(page_size);
        items
            .last()
            .map(|last| aoc_model::Cursor::after(last).encode())
    } else {
        None
    };
    aoc_model::EventPage { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbered;
    impl Dialect for Numbered {
        fn placeholder(&self, index: usize) -> String {
            format!("${index}")
        }
        fn text_match(&self, placeholder: &str) -> String {
            format!("search @@ {placeholder}")
        }
        fn text_query(&self, text: &SearchText) -> String {
            format!("{:?}", text.phrases())
        }
    }

    #[test]
    fn every_value_is_a_bound_parameter() {
        let query = EventQuery {
            operation: Some("'; DROP TABLE events; --".into()),
            actor: Some("Admin.Kim@Contoso.com".into()),
            text: SearchText::parse("kim").ok(),
            ..EventQuery::default()
        };
        let sql = event_filter(&query, &Numbered);
        assert_eq!(
            sql.where_sql,
            "operation = $1 AND actor_upn = $2 AND search @@ $3"
        );
        assert_eq!(sql.binds[0], Bind::Text("'; DROP TABLE events; --".into()));
        assert_eq!(sql.binds[1], Bind::Text("admin.kim@contoso.com".into()));
        assert_eq!(sql.limit, 51);
    }
}
