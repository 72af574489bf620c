//! How the text filters compare, forgivingly: case never matters, a value matches any part of
//! a name (`ravi.moss` finds `ravi.moss@contoso.com`, `inboxrule` finds `New-InboxRule`), a
//! value in double quotes matches a whole name only (`"Set-Mailbox"` leaves out
//! `Set-MailboxFolderPermission`), which is what a click on a listed value asks for, and `*`
//! stands for any text in a whole name (`Set-*`, `*InboxRule`). Actor and target values match
//! any of several names (UPN, display name, id), so there `*` is simply any text around a part.

use crate::event::{Actor, Target};

/// Separates the keys of [`target_keys`] and [`actor_keys`]: a control character, which filter
/// values may not hold.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// A text filter's value, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// Anywhere in the name.
    Part(String),
    /// The whole name.
    Whole(String),
    /// The whole name, `*` standing for any text (no other character is special).
    Pattern(String),
}

impl TextMatch {
    /// `"value"` is whole, anything else a part; `None` when nothing is left to match.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
        let inner = if quoted {
            value[1..value.len() - 1].trim()
        } else {
            value
        };
        let needle = inner.to_lowercase();
        if needle.is_empty() {
            return None;
        }
        Some(if quoted {
            Self::Whole(needle)
        } else if needle.contains('*') {
            if needle.chars().all(|c| c == '*') {
                return None;
            }
            Self::Pattern(needle)
        } else {
            Self::Part(needle)
        })
    }

    /// An operation filter: the unified log's final period is dropped on both sides (see
    /// [`crate::activity::canonical_operation`]).
    pub fn operation(value: &str) -> Option<Self> {
        match Self::parse(value)? {
            Self::Part(n) => Some(Self::Part(canonical(&n))),
            Self::Whole(n) => Some(Self::Whole(canonical(&n))),
            Self::Pattern(n) => Some(Self::Pattern(canonical(&n))),
        }
        .filter(|m| !m.needle().is_empty())
    }

    /// The lowercased value.
    pub fn needle(&self) -> &str {
        match self {
            Self::Part(n) | Self::Whole(n) | Self::Pattern(n) => n,
        }
    }

    /// A [`TextMatch::Pattern`] as a SQL `LIKE` pattern with `\` as its escape: `%`, `_` and `\`
    /// are escaped, `*` becomes `%`. Other matches as a pattern of themselves.
    pub fn like_pattern(&self) -> String {
        let mut out = String::new();
        if matches!(self, Self::Part(_)) {
            out.push('%');
        }
        for c in self.needle().chars() {
            match c {
                '%' | '_' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '*' if matches!(self, Self::Pattern(_)) => out.push('%'),
                c => out.push(c),
            }
        }
        if matches!(self, Self::Part(_)) {
            out.push('%');
        }
        out
    }

    /// True when `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        match self {
            Self::Part(n) => name.contains(n.as_str()),
            Self::Whole(n) => name.trim() == n,
            Self::Pattern(n) => glob(n, name.trim()),
        }
    }

    /// True when one of the keys in `keys` (as [`actor_keys`] / [`target_keys`] join them)
    /// matches.
    pub fn matches_keys(&self, keys: &str) -> bool {
        keys.contains(&self.key_needle())
    }

    /// What to look for in joined keys: a part anywhere, a whole key between separators.
    pub fn key_needle(&self) -> String {
        match self {
            Self::Part(n) => n.clone(),
            Self::Whole(n) => format!("{KEY_SEPARATOR}{n}{KEY_SEPARATOR}"),
            Self::Pattern(n) => longest_piece(n).to_owned(),
        }
    }
}

/// The longest run of a pattern without `*`: what an actor or target pattern looks for.
fn longest_piece(pattern: &str) -> &str {
    pattern
        .split('*')
        .max_by_key(|piece| piece.len())
        .unwrap_or_default()
}

/// `*`-pattern match of a whole (lowercased) name.
fn glob(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if pieces.len() == 1 {
        return name == first;
    }
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn canonical(operation: &str) -> String {
    crate::activity::canonical_operation(operation).to_owned()
}

fn join_keys<'a>(values: impl Iterator<Item = &'a String>) -> String {
    let mut keys = String::new();
    for value in values
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
    {
        if keys.is_empty() {
            keys.push(KEY_SEPARATOR);
        }
        keys.push_str(&value.replace(KEY_SEPARATOR, " "));
        keys.push(KEY_SEPARATOR);
    }
    keys
}

/// The ids and names of an event's targets as one string engines can search with a substring
/// test: each key lowercased and enclosed in separators (`␟id␟name␟`); empty without targets.
pub fn target_keys(targets: &[Target]) -> String {
    join_keys(targets.iter().flat_map(|t| [&t.id, &t.name]).flatten())
}

/// Each target by its name (its id when it has none), joined as [`target_keys`] joins keys: what
/// the target facet counts, one value per target.
pub fn target_names(targets: &[Target]) -> String {
    join_keys(targets.iter().filter_map(|t| {
        t.name
            .as_ref()
            .filter(|n| !n.trim().is_empty())
            .or(t.id.as_ref())
    }))
}

/// The distinct values of joined keys ([`target_names`], [`target_keys`]).
pub fn split_keys(keys: &str) -> impl Iterator<Item = &str> {
    let mut seen = std::collections::HashSet::new();
    keys.split(KEY_SEPARATOR)
        .filter(|k| !k.is_empty())
        .filter(move |k| seen.insert(*k))
}

/// The actor's UPN, display name and id, joined as [`target_keys`] joins a target's.
pub fn actor_keys(actor: &Actor) -> String {
    join_keys(
        [&actor.upn, &actor.display_name, &actor.id]
            .into_iter()
            .flatten(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_wholes_ignore_case() {
        let part = TextMatch::parse(" Ravi.Moss ").expect("value");
        assert!(part.matches("ravi.moss@contoso.com"));
        let whole = TextMatch::parse("\"Set-Mailbox\"").expect("value");
        assert!(whole.matches("set-mailbox"));
        assert!(!whole.matches("Set-MailboxFolderPermission"));
        assert_eq!(TextMatch::parse("\"\""), None);
        assert_eq!(TextMatch::parse("   "), None);
        assert_eq!(TextMatch::parse("\""), Some(TextMatch::Part("\"".into())));
    }

    #[test]
    fn stars_stand_for_any_text() {
        let m = TextMatch::parse("Set-*").expect("value");
        assert!(m.matches("Set-Mailbox"));
        assert!(!m.matches("New-InboxRule"));
        let m = TextMatch::parse("*inbox*rule").expect("value");
        assert!(m.matches("New-InboxRule") && m.matches("Set-InboxRule"));
        assert!(!m.matches("InboxRuleX"));
        assert_eq!(TextMatch::parse("**"), None);
        assert_eq!(m.like_pattern(), "%inbox%rule");
        assert_eq!(
            TextMatch::parse("50%_off\\").expect("v").like_pattern(),
            "%50\\%\\_off\\\\%"
        );
        assert_eq!(TextMatch::parse("ra*moss").expect("v").key_needle(), "moss");
    }

    #[test]
    fn operations_compare_without_the_final_period() {
        let m = TextMatch::operation("\"Add member to role.\"").expect("value");
        assert!(m.matches("Add member to role"));
        assert_eq!(TextMatch::operation("."), None);
    }

    #[test]
    fn keys_find_parts_and_whole_keys() {
        let actor = Actor {
            upn: Some("Ravi.Moss@contoso.com".into()),
            display_name: Some("Ravi Moss".into()),
            ..Actor::default()
        };
        let keys = actor_keys(&actor);
        assert!(
            TextMatch::parse("ravi moss")
                .expect("v")
                .matches_keys(&keys)
        );
        assert!(
            TextMatch::parse("\"ravi moss\"")
                .expect("v")
                .matches_keys(&keys)
        );
        assert!(!TextMatch::parse("\"ravi\"").expect("v").matches_keys(&keys));
    }
}
