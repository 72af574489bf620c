//! Full-text search on FTS5: the query text, and the plan that reaches the rows.
//!
//! A query word is a phrase whose last token is a prefix. FTS5 answers a prefix by merging the
//! lists of every token it covers, which is cheap once but ruinous when repeated for each row, so
//! prefixes are first expanded through the index's vocabulary (`events_fts_vocab`) into the exact
//! tokens they stand for. The vocabulary also says how many events hold each token, which picks
//! the plan (see [`TextPlan`]).

use sqlx::SqlitePool;

use aoc_model::search::SearchText;
use aoc_store::{FilterDialect, StoreResult};

use crate::map_err;

/// A prefix that stands for more tokens than this is searched as a prefix, not expanded.
const MAX_EXPANSION: i64 = 16;

/// How a full-text condition reaches the rows (measured in BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPlan {
    /// Few matches: collect them from the index, then fetch and order those rows.
    FromIndex,
    /// Many matches: walk events in page order and test each row's `seq` against the match set,
    /// which SQLite builds once (with a Bloom filter); rows are read only for the page's hits.
    Scan,
    /// Nearly every event matches one word: walk events in page order and ask the index about
    /// each; the page fills after about a page's worth of probes, and the match set is never built.
    PerRow,
}

/// Below this many matches, collecting them is cheapest.
const FEW_MATCHES: i64 = 2_000;

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
    let mut phrases = Vec::new();
    // All phrases must match, so the rarest bounds the matches (a phrase of several tokens may
    // match far fewer events than its last token's count: only an upper bound).
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
            // A short, broad prefix: let FTS5 merge it once.
            return Ok(TextSearch::Query {
                fts: prefix_query(text),
                plan: TextPlan::Scan,
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
    let plan = if estimate < FEW_MATCHES {
        TextPlan::FromIndex
    } else if text.phrases().iter().all(|p| p.len() == 1)
        && estimate >= events_count(pool).await? / 2
    {
        TextPlan::PerRow
    } else {
        TextPlan::Scan
    };
    Ok(TextSearch::Query {
        fts: phrases.join(" AND "),
        plan,
    })
}

/// About how many events there are (deleted ones included): cheap, from the rowid b-tree.
async fn events_count(pool: &SqlitePool) -> StoreResult<i64> {
    let (events,): (i64,) = sqlx::query_as("SELECT coalesce(max(seq), 0) FROM events")
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    Ok(events)
}

/// The SQLite side of the shared filter builder, for one planned query.
pub struct SqliteDialect {
    pub plan: TextPlan,
    /// The FTS5 query to bind for the text, already planned.
    pub fts: String,
}

impl FilterDialect for SqliteDialect {
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
            // The unary `+` keeps SQLite from driving the query from the match set.
            TextPlan::Scan => {
                format!(
                    "+seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {placeholder})"
                )
            }
            TextPlan::PerRow => format!(
                "EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH {placeholder} AND rowid = events.seq)"
            ),
        }
    }
    fn text_query(&self, _text: &SearchText) -> String {
        self.fts.clone()
    }
    fn unplanned_text_match(&self, placeholder: &str) -> String {
        format!("seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {placeholder})")
    }
    fn unplanned_text_query(&self, text: &SearchText) -> String {
        prefix_query(text)
    }
    fn contains(&self, column: &str, placeholder: &str) -> String {
        format!("instr({column}, {placeholder}) > 0")
    }
    fn time_bucket(&self, interval_seconds: i64) -> String {
        // Microseconds; the double modulo floors times before the epoch too.
        let width = interval_seconds.saturating_mul(1_000_000).max(1);
        format!("(timestamp - ((timestamp % {width}) + {width}) % {width})")
    }
}
