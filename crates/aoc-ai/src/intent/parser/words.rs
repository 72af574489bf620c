//! A question's words, and which of them the parser's rules read.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::vocabulary::{KNOWN_WORDS, NOT_NAMES};

/// The question's words: as written (for addresses and accounts) and as plain lowercase words
/// with hyphens and punctuation turned into spaces (for phrases).
pub(super) struct Words {
    pub(super) raw: Vec<String>,
    pub(super) plain: Vec<String>,
    /// The plain words a rule read (by position): the rest, less connectives, were ignored.
    used: std::cell::RefCell<std::collections::BTreeSet<usize>>,
}

impl Words {
    pub(super) fn new(question: &str) -> Self {
        let raw = question
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| "?!,;:()[]{}\"'`".contains(c))
                    .trim_end_matches('.')
                    .to_owned()
            })
            .filter(|w| !w.is_empty())
            .collect();
        let lowered = question.to_lowercase().replace("'s ", " ");
        // Hyphens join words ("sign-ins") except in dates ("2026-11-20").
        let plain = lowered
            .split(|c: char| !(c.is_alphanumeric() || "@.:/-".contains(c)))
            .flat_map(|w| {
                let date = NaiveDate::parse_from_str(w.trim_matches('.'), "%Y-%m-%d").is_ok();
                let parts: Vec<&str> = if date {
                    vec![w]
                } else {
                    w.split('-').collect()
                };
                parts
            })
            .map(|w| w.trim_matches('.'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            raw,
            plain,
            used: Default::default(),
        }
    }

    /// Whether one of `words` occurs; those that do count as read.
    pub(super) fn any(&self, words: &[&str]) -> bool {
        let found: Vec<usize> = (0..self.plain.len())
            .filter(|i| words.contains(&self.plain[*i].as_str()))
            .collect();
        self.used.borrow_mut().extend(found.iter().copied());
        !found.is_empty()
    }

    /// Whether the words of `phrase` appear one after another.
    pub(super) fn phrase(&self, phrase: &str) -> bool {
        self.position(phrase).is_some()
    }

    pub(super) fn position(&self, phrase: &str) -> Option<usize> {
        let wanted: Vec<&str> = phrase.split(' ').collect();
        let at = self
            .plain
            .windows(wanted.len())
            .position(|w| w.iter().zip(&wanted).all(|(a, b)| a == b))?;
        self.used.borrow_mut().extend(at..at + wanted.len());
        Some(at)
    }

    /// The word after `index`, if any.
    pub(super) fn at(&self, index: usize) -> Option<&str> {
        self.plain.get(index).map(String::as_str)
    }

    /// A person named by "by alice", "user alice" or "did alice do".
    pub(super) fn named_actor(&self) -> Option<String> {
        let candidate = |w: &str| {
            (!NOT_NAMES.contains(&w)
                && w.chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '_')
                && w.chars().any(char::is_alphabetic)
                && !w.contains('@'))
            .then(|| w.to_owned())
        };
        for (i, w) in self.plain.iter().enumerate() {
            let next = self.at(i + 1);
            let found = match w.as_str() {
                "by" | "user" => next.and_then(candidate),
                "did" if self.at(i + 2) == Some("do") => next.and_then(candidate),
                _ => None,
            };
            // "by user alice": "user" is no name, so the word after it is read next.
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// A person named with capitals after "did", "by" or "user" ("What did Ravi Moss do",
    /// "changes by Dana Park"): their name, lowercased, one to three words.
    pub(super) fn named_person(&self) -> Option<String> {
        let capital = |w: &str| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                && !NOT_NAMES.contains(&w.to_lowercase().as_str())
        };
        for (i, w) in self.raw.iter().enumerate() {
            let lead = w.to_lowercase();
            if !matches!(lead.as_str(), "did" | "by" | "user") {
                continue;
            }
            let names: Vec<&String> = self.raw[i + 1..]
                .iter()
                .take(3)
                .take_while(|w| capital(w))
                .collect();
            let followed_by_do = self
                .raw
                .get(i + 1 + names.len())
                .is_some_and(|w| w.eq_ignore_ascii_case("do"));
            // "did Ravi Moss do"; after "by"/"user", two capitalised words make a name.
            if !names.is_empty() && (lead == "did" && followed_by_do || names.len() >= 2) {
                let name: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
                return Some(name.join(" "));
            }
        }
        None
    }

    /// A country the question names ("from France", "in the United States"): its code.
    pub(super) fn country(&self) -> Option<&'static str> {
        (0..self.plain.len()).find_map(|i| {
            (1..=4).rev().find_map(|n| {
                let phrase = self.plain.get(i..i + n)?.join(" ");
                aoc_model::country_code(&phrase)
            })
        })
    }

    /// The words of the question that no rule read and that say something: reported, so an
    /// answer never pretends to have understood them.
    pub(super) fn ignored(&self, filters: &BTreeMap<String, String>) -> Vec<String> {
        let values: Vec<String> = filters
            .values()
            .flat_map(|v| {
                v.to_lowercase()
                    .split(|c: char| !(c.is_alphanumeric() || "@.:/-".contains(c)))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        let country_words: Vec<&str> = self
            .country()
            .map(|_| {
                self.plain
                    .iter()
                    .map(String::as_str)
                    .filter(|w| aoc_model::country_code(w).is_some())
                    .collect()
            })
            .unwrap_or_default();
        let used = self.used.borrow();
        let mut out: Vec<String> = Vec::new();
        for (i, word) in self.plain.iter().enumerate() {
            let w = word.as_str();
            let known = used.contains(&i)
                || KNOWN_WORDS.contains(&w)
                || NOT_NAMES.contains(&w)
                || values.iter().any(|v| v == w || v.contains(w))
                || country_words.contains(&w)
                || w.chars().all(|c| c.is_ascii_digit() || "-:./".contains(c))
                || w.len() < 2;
            if !known && !out.iter().any(|o| o == w) {
                out.push(w.to_owned());
            }
        }
        // Words of a country's name ("united", "states") are read when the country is.
        if self.country().is_some() {
            out.retain(|w| {
                !matches!(
                    w.as_str(),
                    "united"
                        | "states"
                        | "kingdom"
                        | "south"
                        | "north"
                        | "new"
                        | "arab"
                        | "emirates"
                        | "saudi"
                        | "czech"
                        | "republic"
                        | "hong"
                        | "kong"
                )
            });
        }
        out
    }

    /// A whole number word at `index`.
    pub(super) fn number(&self, index: usize) -> Option<i64> {
        let word = self.at(index)?;
        word.parse().ok().or(match word {
            "one" | "a" | "an" => Some(1),
            "two" => Some(2),
            "three" => Some(3),
            "four" => Some(4),
            "five" => Some(5),
            "six" => Some(6),
            "seven" => Some(7),
            "ten" => Some(10),
            "twelve" => Some(12),
            "fourteen" => Some(14),
            "thirty" => Some(30),
            _ => None,
        })
    }
}
