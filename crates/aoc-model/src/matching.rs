//! How the text filters compare, forgivingly: case never matters, a value matches any part of
//! a name (`ravi.moss` finds `ravi.moss@contoso.com`, `inboxrule` finds `New-InboxRule`), and a
//! value in double quotes matches a whole name only (`"Set-Mailbox"` leaves out
//! `Set-MailboxFolderPermission`), which is what a click on a listed value asks for.

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
        }
        .filter(|m| !m.needle().is_empty())
    }

    /// The lowercased value.
    pub fn needle(&self) -> &str {
        match self {
            Self::Part(n) | Self::Whole(n) => n,
        }
    }

    /// True when `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        match self {
            Self::Part(n) => name.contains(n.as_str()),
            Self::Whole(n) => name.trim() == n,
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
        }
    }
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
