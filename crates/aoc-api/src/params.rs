//! Query-string parsing that names the parameter at fault.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// Longest accepted value of a plain text filter.
const MAX_VALUE_CHARS: usize = 1000;

/// The query string as name → value, refusing repeated and unknown names.
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut map = HashMap::new();
        // Invalid percent-encoded UTF-8 becomes U+FFFD, which validation then judges.
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let (name, value) = (name.into_owned(), value.into_owned());
            if !allowed.contains(&name.as_str()) {
                let reason = if allowed.is_empty() {
                    "unknown parameter; this route takes none".to_owned()
                } else {
                    format!("unknown parameter; known ones are {}", allowed.join(", "))
                };
                return Err(ApiError::invalid(name, reason));
            }
            if map.contains_key(&name) {
                return Err(ApiError::invalid(name, "given more than once"));
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }

    /// A text value: absent, or non-empty and of sane length.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Err(ApiError::invalid(name, "must not be empty")),
            Some(v) if v.chars().count() > MAX_VALUE_CHARS => Err(ApiError::invalid(
                name,
                format!("longer than {MAX_VALUE_CHARS} characters"),
            )),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// A value parsed by `parse`, whose error explains what is expected.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.0
            .get(name)
            .map(|v| parse(v).map_err(|reason| ApiError::invalid(name, reason)))
            .transpose()
    }
}

/// Extracts the raw query string; parsing happens in the handler, which knows its parameters.
pub struct RawQuery(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.uri.query().map(str::to_owned)))
    }
}

/// Refuses any query parameter, for routes that take none.
pub fn no_params(query: Option<&str>) -> Result<(), ApiError> {
    Params::parse(query, &[]).map(|_| ())
}

/// A JSON request body, refused as problem+json that says what was wrong (not JSON, a missing
/// or unknown field, a wrong type).
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::InvalidBody(
                "send the body as JSON (Content-Type: application/json)".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
                _ => ApiError::InvalidBody(e.body_text()),
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidBody(e.to_string()))
    }
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
