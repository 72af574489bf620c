//! The search box's query language, for those who prefer typing to the form:
//!
//! ```text
//! actor:ravi (operation:"New-InboxRule" OR operation:Set-Mailbox) NOT result:success after:2026-12-01 forwarding
//! ```
//!
//! - `field:value` filters as the form's field of that name does ([`crate::TextMatch`]): part of
//!   a name in any case, a whole name in double quotes (`operation:"Set-Mailbox"`), `*` for any
//!   text (`operation:Set-*`). The fields and their other names are in [`FIELD_NAMES`].
//! - A bare word searches every field, as the search box always has ([`crate::search`]); a
//!   quoted phrase must occur as written.
//! - Terms side by side must all hold (`AND` may be written); `OR` joins alternatives and binds
//!   looser than `AND`; `NOT` or a leading `-` turns a term or a group around; parentheses group.
//!   Operators are upper case: `and`, `or` and `not` in lower case are words to search for.
//! - Time: `after:`, `before:` and `time:` take a date (`2026-12-01`, a whole UTC day), a time
//!   (`2026-12-01T09:30Z`), `today`, `yesterday`, `now` or `now-24h`; `time:>=…`, `time:<…` and
//!   `time:A..B` compare; `last:24h` is the last day.
//!
//! A query too deep, too long or wrong is an error naming the character it is at, never a
//! silent reading. The parser is a small recursive descent over its own tokens: the positions in
//! its errors need both.

mod lexer;
mod parser;
mod values;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::event::{Event, EventResult};
use crate::ids::TenantId;
use crate::ip::IpRange;
use crate::query::{EventQuery, Exclusions};
use crate::search::SearchText;

pub use parser::parse;

/// `text` written so that the query language reads it as words to search for and nothing else
/// (for text a program puts in `q`: a model's reading of a question): operators lowercased,
/// quotes, parentheses and colons spaced out.
pub fn as_words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if matches!(c, '(' | ')' | '"' | ':') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|word| word.trim_start_matches('-'))
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
pub use values::FIELD_NAMES;

/// Terms in one query.
pub const MAX_TERMS: usize = 32;
/// Nested parentheses and `NOT`s in one query.
pub const MAX_DEPTH: usize = 16;

/// A parsed query: terms joined by `AND`, `OR` and `NOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryExpr {
    /// Every part holds.
    All(Vec<QueryExpr>),
    /// At least one part holds.
    Any(Vec<QueryExpr>),
    Not(Box<QueryExpr>),
    Term(Term),
}

/// One filter of the query language: what one field of [`EventQuery`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Text(SearchText),
    /// Name filters, written as the form's fields are (`"…"` whole, `*` any text).
    Source(String),
    Service(String),
    Operation(String),
    Actor(String),
    Target(String),
    Application(String),
    /// A country code (names are turned into codes when parsed).
    Country(String),
    Result(EventResult),
    Ip(IpAddr),
    IpRange(IpRange),
    /// A normalized tag.
    Tag(String),
    Tenant(TenantId),
    /// From (inclusive) and to (exclusive).
    Time {
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    },
}

/// Where a query goes wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {at}: {message}")]
pub struct QueryTextError {
    /// The character at fault, counted from 1.
    pub at: usize,
    pub message: String,
}

impl QueryTextError {
    pub(crate) fn new(index: usize, message: impl Into<String>) -> Self {
        Self {
            at: index + 1,
            message: message.into(),
        }
    }
}

impl Term {
    /// The query that holds exactly when this term does.
    pub fn as_query(&self) -> EventQuery {
        let mut q = EventQuery::default();
        match self.clone() {
            Self::Text(text) => q.text = Some(text),
            Self::Source(v) => q.source = Some(v),
            Self::Service(v) => q.service = Some(v),
            Self::Operation(v) => q.operation = Some(v),
            Self::Actor(v) => q.actor = Some(v),
            Self::Target(v) => q.target = Some(v),
            Self::Application(v) => q.application = Some(v),
            Self::Country(v) => q.country = Some(v),
            Self::Result(v) => q.result = Some(v),
            Self::Ip(v) => q.client_ip = Some(v),
            Self::IpRange(v) => q.ip_range = Some(v),
            Self::Tag(v) => q.tag = Some(v),
            Self::Tenant(v) => q.tenant = Some(v),
            Self::Time { from, to } => {
                q.from = from;
                q.to = to;
            }
        }
        q
    }
}

impl QueryExpr {
    /// True when `event` satisfies the expression: the reference the engines are checked against.
    /// Tags live beside events, not in them, and a person's other names in the store's people
    /// table: terms on those are checked against the engines by their own tests.
    pub fn matches(&self, event: &Event) -> bool {
        match self {
            Self::All(parts) => parts.iter().all(|p| p.matches(event)),
            Self::Any(parts) => parts.iter().any(|p| p.matches(event)),
            Self::Not(inner) => !inner.matches(event),
            Self::Term(term) => term.as_query().matches(event),
        }
    }

    /// Adds the expression to `query`'s filters. Each term that must hold on its own (joined to
    /// the rest by `AND`) moves into its field of the query when the field is free, where the
    /// engines plan it best; the rest stays an expression (`query.expr`).
    pub fn apply_to(self, query: &mut EventQuery) {
        let parts = match self {
            Self::All(parts) => parts,
            other => vec![other],
        };
        let mut rest: Vec<QueryExpr> = parts
            .into_iter()
            .filter_map(|part| fold(part, query))
            .collect();
        let rest = match rest.len() {
            0 => None,
            1 => rest.pop(),
            _ => Some(Self::All(rest)),
        };
        query.expr = match (query.expr.take(), rest) {
            (Some(have), Some(more)) => Some(Self::All(vec![have, more])),
            (have, more) => have.or(more),
        };
    }
}

/// Moves one conjunct into `query`'s own fields when they are free; what cannot move is returned.
fn fold(part: QueryExpr, query: &mut EventQuery) -> Option<QueryExpr> {
    match part {
        QueryExpr::Term(term) => fold_term(term, query).map(QueryExpr::Term),
        QueryExpr::Not(inner) => match *inner {
            QueryExpr::Term(term) => fold_excluded(term, &mut query.exclude)
                .map(|t| QueryExpr::Not(Box::new(QueryExpr::Term(t)))),
            other => Some(QueryExpr::Not(Box::new(other))),
        },
        other => Some(other),
    }
}

/// Fills `slot` when it is empty; otherwise gives `value` back.
fn put<T>(slot: &mut Option<T>, value: T) -> Option<T> {
    if slot.is_some() {
        return Some(value);
    }
    *slot = Some(value);
    None
}

fn fold_term(term: Term, q: &mut EventQuery) -> Option<Term> {
    match term {
        Term::Text(text) => match &q.text {
            None => {
                q.text = Some(text);
                None
            }
            Some(have) => match have.and(&text) {
                Some(both) => {
                    q.text = Some(both);
                    None
                }
                None => Some(Term::Text(text)),
            },
        },
        Term::Source(v) => put(&mut q.source, v).map(Term::Source),
        Term::Service(v) => put(&mut q.service, v).map(Term::Service),
        Term::Operation(v) => put(&mut q.operation, v).map(Term::Operation),
        Term::Actor(v) => put(&mut q.actor, v).map(Term::Actor),
        Term::Target(v) => put(&mut q.target, v).map(Term::Target),
        Term::Application(v) => put(&mut q.application, v).map(Term::Application),
        Term::Country(v) => put(&mut q.country, v).map(Term::Country),
        Term::Result(v) => put(&mut q.result, v).map(Term::Result),
        Term::Ip(v) => put(&mut q.client_ip, v).map(Term::Ip),
        Term::IpRange(v) => put(&mut q.ip_range, v).map(Term::IpRange),
        Term::Tag(v) => put(&mut q.tag, v).map(Term::Tag),
        Term::Tenant(v) => put(&mut q.tenant, v).map(Term::Tenant),
        Term::Time { from, to } => {
            // Both bounds must hold: the later start and the earlier end.
            if let Some(from) = from {
                q.from = Some(q.from.map_or(from, |have| have.max(from)));
            }
            if let Some(to) = to {
                q.to = Some(q.to.map_or(to, |have| have.min(to)));
            }
            None
        }
    }
}

fn fold_excluded(term: Term, ex: &mut Exclusions) -> Option<Term> {
    match term {
        Term::Source(v) => put(&mut ex.source, v).map(Term::Source),
        Term::Service(v) => put(&mut ex.service, v).map(Term::Service),
        Term::Operation(v) => put(&mut ex.operation, v).map(Term::Operation),
        Term::Actor(v) => put(&mut ex.actor, v).map(Term::Actor),
        Term::Target(v) => put(&mut ex.target, v).map(Term::Target),
        Term::Application(v) => put(&mut ex.application, v).map(Term::Application),
        Term::Country(v) => put(&mut ex.country, v).map(Term::Country),
        Term::Result(v) => put(&mut ex.result, v).map(Term::Result),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests;
