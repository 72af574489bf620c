//! The events query as SQL, built once for both engines.
//!
//! User input only ever becomes bound parameters; the engines differ in placeholders, in how a
//! timestamp or id is bound, and in their full-text syntax, which a [`FilterDialect`] supplies.

use chrono::{DateTime, Utc};

use uuid::Uuid;

use aoc_model::search::SearchText;
use aoc_model::{EventId, EventQuery, Order, QueryExpr, TextMatch};

/// A value to bind, in the order of the placeholders. Each engine binds it in its own types:
/// SQLite keeps times as microseconds since the Unix epoch and ids as their 16 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Timestamp(DateTime<Utc>),
    Id(EventId),
    /// Any other id (comments, jobs), stored like [`Bind::Id`].
    Uuid(Uuid),
    Bytes(Vec<u8>),
    Integer(i64),
    Float(f64),
    /// NULL, of the type a value would have.
    Null(BindType),
}

/// The type of a [`Bind::Null`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindType {
    Text,
    Timestamp,
    Bytes,
    Integer,
}

impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Bind {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<f64> for Bind {
    fn from(value: f64) -> Self {
        Self::Float(value)
    }
}

impl From<DateTime<Utc>> for Bind {
    fn from(value: DateTime<Utc>) -> Self {
        Self::Timestamp(value)
    }
}

impl From<EventId> for Bind {
    fn from(value: EventId) -> Self {
        Self::Id(value)
    }
}

impl From<Uuid> for Bind {
    fn from(value: Uuid) -> Self {
        Self::Uuid(value)
    }
}

impl From<Vec<u8>> for Bind {
    fn from(value: Vec<u8>) -> Self {
        Self::Bytes(value)
    }
}

impl From<Option<String>> for Bind {
    fn from(value: Option<String>) -> Self {
        value.map_or(Self::Null(BindType::Text), Self::Text)
    }
}

impl From<Option<DateTime<Utc>>> for Bind {
    fn from(value: Option<DateTime<Utc>>) -> Self {
        value.map_or(Self::Null(BindType::Timestamp), Self::Timestamp)
    }
}

impl From<Option<Vec<u8>>> for Bind {
    fn from(value: Option<Vec<u8>>) -> Self {
        value.map_or(Self::Null(BindType::Bytes), Self::Bytes)
    }
}

/// What differs between engines in the events query.
pub trait FilterDialect {
    /// The placeholder of the `index`-th bound value (1-based).
    fn placeholder(&self, index: usize) -> String;
    /// A condition that holds when the event's full text matches the query bound at `placeholder`.
    fn text_match(&self, placeholder: &str) -> String;
    /// The full-text query to bind for `text`, in the engine's syntax. Tokens are letters and
    /// digits only (see `aoc_model::search`), so they never carry syntax of their own.
    fn text_query(&self, text: &SearchText) -> String;
    /// [`FilterDialect::text_match`] for a text that was not planned (a term of a query-language
    /// expression); it must never be NULL.
    fn unplanned_text_match(&self, placeholder: &str) -> String {
        self.text_match(placeholder)
    }
    /// [`FilterDialect::text_query`] for a text that was not planned.
    fn unplanned_text_query(&self, text: &SearchText) -> String {
        self.text_query(text)
    }
    /// A condition that holds when `column` contains the text bound at `placeholder`.
    fn contains(&self, column: &str, placeholder: &str) -> String;
    /// The start of the `interval_seconds`-wide bucket (aligned on the Unix epoch) holding the
    /// row's `timestamp`, in the engine's timestamp type.
    fn time_bucket(&self, interval_seconds: i64) -> String;
    /// `expression` ordered by its bytes (code points), whatever the database's collation, so
    /// ties rank the same on every engine.
    fn byte_order(&self, expression: &str) -> String {
        expression.to_owned()
    }
    /// The `actor_keys` values the query's actor filter matches, when a lookup found few (see
    /// `sql::actor_lookup`): the filter is then a list the actor index answers.
    fn actor_keys(&self) -> Option<&[String]> {
        None
    }
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

struct Builder<'d, D: FilterDialect + ?Sized> {
    dialect: &'d D,
    clauses: Vec<String>,
    binds: Vec<Bind>,
    /// Building a term of [`EventQuery::expr`]: its text is not the one the engine planned.
    in_expression: bool,
}

impl<D: FilterDialect + ?Sized> Builder<'_, D> {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        self.dialect.placeholder(self.binds.len())
    }

    /// Binds text as every engine can store it (see [`crate::codec::clean_text`]).
    fn text(&mut self, value: &str) -> String {
        self.bind(Bind::Text(crate::codec::clean_text(value).into_owned()))
    }

    /// Binds what `value` compares with: its text, or its `LIKE` pattern.
    fn bind_match(&mut self, value: &TextMatch) -> String {
        match value {
            TextMatch::Pattern(_) => self.text(&value.like_pattern()),
            _ => self.text(value.needle()),
        }
    }

    /// `column`, lowercased, against the [`TextMatch`] bound at `ph` (by [`Self::bind_match`]).
    /// Lowercasing in SQL folds ASCII letters alike on both engines: service, operation and
    /// source names are ASCII.
    fn name_match(&self, column: &str, value: &TextMatch, ph: &str) -> String {
        match value {
            TextMatch::Part(_) => self.dialect.contains(&format!("lower({column})"), ph),
            TextMatch::Whole(_) => format!("lower({column}) = {ph}"),
            TextMatch::Pattern(_) => format!("lower({column}) LIKE {ph} ESCAPE '\\'"),
        }
    }

    /// The condition of a name filter, in parentheses, that holds exactly when the event matches
    /// (never NULL, so `NOT` of it excludes exactly what it includes).
    fn name_field(&mut self, field: NameField, value: &str) -> Option<String> {
        let dialect = self.dialect;
        Some(match field {
            NameField::Source => {
                // An event seen via the source matches too (see `aoc_model::activity`).
                let source = TextMatch::parse(value)?;
                let ph = self.bind_match(&source);
                let own = self.name_match("source", &source, &ph);
                let seen = self.name_match("s.source", &source, &ph);
                format!("({own} OR id IN (SELECT s.event_id FROM event_sightings s WHERE {seen}))")
            }
            NameField::Service => {
                let service = TextMatch::parse(value)?;
                let ph = self.bind_match(&service);
                format!("({})", self.name_match("service", &service, &ph))
            }
            NameField::Operation => {
                let operation = TextMatch::operation(value)?;
                let ph = self.bind_match(&operation);
                format!("({})", self.name_match("operation", &operation, &ph))
            }
            NameField::Actor => {
                // The person's own keys, or a UPN whose records elsewhere carry the name asked
                // for (a sign-in names "Ravi Moss"; his Exchange records give only the UPN).
                let actor = TextMatch::parse(value)?;
                let keys = self.text(&actor.key_needle());
                let own = dialect.contains("coalesce(actor_keys, '')", &keys);
                let named = match &actor {
                    TextMatch::Whole(name) => {
                        let ph = self.text(name);
                        format!("n.name = {ph}")
                    }
                    other => {
                        let ph = self.text(&other.key_needle());
                        dialect.contains("n.name", &ph)
                    }
                };
                format!(
                    "({own} OR (actor_upn IS NOT NULL AND actor_upn IN \
                     (SELECT n.upn FROM actor_names n WHERE {named})))"
                )
            }
            NameField::Target => {
                let target = TextMatch::parse(value)?;
                let ph = self.text(&target.key_needle());
                format!("({})", dialect.contains("coalesce(target_keys, '')", &ph))
            }
            NameField::Application => {
                // Against the name lowercased in Rust (every letter, as the needle is); NULL for
                // events that name none, compared as empty, so NOT keeps them.
                let application = TextMatch::parse(value)?;
                let ph = self.bind_match(&application);
                let key = "coalesce(application_key, '')";
                format!(
                    "({})",
                    match application {
                        TextMatch::Part(_) => dialect.contains(key, &ph),
                        TextMatch::Whole(_) => format!("{key} = {ph}"),
                        TextMatch::Pattern(_) => format!("{key} LIKE {ph} ESCAPE '\\'"),
                    }
                )
            }
            NameField::Country => {
                let country = aoc_model::actor_key(value);
                if country.is_empty() {
                    return None;
                }
                let ph = self.text(&country);
                format!("(coalesce(country, '') = {ph})")
            }
        })
    }

    /// The conditions of every field of `query` but its cursor and expression.
    fn filters(&mut self, query: &EventQuery) {
        if let Some(from) = query.from {
            let ph = self.bind(Bind::Timestamp(from));
            self.clauses.push(format!("timestamp >= {ph}"));
        }
        if let Some(to) = query.to {
            let ph = self.bind(Bind::Timestamp(to));
            self.clauses.push(format!("timestamp < {ph}"));
        }
        self.equals("tenant_id", query.tenant.as_ref().map(|t| t.as_str()));
        for field in NameField::ALL {
            let looked_up = match self.dialect.actor_keys() {
                Some(keys) if field == NameField::Actor && !self.in_expression => {
                    query.actor.as_ref().map(|_| keys.to_vec())
                }
                _ => None,
            };
            if let Some(keys) = looked_up {
                let list: Vec<String> = keys
                    .into_iter()
                    .map(|keys| self.bind(Bind::Text(keys)))
                    .collect();
                self.clauses
                    .push(format!("(actor_keys IN ({}))", list.join(", ")));
            } else if let Some(condition) = field
                .value_of(query)
                .and_then(|v| self.name_field(field, v))
            {
                self.clauses.push(condition);
            }
            let excluded = field.pick(&query.exclude);
            if let Some(condition) = excluded.and_then(|v| self.name_field(field, v)) {
                self.clauses.push(format!("NOT {condition}"));
            }
        }
        if let Some(prefix) = &query.operation_prefix {
            // substr/length count characters on both engines; no LIKE, so `%`, `_` and `\` are
            // ordinary characters and case is compared as stored.
            let prefix = crate::codec::clean_text(prefix).into_owned();
            let ph = self.bind(Bind::Text(prefix));
            self.clauses
                .push(format!("substr(operation, 1, length({ph})) = {ph}"));
        }
        if let Some(ip) = query.client_ip {
            let ph = self.bind(Bind::Bytes(aoc_model::ip_key(ip).to_vec()));
            // Never NULL, so that `NOT` of it keeps the events without an address; written so
            // the address index still serves it.
            self.clauses.push(format!(
                "(client_ip_key IS NOT NULL AND client_ip_key = {ph})"
            ));
        }
        if let Some(range) = query.ip_range {
            let first = self.bind(Bind::Bytes(range.first_key().to_vec()));
            let last = self.bind(Bind::Bytes(range.last_key().to_vec()));
            self.clauses.push(format!(
                "(client_ip_key IS NOT NULL AND client_ip_key >= {first} AND client_ip_key <= {last})"
            ));
        }
        if let Some(tag) = &query.tag {
            let ph = self.bind(Bind::Text(crate::codec::clean_text(tag).into_owned()));
            self.clauses.push(format!(
                "id IN (SELECT event_id FROM event_tags WHERE tag = {ph})"
            ));
        }
        self.equals("result", query.result.map(|r| r.as_str()));
        if let Some(result) = query.exclude.result {
            let ph = self.text(result.as_str());
            self.clauses.push(format!("result <> {ph}"));
        }
        if let Some(text) = &query.text {
            let condition = if self.in_expression {
                let ph = self.bind(Bind::Text(self.dialect.unplanned_text_query(text)));
                self.dialect.unplanned_text_match(&ph)
            } else {
                let ph = self.bind(Bind::Text(self.dialect.text_query(text)));
                self.dialect.text_match(&ph)
            };
            self.clauses.push(condition);
        }
    }

    /// The condition of a query-language expression, in parentheses and never NULL (so `NOT`
    /// turns it around exactly).
    fn expression(&mut self, expr: &QueryExpr) -> String {
        let (parts, join) = match expr {
            QueryExpr::All(parts) => (parts, " AND "),
            QueryExpr::Any(parts) => (parts, " OR "),
            QueryExpr::Not(inner) => return format!("(NOT {})", self.expression(inner)),
            QueryExpr::Term(term) => {
                let outer = std::mem::take(&mut self.clauses);
                let was = std::mem::replace(&mut self.in_expression, true);
                self.filters(&term.as_query());
                self.in_expression = was;
                let conditions = std::mem::replace(&mut self.clauses, outer);
                return if conditions.is_empty() {
                    "(TRUE)".to_owned()
                } else {
                    format!("({})", conditions.join(" AND "))
                };
            }
        };
        let mut conditions = Vec::with_capacity(parts.len());
        for part in parts {
            conditions.push(self.expression(part));
        }
        format!("({})", conditions.join(join))
    }

    fn equals(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            let ph = self.bind(Bind::Text(crate::codec::clean_text(value).into_owned()));
            self.clauses.push(format!("{column} = {ph}"));
        }
    }
}

/// The filters that compare names, each of which can also exclude (`not_operation=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameField {
    Source,
    Service,
    Operation,
    Actor,
    Target,
    Application,
    Country,
}

impl NameField {
    const ALL: [NameField; 7] = [
        Self::Source,
        Self::Service,
        Self::Operation,
        Self::Actor,
        Self::Target,
        Self::Application,
        Self::Country,
    ];

    /// This field's value among excluded values.
    fn pick(self, exclude: &aoc_model::Exclusions) -> Option<&str> {
        match self {
            Self::Source => exclude.source.as_deref(),
            Self::Service => exclude.service.as_deref(),
            Self::Operation => exclude.operation.as_deref(),
            Self::Actor => exclude.actor.as_deref(),
            Self::Target => exclude.target.as_deref(),
            Self::Application => exclude.application.as_deref(),
            Self::Country => exclude.country.as_deref(),
        }
    }

    fn value_of(self, query: &EventQuery) -> Option<&str> {
        match self {
            Self::Source => query.source.as_deref(),
            Self::Service => query.service.as_deref(),
            Self::Operation => query.operation.as_deref(),
            Self::Actor => query.actor.as_deref(),
            Self::Target => query.target.as_deref(),
            Self::Application => query.application.as_deref(),
            Self::Country => query.country.as_deref(),
        }
    }
}

pub fn event_filter<D: FilterDialect + ?Sized>(query: &EventQuery, dialect: &D) -> SqlFilter {
    let mut b = Builder {
        dialect,
        clauses: Vec::new(),
        binds: Vec::new(),
        in_expression: false,
    };
    b.filters(query);
    if let Some(expr) = &query.expr {
        let condition = b.expression(expr);
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
pub(crate) mod tests {
    use super::*;

    pub(crate) struct Numbered;
    impl FilterDialect for Numbered {
        fn placeholder(&self, index: usize) -> String {
            format!("${index}")
        }
        fn text_match(&self, placeholder: &str) -> String {
            format!("search @@ {placeholder}")
        }
        fn text_query(&self, text: &SearchText) -> String {
            format!("{:?}", text.phrases())
        }
        fn contains(&self, column: &str, placeholder: &str) -> String {
            format!("strpos({column}, {placeholder}) > 0")
        }
        fn time_bucket(&self, interval_seconds: i64) -> String {
            format!("bucket({interval_seconds})")
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
            "(strpos(lower(operation), $1) > 0) AND (strpos(coalesce(actor_keys, ''), $2) > 0 OR \
             (actor_upn IS NOT NULL AND actor_upn IN \
             (SELECT n.upn FROM actor_names n WHERE strpos(n.name, $3) > 0))) AND search @@ $4"
        );
        assert_eq!(sql.binds[0], Bind::Text("'; drop table events; --".into()));
        assert_eq!(sql.binds[1], Bind::Text("admin.kim@contoso.com".into()));
        assert_eq!(sql.limit, 51);
    }
}
