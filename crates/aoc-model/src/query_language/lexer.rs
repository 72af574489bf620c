//! The query's tokens, each with the character it starts at.

use super::QueryTextError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Open,
    Close,
    /// A `-` in front of a term: `NOT`.
    Minus,
    /// A run of characters without spaces, parentheses or quotes.
    Word(String),
    /// The text between double quotes.
    Phrase(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    /// The index of its first character.
    pub at: usize,
    /// True when no space separates it from the token before (`actor:"Ravi Moss"`).
    pub glued: bool,
}

/// Splits `input` into tokens.
///
/// # Errors
/// A quote that is not closed, at the quote.
pub(super) fn tokens(input: &str) -> Result<Vec<Token>, QueryTextError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let at = i;
        let glued = at > 0 && !chars[at - 1].is_whitespace();
        let kind = match c {
            '(' => {
                i += 1;
                Kind::Open
            }
            ')' => {
                i += 1;
                Kind::Close
            }
            '"' => {
                let len = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or_else(|| {
                        QueryTextError::new(
                            at,
                            "this quote is not closed; add a \" after the phrase",
                        )
                    })?;
                let phrase = chars[i + 1..i + 1 + len].iter().collect();
                i += len + 2;
                Kind::Phrase(phrase)
            }
            '-' if chars.get(i + 1).is_some_and(|next| !next.is_whitespace()) => {
                i += 1;
                Kind::Minus
            }
            _ => {
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"')
                {
                    i += 1;
                }
                Kind::Word(chars[at..i].iter().collect())
            }
        };
        out.push(Token { kind, at, glued });
    }
    Ok(out)
}
