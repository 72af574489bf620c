//! The grammar, by recursive descent:
//!
//! ```text
//! query := any
//! any   := all ("OR" all)*
//! all   := unary ("AND"? unary)*
//! unary := ("NOT" | "-") unary | "(" any ")" | term
//! term  := field ":" value | word | "phrase"
//! ```

use chrono::{DateTime, Utc};

use super::lexer::{Kind, Token, tokens};
use super::values::{self, Field};
use super::{MAX_DEPTH, MAX_TERMS, QueryExpr, QueryTextError, Term};
use crate::search::{MAX_QUERY_CHARS, SearchText, SearchTextError};

/// Parses `input`, reading relative times (`today`, `now-24h`) against `now`.
///
/// # Errors
/// The first thing wrong, with the character it is at.
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<QueryExpr, QueryTextError> {
    let length = input.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(QueryTextError::new(
            MAX_QUERY_CHARS,
            format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let tokens = tokens(input)?;
    if tokens.is_empty() {
        return Err(QueryTextError::new(0, "the query is empty"));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: length,
        now,
        depth: 0,
        terms: 0,
    };
    let expr = parser.any()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(QueryTextError::new(
            token.at,
            "this ) closes no parenthesis",
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// The index just past the input, where "expected more" errors point.
    end: usize,
    now: DateTime<Utc>,
    depth: usize,
    terms: usize,
}

fn is_operator(token: &Token, name: &str) -> bool {
    matches!(&token.kind, Kind::Word(w) if w == name)
}

/// One part as itself, several joined by `join`.
fn joined(mut parts: Vec<QueryExpr>, join: fn(Vec<QueryExpr>) -> QueryExpr) -> QueryExpr {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        join(parts)
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    /// True when what follows cannot start a term: the end, `)`, `OR` or `AND`.
    fn ends_here(&self) -> bool {
        self.peek()
            .is_none_or(|t| t.kind == Kind::Close || is_operator(t, "OR") || is_operator(t, "AND"))
    }

    fn any(&mut self) -> Result<QueryExpr, QueryTextError> {
        let mut parts = vec![self.all()?];
        while let Some(token) = self.peek().filter(|t| is_operator(t, "OR")) {
            let at = token.at;
            self.next += 1;
            if self.ends_here() {
                return Err(QueryTextError::new(at, "OR needs a term on each side"));
            }
            parts.push(self.all()?);
        }
        Ok(joined(parts, QueryExpr::Any))
    }

    fn all(&mut self) -> Result<QueryExpr, QueryTextError> {
        let mut parts = vec![self.unary()?];
        while let Some(token) = self.peek() {
            if token.kind == Kind::Close || is_operator(token, "OR") {
                break;
            }
            if is_operator(token, "AND") {
                let at = token.at;
                self.next += 1;
                if self.ends_here() {
                    return Err(QueryTextError::new(at, "AND needs a term on each side"));
                }
            }
            parts.push(self.unary()?);
        }
        Ok(joined(parts, QueryExpr::All))
    }

    fn deeper(&mut self, at: usize) -> Result<(), QueryTextError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryTextError::new(
                at,
                format!("the query nests more than {MAX_DEPTH} groups and NOTs deep"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<QueryExpr, QueryTextError> {
        let Some(token) = self.peek().cloned() else {
            return Err(QueryTextError::new(
                self.end,
                "a term is missing at the end",
            ));
        };
        self.next += 1;
        match token.kind {
            // `-` turns around a field, a phrase or a group; before a plain word it is part of
            // the text, as in a pasted cmdlet line (`Set-Mailbox -DeliverToMailboxAndForward`).
            Kind::Minus if self.negates() => self.negated(token.at),
            Kind::Minus => self.unary(),
            Kind::Word(ref word) if word == "NOT" => self.negated(token.at),
            Kind::Open => {
                self.deeper(token.at)?;
                if self.peek().is_some_and(|t| t.kind == Kind::Close) {
                    return Err(QueryTextError::new(
                        token.at,
                        "these parentheses hold nothing",
                    ));
                }
                let inner = self.any()?;
                if self.peek().is_none_or(|t| t.kind != Kind::Close) {
                    return Err(QueryTextError::new(
                        token.at,
                        "this parenthesis is not closed",
                    ));
                }
                self.next += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Kind::Close => Err(QueryTextError::new(
                token.at,
                "a term is missing before this )",
            )),
            Kind::Word(ref word) if is_operator(&token, "AND") || is_operator(&token, "OR") => Err(
                QueryTextError::new(token.at, format!("{word} needs a term on each side")),
            ),
            Kind::Word(word) => self.counted(token.at, |p| p.word(&word, token.at)),
            Kind::Phrase(phrase) => self.counted(token.at, |_| {
                text(
                    SearchText::phrase(&phrase),
                    token.at,
                    &format!("\"{phrase}\""),
                )
            }),
        }
    }

    /// True when the token after a `-` is one it turns around: `(`, a phrase, or `field:…`.
    fn negates(&self) -> bool {
        self.peek().is_some_and(|t| match &t.kind {
            Kind::Open | Kind::Phrase(_) => true,
            Kind::Word(word) => {
                word.split_once(':')
                    .is_some_and(|(name, _)| values::field(name).is_some())
                    || time_comparison(word).is_some()
            }
            _ => false,
        })
    }

    /// What follows a `NOT` or `-` at `at`, turned around.
    fn negated(&mut self, at: usize) -> Result<QueryExpr, QueryTextError> {
        self.deeper(at)?;
        if self.ends_here() {
            return Err(QueryTextError::new(at, "NOT needs a term after it"));
        }
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(QueryExpr::Not(Box::new(inner)))
    }

    /// A term, counted against [`MAX_TERMS`].
    fn counted(
        &mut self,
        at: usize,
        term: impl FnOnce(&mut Self) -> Result<Term, QueryTextError>,
    ) -> Result<QueryExpr, QueryTextError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(QueryTextError::new(
                at,
                format!("the query has more than {MAX_TERMS} terms"),
            ));
        }
        term(self).map(QueryExpr::Term)
    }

    /// A word: `field:value`, `time>=…`, or words to search for.
    fn word(&mut self, word: &str, at: usize) -> Result<Term, QueryTextError> {
        if let Some(value) = time_comparison(word) {
            return values::term(Field::Time, value, false, self.now)
                .map_err(|message| QueryTextError::new(at + 4, message));
        }
        let Some((name, value)) = word.split_once(':').filter(|(name, _)| !name.is_empty()) else {
            return text(SearchText::parse(word), at, word);
        };
        let Some(field) = values::field(name) else {
            // A field name a letter or two off is a mistake worth naming; anything else with a
            // colon (a URL, an IPv6 address, a clock time, `urn:…`) is words to search for.
            if let Some(meant) = values::nearest_field(name).filter(|_| !value.starts_with("//")) {
                return Err(QueryTextError::new(
                    at,
                    format!(
                        "{name}: is not a field. Did you mean {meant}:? The fields are {}. \
                         Put the word in quotes to search for it",
                        values::FIELD_NAMES
                    ),
                ));
            }
            return text(SearchText::parse(word), at, word);
        };
        let value_at = at + name.chars().count() + 1;
        let (value, quoted) = if value.is_empty() {
            match self.peek().cloned() {
                Some(Token {
                    kind: Kind::Phrase(phrase),
                    glued: true,
                    ..
                }) => {
                    self.next += 1;
                    (phrase, true)
                }
                _ => {
                    return Err(QueryTextError::new(
                        value_at,
                        format!("a value is missing after {name}:"),
                    ));
                }
            }
        } else {
            (value.to_owned(), false)
        };
        values::term(field, &value, quoted, self.now)
            .map_err(|message| QueryTextError::new(value_at, message))
    }
}

/// The comparison of a `time>=…` / `time<…` word (`>=…`), if it is one.
fn time_comparison(word: &str) -> Option<&str> {
    word.get(..4)
        .filter(|w| w.eq_ignore_ascii_case("time"))
        .map(|_| &word[4..])
        .filter(|rest| rest.starts_with(['<', '>']))
}

/// Words to search for, or the reason they cannot be.
fn text(
    parsed: Result<SearchText, SearchTextError>,
    at: usize,
    written: &str,
) -> Result<Term, QueryTextError> {
    parsed.map(Term::Text).map_err(|e| {
        QueryTextError::new(
            at,
            match e {
                SearchTextError::Empty => {
                    format!("{written} has no letters or digits to search for")
                }
                other => format!("{written} {other}"),
            },
        )
    })
}
