//! What a use case can fail with, named for what the caller can act on. Each door maps these
//! once: the HTTP API to problem+json, the worker to a job's error, the MCP server to a tool
//! error.

use aoc_store::StoreError;

use crate::caller::Role;

pub type ServiceResult<T> = Result<T, ServiceError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// An argument (a filter, a body field, an id) that does not parse or is not allowed.
    #[error("invalid parameter {name}: {reason}")]
    InvalidArgument { name: String, reason: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller lacks the role the use case needs.
    #[error("the {0} role is needed")]
    MissingRole(Role),
    /// The caller has the role but not the right to this thing (someone else's comment or job).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The use case is switched off by configuration (the AI features).
    #[error("{0}")]
    Disabled(&'static str),
    /// Fetching now on a server without Microsoft 365 tenants.
    #[error("collection is not configured")]
    CollectionNotConfigured,
    /// The job queue (Valkey) cannot be reached; the detail is for the log only.
    #[error("job queue unavailable: {0}")]
    QueueUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of the server itself; the detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// A job queue's error: when the queue is Valkey and it is away, that is what the caller is
    /// told (not that the database is down).
    pub fn from_queue(queue: &dyn aoc_store::JobQueue, error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) if queue.queue_kind() == "valkey" => {
                Self::QueueUnavailable(detail)
            }
            other => Self::Store(other),
        }
    }

    /// The error as the owner of a background job may read it: what they can act on, never
    /// internals (those are logged).
    pub fn for_job(&self) -> String {
        match self {
            Self::InvalidArgument { .. }
            | Self::NotFound(_)
            | Self::Disabled(_)
            | Self::MissingRole(_)
            | Self::Forbidden(_)
            | Self::Store(StoreError::InvalidArgument { .. } | StoreError::NotFound { .. }) => {
                self.to_string()
            }
            Self::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(error = %self, "a job could not reach the database");
                "the database could not be reached; ask again shortly".into()
            }
            other => {
                tracing::error!(error = %other, "a job failed");
                "the server failed to answer; the worker's logs have the details".into()
            }
        }
    }
}
