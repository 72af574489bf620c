//! Errors of calls to Microsoft, carrying Microsoft's own code so people can look it up.

use chrono::{DateTime, Utc};
use serde_json::Value;

use aoc_store::SourceProblem;

/// Which Microsoft service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Login,
    Graph,
    Management,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "Microsoft Entra token endpoint",
            Self::Graph => "Microsoft Graph",
            Self::Management => "Office 365 Management Activity API",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// Microsoft answered with an error it will answer again (after retries where retrying
    /// made sense).
    #[error("{} answered HTTP {status}{}: {message}", service.name(), code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Microsoft {
        service: Service,
        status: u16,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    },
    /// No answer: connection refused or reset, timeout, body cut off.
    #[error("{} could not be reached: {message}", service.name())]
    Transport { service: Service, message: String },
    /// An answer AOC cannot read (a truncated or non-JSON body), after retries.
    #[error("{} sent a response AOC cannot read: {message}", service.name())]
    Decode { service: Service, message: String },
}

impl CallError {
    /// Microsoft's code (`AF20023`, `Authorization_RequestDenied`, `AADSTS7000215`), or AOC's
    /// own for failures without one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Microsoft { code, .. } => code.as_deref(),
            Self::Transport { .. } => Some("transport_error"),
            Self::Decode { .. } => Some("unreadable_response"),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Microsoft { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn to_problem(&self, at: DateTime<Utc>) -> SourceProblem {
        SourceProblem {
            at,
            code: self.code().map(str::to_owned),
            message: self.to_string(),
        }
    }
}

/// Microsoft's code and message from an error body: Graph and the Management API send
/// `{"error":{"code","message","innerError"}}`, the token endpoint
/// `{"error","error_description","error_codes"}`.
pub fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = (!text.is_empty()).then(|| text.chars().take(300).collect());
        return (None, message, None);
    };
    match value.get("error") {
        Some(Value::Object(error)) => {
            let code = error.get("code").and_then(Value::as_str).map(str::to_owned);
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let inner = error.get("innerError").or_else(|| error.get("innererror"));
            let request_id = inner
                .and_then(|i| i.get("request-id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            (code, message, request_id)
        }
        Some(Value::String(error)) => {
            let description = value
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // "AADSTS7000215: Invalid client secret provided. …\r\nTrace ID: …": the code, and
            // the first line without the trace ids.
            let first_line = description.lines().next().unwrap_or_default().trim();
            let aadsts = value
                .get("error_codes")
                .and_then(Value::as_array)
                .and_then(|codes| codes.first())
                .and_then(Value::as_u64)
                .map(|n| format!("AADSTS{n}"))
                .or_else(|| {
                    first_line
                        .split(':')
                        .next()
                        .filter(|p| p.starts_with("AADSTS"))
                        .map(str::to_owned)
                });
            let message = if first_line.is_empty() {
                error.clone()
            } else {
                format!("{error}: {first_line}")
            };
            let trace = value
                .get("trace_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            (aadsts.or_else(|| Some(error.clone())), Some(message), trace)
        }
        _ => (None, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_management_and_token_errors() {
        let graph = br#"{"error":{"code":"activityLimitReached","message":"The request has been throttled","innerError":{"request-id":"r1"}}}"#;
        assert_eq!(
            parse_error_body(graph),
            (
                Some("activityLimitReached".into()),
                Some("The request has been throttled".into()),
                Some("r1".into())
            )
        );
        let af = br#"{"error":{"code":"AF20022","message":"No subscription found for the specified content type."}}"#;
        assert_eq!(parse_error_body(af).0.as_deref(), Some("AF20022"));
        let token = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215]}"#;
        let (code, message, _) = parse_error_body(token);
        assert_eq!(code.as_deref(), Some("AADSTS7000215"));
        assert_eq!(
            message.as_deref(),
            Some("invalid_client: AADSTS7000215: Invalid client secret provided.")
        );
        assert_eq!(
            parse_error_body(b"<html>"),
            (None, Some("<html>".into()), None)
        );
    }
}
