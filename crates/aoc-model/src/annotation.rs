//! What analysts add to events: tags and comments, and who added them.
//!
//! Tags and comment bodies are checked here, when they are made from user input, so the store
//! and every front end (API, MCP, CLI) accept exactly the same values.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Characters in one tag, after trimming.
pub const MAX_TAG_CHARS: usize = 48;
/// Characters in one comment body, after trimming.
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// The tags the UI offers before anyone has made their own. The first three are the triage
/// states every team uses; the others close an investigation one way or the other.
pub const DEFAULT_TAGS: [&str; 5] = [
    "investigating",
    "false_positive",
    "escalated",
    "benign",
    "confirmed",
];

/// A tag on an event: 1 to [`MAX_TAG_CHARS`] of `a-z`, `0-9`, `_`, `-`, `.` and `:`, so tags
/// compare, sort and appear in URLs the same everywhere. Made with [`Tag::parse`], which trims
/// and lowercases what a person typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

/// Why a tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("tag is empty")]
    Empty,
    #[error("tag is longer than {MAX_TAG_CHARS} characters")]
    TooLong,
    #[error("tag may hold only a-z, 0-9, '_', '-', '.' and ':', not {0:?}")]
    InvalidChar(char),
}

impl Tag {
    /// Trims and lowercases `input` (ASCII letters only: `K` becomes `k`, while a Kelvin sign
    /// stays what it is and is refused), then checks it.
    ///
    /// # Errors
    /// [`TagError`] naming the first rule the tag breaks.
    pub fn parse(input: &str) -> Result<Self, TagError> {
        let tag = input.trim().to_ascii_lowercase();
        if tag.is_empty() {
            return Err(TagError::Empty);
        }
        if let Some(bad) = tag
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-' | '.' | ':'))
        {
            return Err(TagError::InvalidChar(bad));
        }
        // Only ASCII is left, so bytes are characters.
        if tag.len() > MAX_TAG_CHARS {
            return Err(TagError::TooLong);
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Tag {
    type Error = TagError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

/// Described by hand: the derive cannot see `#[serde(try_from, into)]`. A tag leaves AOC in its
/// checked form, so the pattern holds for every tag in a response.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Tag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A tag: 1 to 48 of a-z, 0-9, '_', '-', '.' and ':' (what was typed, trimmed and \
                 lowercased)",
            ))
            .pattern(Some(format!("^[a-z0-9_.:-]{{1,{MAX_TAG_CHARS}}}$")))
            .examples(["investigating"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Tag {}

impl std::str::FromStr for Tag {
    type Err = TagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A person acting in AOC: an Entra ID user, or the operator of an instance without
/// authentication ([`Author::local`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    /// The Entra object id (`oid` claim), or [`Author::LOCAL_ID`].
    pub id: String,
    /// The name to show (`name` or `preferred_username` claim), when the token carried one.
    pub name: Option<String>,
}

impl Author {
    /// The id of the operator when authentication is off (loopback use).
    pub const LOCAL_ID: &'static str = "local";

    pub fn new(id: impl Into<String>, name: Option<String>) -> Self {
        Self {
            id: id.into(),
            name,
        }
    }

    pub fn local() -> Self {
        Self {
            id: Self::LOCAL_ID.to_owned(),
            name: None,
        }
    }
}

/// The text of a comment: 1 to [`MAX_COMMENT_CHARS`] characters once leading and trailing
/// whitespace is trimmed. Kept exactly otherwise (line breaks, Markdown, any script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommentBody(String);

/// Why a comment body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentBodyError {
    #[error("comment is empty")]
    Empty,
    #[error("comment is longer than {MAX_COMMENT_CHARS} characters")]
    TooLong,
}

impl CommentBody {
    /// Trims `input` and checks its length in characters (Unicode scalar values).
    ///
    /// # Errors
    /// [`CommentBodyError`] when nothing or too much is left.
    pub fn parse(input: &str) -> Result<Self, CommentBodyError> {
        let body = input.trim();
        if body.is_empty() {
            return Err(CommentBodyError::Empty);
        }
        if body.chars().count() > MAX_COMMENT_CHARS {
            return Err(CommentBodyError::TooLong);
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CommentBody {
    type Error = CommentBodyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CommentBody> for String {
    fn from(body: CommentBody) -> Self {
        body.0
    }
}

/// A comment's id: a version-7 UUID, so ids sort roughly by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommentId(Uuid);

impl CommentId {
    /// A new, unique id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CommentId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_lowercased() {
        for (input, want) in [
            ("investigating", "investigating"),
            ("  False_Positive\t", "false_positive"),
            ("MITRE:T1078.004", "mitre:t1078.004"),
            ("case-2025-031", "case-2025-031"),
            ("a", "a"),
        ] {
            assert_eq!(Tag::parse(input).map(|t| t.to_string()), Ok(want.into()));
        }
        assert_eq!(
            Tag::parse(&"x".repeat(48)).map(|t| t.as_str().len()),
            Ok(48)
        );
    }

    #[test]
    fn bad_tags_say_why() {
        assert_eq!(Tag::parse(""), Err(TagError::Empty));
        assert_eq!(Tag::parse("   "), Err(TagError::Empty));
        assert_eq!(Tag::parse(&"x".repeat(49)), Err(TagError::TooLong));
        for (input, bad) in [
            ("two words", ' '),
            ("o'brien", '\''),
            ("50%", '%'),
            ("a\u{0}b", '\u{0}'),
            ("émoji", 'é'),
            ("tag🎉", '🎉'),
            ("a/b", '/'),
            ("ÉTÉ", 'É'),
            // Only ASCII letters are lowercased: the Kelvin sign does not become `k`.
            ("\u{212A}", '\u{212A}'),
        ] {
            assert_eq!(
                Tag::parse(input),
                Err(TagError::InvalidChar(bad)),
                "{input}"
            );
        }
        // A long run of a bad character is refused for the character, whatever its length.
        assert_eq!(Tag::parse(&"é".repeat(40)), Err(TagError::InvalidChar('é')));
    }

    #[test]
    fn default_tags_are_valid_tags() {
        for tag in DEFAULT_TAGS {
            assert_eq!(Tag::parse(tag).map(String::from), Ok(tag.to_owned()));
        }
        assert_eq!(
            &DEFAULT_TAGS[..3],
            &["investigating", "false_positive", "escalated"]
        );
    }

    #[test]
    fn tags_deserialize_through_parse() {
        let tag: Tag = serde_json::from_str("\" Escalated \"").expect("valid");
        assert_eq!(tag.as_str(), "escalated");
        assert_eq!(serde_json::to_string(&tag).expect("json"), "\"escalated\"");
        assert!(serde_json::from_str::<Tag>("\"no spaces\"").is_err());
    }

    #[test]
    fn comment_bodies_are_trimmed_and_bounded() {
        assert_eq!(
            CommentBody::parse("  looks like\nphishing  ").map(String::from),
            Ok("looks like\nphishing".into())
        );
        assert_eq!(CommentBody::parse(" \n\t "), Err(CommentBodyError::Empty));
        // Characters, not bytes: 10,000 emoji are 40,000 bytes and still fit.
        assert!(CommentBody::parse(&"🎉".repeat(MAX_COMMENT_CHARS)).is_ok());
        assert_eq!(
            CommentBody::parse(&"x".repeat(MAX_COMMENT_CHARS + 1)),
            Err(CommentBodyError::TooLong)
        );
        let padded = format!("  {}  ", "x".repeat(MAX_COMMENT_CHARS));
        assert!(CommentBody::parse(&padded).is_ok());
        assert!(serde_json::from_str::<CommentBody>("\"  \"").is_err());
    }

    #[test]
    fn comment_ids_are_version_7_and_unique() {
        let a = CommentId::generate();
        let b = CommentId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.to_string().parse::<CommentId>().ok(), Some(a));
        assert_eq!(CommentId::from_bytes(*a.as_bytes()), a);
    }
}
