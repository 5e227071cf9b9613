use crate::domain::payment::PaymentStatus;
use crate::store::StoreError;

/// What can go wrong in a service command; each front door maps it to its own HTTP shape.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; `param` names the field.
    #[error("{param}: {message}")]
    Invalid { param: String, message: String },
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The object is not in a state that allows the command.
    #[error("{message}")]
    InvalidState {
        status: PaymentStatus,
        message: String,
    },
    /// The request conflicts with what exists (a UTR recorded twice, a credit matched).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn invalid(param: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            param: param.to_string(),
            message: message.into(),
        }
    }

    /// `NotFound` for a missing row, the store error otherwise.
    pub fn from_lookup(what: &'static str, err: StoreError) -> ServiceError {
        match err {
            StoreError::NotFound => ServiceError::NotFound(what),
            other => ServiceError::Store(other),
        }
    }
}
