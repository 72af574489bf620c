//! Why a caller was not let in, and the answers that say as little as possible about it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::principal::Role;
use crate::error::problem;

/// A request that could not be authenticated. The variant and its reason are for the log; the
/// caller gets the same 401 for every one of them (503 when the keys cannot be had at all),
/// so probing tokens teaches nothing about which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    Missing,
    /// A token that fails a check; the reason never holds the token itself.
    #[error("token refused: {0}")]
    Invalid(String),
    /// Entra ID's metadata or signing keys could not be fetched, and none are cached.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid(reason.into())
    }

    /// Logs why (without the token), at a level that does not let garbage flood the log.
    pub(crate) fn log(&self) {
        match self {
            Self::Missing => tracing::debug!(reason = %self, "request not authenticated"),
            Self::Invalid(_) => tracing::info!(reason = %self, "request not authenticated"),
            Self::KeysUnavailable(_) => {
                tracing::warn!(reason = %self, "request not authenticated");
            }
        }
    }
}

/// The one 401 answer.
pub fn unauthorized() -> Response {
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        "/problems/unauthorized",
        "Unauthorized",
        "a valid Entra ID access token for AOC is required (Authorization: Bearer …)".into(),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The 403 answer of a route whose role the caller lacks.
pub fn forbidden(needed: Role) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "/problems/forbidden",
        "Forbidden",
        format!("this route needs the {needed} role"),
    )
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            Self::Missing | Self::Invalid(_) => unauthorized(),
            Self::KeysUnavailable(_) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Sign-in unavailable",
                "Entra ID's signing keys cannot be fetched; try again shortly".into(),
            ),
        }
    }
}
