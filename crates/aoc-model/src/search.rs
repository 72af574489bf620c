//! Full-text search, defined once for both engines.
//!
//! AOC tokenizes in Rust, for indexing and for queries alike, so SQLite's FTS5 and PostgreSQL's
//! `tsvector` see the same tokens and return the same rows: lowercase runs of letters and digits.
//! `admin.kim@contoso.com` becomes `admin kim contoso com`, so a search for `kim` finds it.
//! A query word becomes a phrase of its tokens whose last token matches as a prefix, so
//! `203.0.113` finds `203.0.113.24` and `payroll.xl` finds `payroll.xlsx`; all words must match.
//! Tokens are plain letters and digits, so no user input ever reaches an engine's query syntax.

use crate::event::Event;

/// Tokens longer than this are cut: nobody types them, and engines limit lexeme length.
const MAX_TOKEN_CHARS: usize = 64;
/// The indexed text of one event is capped so a huge record cannot bloat the index.
const MAX_INDEX_CHARS: usize = 4096;
/// Words in one query; more is an error, not a silent truncation.
pub const MAX_QUERY_WORDS: usize = 16;
/// Characters in one query.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Splits text into lowercase tokens of letters and digits.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.chars()
                .take(MAX_TOKEN_CHARS)
                .collect::<String>()
                .to_lowercase()
        })
}

/// The space-separated tokens an engine indexes for `event`.
pub fn index_text(event: &Event) -> String {
    let mut out = String::with_capacity(256);
    let mut push = |text: &str| {
        for token in tokens(text) {
            if out.len() + token.len() + 1 > MAX_INDEX_CHARS {
                return;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&token);
        }
    };
    push(&event.operation);
    push(&event.service);
    for value in [&event.category, &event.result_reason]
        .into_iter()
        .flatten()
    {
        push(value);
    }
    for value in [&event.actor.upn, &event.actor.display_name, &event.actor.id]
        .into_iter()
        .flatten()
    {
        push(value);
    }
    if let Some(ip) = event.client_ip {
        push(&ip.to_string());
    }
    for target in &event.targets {
        for value in [&target.name, &target.id].into_iter().flatten() {
            push(value);
        }
    }
    push(&event.summary);
    for value in event.details.values() {
        push(value);
    }
    for change in event.changes.values() {
        for value in [&change.new, &change.old].into_iter().flatten() {
            push(value);
        }
    }
    if let Some(user_agent) = &event.user_agent {
        push(user_agent);
    }
    // The city and country the panel shows are found by the search too.
    if let Some(location) = &event.location {
        for value in [&location.city, &location.state, &location.country]
            .into_iter()
            .flatten()
        {
            push(value);
        }
    }
    out
}

/// A validated free-text query: each phrase must occur, its last token as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    phrases: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchTextError {
    #[error("is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("has more than {MAX_QUERY_WORDS} words")]
    TooManyWords,
    #[error("contains no letters or digits to search for")]
    Empty,
}

impl SearchText {
    pub fn parse(query: &str) -> Result<Self, SearchTextError> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchTextError::TooLong);
        }
        let phrases: Vec<Vec<String>> = query
            .split_whitespace()
            .map(|word| tokens(word).collect::<Vec<_>>())
            .filter(|phrase| !phrase.is_empty())
            .collect();
        if phrases.is_empty() {
            return Err(SearchTextError::Empty);
        }
        if phrases.len() > MAX_QUERY_WORDS {
            return Err(SearchTextError::TooManyWords);
        }
        Ok(Self { phrases })
    }

    /// One phrase of every token of `text` (a quoted phrase of the query language): the tokens
    /// in that order, the last as a prefix.
    pub fn phrase(text: &str) -> Result<Self, SearchTextError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchTextError::TooLong);
        }
        let phrase: Vec<String> = tokens(text).collect();
        if phrase.is_empty() {
            return Err(SearchTextError::Empty);
        }
        if phrase.len() > MAX_QUERY_WORDS {
            return Err(SearchTextError::TooManyWords);
        }
        Ok(Self {
            phrases: vec![phrase],
        })
    }

    /// Both queries at once (every phrase of each must occur); `None` past [`MAX_QUERY_WORDS`]
    /// phrases.
    pub fn and(&self, other: &Self) -> Option<Self> {
        let phrases: Vec<Vec<String>> =
            self.phrases.iter().chain(&other.phrases).cloned().collect();
        (phrases.len() <= MAX_QUERY_WORDS).then_some(Self { phrases })
    }

    /// Each phrase's tokens, in order; the last token of each is a prefix.
    pub fn phrases(&self) -> &[Vec<String>] {
        &self.phrases
    }

    /// True when `indexed` (the output of [`index_text`]) satisfies this query. The engines do
    /// this with their indexes; this is the reference the behaviour suite checks them against.
    pub fn matches(&self, indexed: &str) -> bool {
        let tokens: Vec<&str> = indexed.split(' ').collect();
        self.phrases.iter().all(|phrase| {
            let Some((last, init)) = phrase.split_last() else {
                return true;
            };
            tokens.windows(phrase.len()).any(|window| {
                window[..init.len()]
                    .iter()
                    .zip(init)
                    .all(|(have, want)| have == want)
                    && window[init.len()].starts_with(last.as_str())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_on_punctuation_and_lowercase() {
        let got: Vec<_> = tokens("Admin.Kim@Contoso.com, 203.0.113.24").collect();
        assert_eq!(
            got,
            ["admin", "kim", "contoso", "com", "203", "0", "113", "24"]
        );
    }

    #[test]
    fn query_words_become_prefix_phrases() {
        let q = SearchText::parse("  payroll.xl  \"kim'; DROP").expect("valid");
        assert_eq!(
            q.phrases(),
            [
                vec!["payroll".to_string(), "xl".into()],
                vec!["kim".into()],
                vec!["drop".into()]
            ]
        );
        assert!(q.matches("file drop kim payroll xlsx"));
        assert!(!q.matches("file kim xlsx payroll"));
    }

    #[test]
    fn hostile_queries_are_errors_not_syntax() {
        assert_eq!(
            SearchText::parse("% _ * \" ' ;"),
            Err(SearchTextError::Empty)
        );
        assert_eq!(
            SearchText::parse(&"a".repeat(10_000)),
            Err(SearchTextError::TooLong)
        );
        let many = "w ".repeat(MAX_QUERY_WORDS + 1);
        assert_eq!(SearchText::parse(&many), Err(SearchTextError::TooManyWords));
    }
}
