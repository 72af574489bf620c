//! The one mapping from errors to HTTP responses: `application/problem+json` (RFC 9457).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use aoc_services::{Role, ServiceError};
use aoc_store::StoreError;

use crate::auth::forbidden;

/// An error a handler returns. Client errors name what was wrong; server errors say little and
/// log the detail (never a connection string or secret).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request body is not what the route reads (not JSON, wrong shape).
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("request body too large")]
    BodyTooLarge,
    /// The caller may not do this: not the owner of the thing, or a webhook caller who could
    /// not show it holds the shared secret (`clientState`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller lacks the role the use case needs: the role gate's own answer.
    #[error("the {0} role is needed")]
    MissingRole(Role),
    /// The route is switched off by configuration: answered as an unknown route.
    #[error("{0}")]
    Disabled(&'static str),
    /// `POST /api/fetch-audit-logs` on a server without Microsoft 365 tenants.
    #[error("collection is not configured")]
    CollectionNotConfigured,
    /// The job queue (Valkey) cannot be reached; the detail is logged, never sent.
    #[error("job queue unavailable: {0}")]
    QueueUnavailable(String),
    /// A failure of the server itself; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument { name, reason } => {
                Self::InvalidParameter { name, reason }
            }
            ServiceError::NotFound(what) => Self::NotFound(what),
            ServiceError::MissingRole(role) => Self::MissingRole(role),
            ServiceError::Forbidden(why) => Self::Forbidden(why),
            ServiceError::Disabled(why) => Self::Disabled(why),
            ServiceError::CollectionNotConfigured => Self::CollectionNotConfigured,
            ServiceError::QueueUnavailable(detail) => Self::QueueUnavailable(detail),
            ServiceError::Store(error) => Self::Store(error),
            ServiceError::Internal(detail) => Self::Internal(detail),
        }
    }
}

/// A parameter at fault, and why.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct InvalidParam<'a> {
    /// The parameter's name (`page_size`, `from`, `id`, `tag`…).
    #[schema(example = "page_size")]
    name: &'a str,
    /// What is wrong with its value, or that it is unknown or repeated.
    #[schema(example = "expected a whole number from 1 to 500")]
    reason: &'a str,
}

/// What went wrong, as RFC 9457 problem details (`application/problem+json`). The answer's
/// `X-Request-ID` header finds the request in the server's log.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    /// The kind of problem, the same for every answer of that kind: `/problems/invalid-parameter`,
    /// `/problems/invalid-body`, `/problems/unauthorized`, `/problems/forbidden`,
    /// `/problems/not-found`, `/problems/collection-not-configured`, `/problems/body-too-large`,
    /// `/problems/internal`, `/problems/unavailable`.
    #[serde(rename = "type")]
    #[schema(example = "/problems/invalid-parameter")]
    kind: &'a str,
    /// A short title of the kind.
    #[schema(example = "Invalid parameter")]
    title: &'a str,
    /// The HTTP status of the answer.
    #[schema(example = 400)]
    status: u16,
    /// What went wrong this time.
    #[schema(example = "page_size: expected a whole number from 1 to 500")]
    detail: String,
    /// The parameters at fault: only on a 400 about parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_params: Vec<InvalidParam<'a>>,
}

/// A problem+json response; the request id is added by the telemetry middleware.
pub fn problem(status: StatusCode, kind: &str, title: &str, detail: String) -> Response {
    problem_with_params(status, kind, title, detail, Vec::new())
}

fn problem_with_params(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: String,
    invalid_params: Vec<InvalidParam<'_>>,
) -> Response {
    let body = Problem {
        kind,
        title,
        status: status.as_u16(),
        detail,
        invalid_params,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::InvalidParameter { name, reason } => problem_with_params(
                StatusCode::BAD_REQUEST,
                "/problems/invalid-parameter",
                "Invalid parameter",
                format!("{name}: {reason}"),
                vec![InvalidParam { name, reason }],
            ),
            Self::NotFound(what) => problem(
                StatusCode::NOT_FOUND,
                "/problems/not-found",
                "Not found",
                format!("{what} does not exist"),
            ),
            Self::InvalidBody(reason) => problem(
                StatusCode::BAD_REQUEST,
                "/problems/invalid-body",
                "Invalid body",
                reason.clone(),
            ),
            Self::BodyTooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "/problems/body-too-large",
                "Body too large",
                "the request body is larger than this server accepts".into(),
            ),
            Self::Forbidden(detail) => problem(
                StatusCode::FORBIDDEN,
                "/problems/forbidden",
                "Forbidden",
                detail.clone(),
            ),
            Self::MissingRole(role) => forbidden(*role),
            Self::Disabled(detail) => problem(
                StatusCode::NOT_FOUND,
                "/problems/not-found",
                "Not found",
                (*detail).into(),
            ),
            Self::CollectionNotConfigured => problem(
                StatusCode::CONFLICT,
                "/problems/collection-not-configured",
                "Collection not configured",
                "no Microsoft 365 tenant is configured on this server: set TENANT_ID, CLIENT_ID and \
                 CLIENT_SECRET (one tenant) or AOC_TENANTS_FILE (several), or run `aoc serve --demo` \
                 to collect from the built-in simulator"
                    .into(),
            ),
            Self::QueueUnavailable(detail) => {
                tracing::warn!(error = %detail, "job queue unavailable");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "/problems/unavailable",
                    "Job queue unavailable",
                    "the job queue cannot be reached; try again shortly, or ask without \"async\""
                        .into(),
                )
            }
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "/problems/internal",
                    "Internal error",
                    "the server failed to answer; the request id identifies it in the logs".into(),
                )
            }
            Self::Store(StoreError::InvalidArgument { field, message }) => problem_with_params(
                StatusCode::BAD_REQUEST,
                "/problems/invalid-parameter",
                "Invalid parameter",
                format!("{field}: {message}"),
                vec![InvalidParam {
                    name: field,
                    reason: message,
                }],
            ),
            Self::Store(StoreError::NotFound { what, id }) => problem(
                StatusCode::NOT_FOUND,
                "/problems/not-found",
                "Not found",
                format!("no {what} {id}"),
            ),
            Self::Store(StoreError::Unavailable(detail)) => {
                tracing::warn!(error = %detail, "storage unavailable");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "/problems/unavailable",
                    "Storage unavailable",
                    "the database cannot be reached; try again shortly".into(),
                )
            }
            Self::Store(other) => {
                tracing::error!(error = %other, "request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "/problems/internal",
                    "Internal error",
                    "the server failed to answer; the request id identifies it in the logs".into(),
                )
            }
        }
    }
}
