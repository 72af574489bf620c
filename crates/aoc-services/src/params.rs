//! Arguments as name → text, the way every door receives them (a query string, an MCP tool's
//! arguments, a question's reading), checked once with the name at fault in every error.

use std::collections::HashMap;

use crate::error::ServiceError;

/// Longest accepted value of a plain text argument.
const MAX_VALUE_CHARS: usize = 1000;

/// Named arguments, refusing repeated and unknown names.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// From a query string (`a=1&b=2`, percent-decoded; invalid UTF-8 becomes U+FFFD, which
    /// validation then judges).
    ///
    /// # Errors
    /// An unknown or repeated name.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, ServiceError> {
        Self::from_pairs(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
            allowed,
        )
    }

    /// From name-value pairs.
    ///
    /// # Errors
    /// An unknown or repeated name.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
        allowed: &[&str],
    ) -> Result<Self, ServiceError> {
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if !allowed.contains(&name.as_str()) {
                let reason = if allowed.is_empty() {
                    "unknown parameter; this route takes none".to_owned()
                } else {
                    format!("unknown parameter; known ones are {}", allowed.join(", "))
                };
                return Err(ServiceError::invalid(name, reason));
            }
            if map.contains_key(&name) {
                return Err(ServiceError::invalid(name, "given more than once"));
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }

    /// A text value: absent, or non-empty and of sane length.
    ///
    /// # Errors
    /// An empty or overlong value.
    pub fn text(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Err(ServiceError::invalid(name, "must not be empty")),
            Some(v) if v.chars().count() > MAX_VALUE_CHARS => Err(ServiceError::invalid(
                name,
                format!("longer than {MAX_VALUE_CHARS} characters"),
            )),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// A value parsed by `parse`, whose error explains what is expected.
    ///
    /// # Errors
    /// What `parse` says, under the argument's name.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ServiceError> {
        self.0
            .get(name)
            .map(|v| parse(v).map_err(|reason| ServiceError::invalid(name, reason)))
            .transpose()
    }

    /// A page size from 1 to 500.
    ///
    /// # Errors
    /// Not a whole number.
    pub fn page_size(&self) -> Result<Option<u32>, ServiceError> {
        self.parsed("page_size", |v| {
            v.parse::<u32>()
                .map_err(|_| "expected a whole number from 1 to 500".to_owned())
        })
    }
}

/// Refuses any argument, for use cases that take none.
///
/// # Errors
/// Any argument at all.
pub fn no_params(query: Option<&str>) -> Result<(), ServiceError> {
    Params::parse(query, &[]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_plus_and_bad_utf8() {
        let params = Params::parse(
            Some("q=a+b%20c%2B&actor=%ED%A0%80&operation=100%"),
            &["q", "actor", "operation"],
        )
        .expect("valid");
        assert_eq!(params.text("q").expect("ok").as_deref(), Some("a b c+"));
        assert_eq!(
            params.text("actor").expect("ok").as_deref(),
            Some("\u{FFFD}\u{FFFD}\u{FFFD}")
        );
        assert_eq!(
            params.text("operation").expect("ok").as_deref(),
            Some("100%")
        );
    }

    #[test]
    fn repeated_and_unknown_names_are_refused() {
        assert!(Params::parse(Some("q=a&q=b"), &["q"]).is_err());
        assert!(Params::parse(Some("qq=a"), &["q"]).is_err());
        let params = Params::parse(Some("q=a%20b&"), &["q"]).expect("valid");
        assert_eq!(params.text("q").expect("ok").as_deref(), Some("a b"));
    }
}
