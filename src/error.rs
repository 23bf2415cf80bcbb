//! `AppError` gathers the domain errors of every feature. It knows nothing of HTTP:
//! `api/error.rs` decides status codes and what a client may read.

use crate::auth::{AuthError, UserError};
use crate::catalog::PhotoError;
use crate::media::MediaError;
use crate::sharing::SharingError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Sharing(#[from] SharingError),
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

/// One invalid field: `{field, message, code}` as in API.md §1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub code: &'static str,
}

/// Every field that failed validation; the first one also becomes the error message.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.summary())]
pub struct ValidationErrors {
    pub details: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn single(field: &str, message: &str, code: &'static str) -> Self {
        let mut errors = Self::default();
        errors.add(field, message, code);
        errors
    }

    pub fn add(&mut self, field: &str, message: &str, code: &'static str) {
        self.details.push(FieldError {
            field: field.to_string(),
            message: message.to_string(),
            code,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.details.is_empty()
    }

    /// `Ok(())` when nothing was added, so validators end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    fn summary(&self) -> String {
        match self.details.first() {
            Some(first) => format!("{} {}", first.field, first.message),
            None => "invalid request".into(),
        }
    }
}
