use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

/// What a caller can act on, not which driver failed. Engines convert their driver errors once,
/// at their edge; messages never carry connection strings or secrets.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// A value the engine cannot accept; `field` names the query parameter or event field.
    #[error("invalid {field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    /// The thing a call refers to does not exist (an event to annotate that is not stored, or
    /// no longer is); `what` names its kind.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The engine is unreachable, overloaded or shutting down: retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A schema migration failed or the schema is newer than this build.
    #[error("schema migration failed: {0}")]
    Migration(String),
    /// A stored row could not be read back (corruption or a bug): never the caller's fault.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("storage error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }
}
