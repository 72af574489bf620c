//! Full-text search on FTS5: the query text, and the plan that reaches the rows.
//!
//! A query word is a phrase whose last token is a prefix. FTS5 answers a prefix by merging the
//! lists of every token it covers, which is cheap once but ruinous when repeated for each row, so
//! prefixes are first expanded through the index's vocabulary (`events_fts_vocab`) into the exact
//! tokens they stand for. The vocabulary also says how many events hold each token, which picks
//! the plan: collect a few matches from the index, or walk events in page order and test each.

use sqlx::SqlitePool;

use aoc_model::search::SearchText;
use aoc_store::{Dialect, StoreResult};

use crate::map_err;

/// A prefix that stands for more tokens than this is searched as a prefix, not expanded.
const MAX_EXPANSION: i64 = 16;

/// How a full-text condition reaches the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPlan {
    /// Few matches: collect them from the index, then fetch and order those rows.
    FromIndex,
    /// Many matches: walk events in page order and test each against the index, so a common
    /// word stops after one page instead of ordering every match.
    PerRow,
}

/// A planned full-text condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextSearch {
    /// No event can match (a prefix no indexed token starts with).
    Nothing,
    Query {
        fts: String,
        plan: TextPlan,
    },
}

/// `"tok1 tok2" *`: a phrase whose last token is a prefix; phrases joined by AND.
pub fn prefix_query(text: &SearchText) -> String {
    text.phrases()
        .iter()
        .map(|phrase| format!("\"{}\" *", phrase.join(" ")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Plans `text` against the index as it is now.
pub async fn plan(pool: &SqlitePool, text: &SearchText) -> StoreResult<TextSearch> {
    let (events,): (i64,) = sqlx::query_as("SELECT coalesce(max(seq), 0) FROM events")
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    // Collecting m matches costs about 4 µs each; testing rows in page order about 7 ms × n / m
    // for n events (measured on 1 M, BENCHMARKS.md): the two meet near m = sqrt(1750 n).
    let threshold = ((1750.0 * events as f64).sqrt() as i64).clamp(1_000, 1_000_000);

    let mut phrases = Vec::new();
    // All phrases must match, so the rarest bounds the matches.
    let mut estimate = i64::MAX;
    for phrase in text.phrases() {
        let Some((last, init)) = phrase.split_last() else {
            continue;
        };
        let terms: Vec<(String, i64)> = sqlx::query_as(
            "SELECT term, doc FROM events_fts_vocab WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
        )
        .bind(last)
        .bind(format!("{last}\u{10FFFF}"))
        .bind(MAX_EXPANSION + 1)
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
        if terms.is_empty() {
            return Ok(TextSearch::Nothing);
        }
        if terms.len() as i64 > MAX_EXPANSION {
            // A short, broad prefix: let FTS5 merge it once, from the index.
            return Ok(TextSearch::Query {
                fts: prefix_query(text),
                plan: TextPlan::FromIndex,
            });
        }
        estimate = estimate.min(terms.iter().map(|(_, docs)| docs).sum());
        let head = init.join(" ");
        let alternatives: Vec<String> = terms
            .iter()
            .map(|(term, _)| {
                if head.is_empty() {
                    format!("\"{term}\"")
                } else {
                    format!("\"{head} {term}\"")
                }
            })
            .collect();
        phrases.push(format!("({})", alternatives.join(" OR ")));
    }
    let plan = if estimate < threshold {
        TextPlan::FromIndex
    } else {
        TextPlan::PerRow
    };
    Ok(TextSearch::Query {
        fts: phrases.join(" AND "),
        plan,
    })
}

/// The SQLite side of the shared filter builder, for one planned query.
pub struct SqliteDialect {
    pub plan: TextPlan,
    /// The FTS5 query to bind for the text, already planned.
    pub fts: String,
}

impl Dialect for SqliteDialect {
    fn placeholder(&self, index: usize) -> String {
        // Numbered, because the filter may use one value twice.
        format!("?{index}")
    }
    fn text_match(&self, placeholder: &str) -> String {
        match self.plan {
            TextPlan::FromIndex => {
                format!(
                    "seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {placeholder})"
                )
            }
            // With exact tokens, FTS5 seeks straight to one rowid's entries.
            TextPlan::PerRow => format!(
                "EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH {placeholder} AND rowid = events.seq)"
            ),
        }
    }
    fn text_query(&self, _text: &SearchText) -> String {
        self.fts.clone()
    }
}
