//! The store's error type: what went wrong, in terms the edge can turn into a response.

use sable_core::ValidationErrors;
use sable_core::filter::FilterError;
use sable_core::meta::MetaError;
use serde::Serialize;

/// One field changed by someone else since the version an edit was based on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeSince {
    pub version: i64,
    /// What happened: `update`, or `delete` / `restore` (then `field` is empty).
    pub action: String,
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub at: String,
}

/// Why a write was refused because of another write.
#[derive(Clone, Debug, PartialEq)]
pub enum Conflict {
    /// The edit was based on an old version; `changes` says who changed what since.
    StaleVersion {
        current_version: i64,
        changes: Vec<ChangeSince>,
    },
    /// The record is already in that state (e.g. restoring a live record).
    State(String),
}

/// Everything a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{module} record {id} not found")]
    NotFound { module: String, id: i64 },
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    BadFilter(#[from] FilterError),
    #[error("{0}")]
    Meta(#[from] MetaError),
    #[error("{0}")]
    BadRequest(String),
    /// A request refused with a message the interfaces show in the reader's language.
    #[error("{0}")]
    Refused(sable_core::Refusal),
    #[error("conflict")]
    Conflict(Conflict),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StoreError {
    /// A write refused by a unique index: another save used the same value at the same
    /// moment (two nodes on one PostgreSQL passed the service's check together). That is a
    /// conflict to retry, not a failure of the server.
    pub(crate) fn unique_race(self) -> StoreError {
        let StoreError::Other(e) = &self else {
            return self;
        };
        let unique = e.chain().any(|c| {
            c.downcast_ref::<sqlx::Error>()
                .and_then(sqlx::Error::as_database_error)
                .is_some_and(|d| d.is_unique_violation())
        });
        if unique {
            StoreError::Conflict(Conflict::State(
                "another save used the same value of a unique field at the same moment; reload and try again".into(),
            ))
        } else {
            self
        }
    }

    /// Shorthand for a refusal with a catalogue key and its English text.
    pub fn refused(key: &'static str, en: impl Into<String>) -> StoreError {
        StoreError::Refused(sable_core::Refusal::new(key, en))
    }

    /// The message for a person, when this error has one in both languages.
    pub fn refusal(&self) -> Option<sable_core::Refusal> {
        match self {
            StoreError::Refused(r) => Some(r.clone()),
            StoreError::Meta(m) => m.refusal(),
            _ => None,
        }
    }

    /// Shorthand for a not-found error.
    pub fn not_found(module: &str, id: i64) -> StoreError {
        StoreError::NotFound {
            module: module.to_string(),
            id,
        }
    }
}

/// Results of store calls.
pub type StoreResult<T> = Result<T, StoreError>;
