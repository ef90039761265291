//! Errors: typed here, one sentence each at the edge ([`UiError`], what the web view receives).

use std::path::PathBuf;

use serde::Serialize;
use specta::Type;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DesktopError {
    /// A form field the person can fix.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The action is not allowed as asked (e.g. live trading without confirmation).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] quantdesk_store::StoreError),
    #[error(transparent)]
    Guard(#[from] quantdesk_guard::GuardError),
    #[error(transparent)]
    Broker(#[from] quantdesk_broker::BrokerError),
    #[error(transparent)]
    Trading(#[from] quantdesk_trading::TradingError),
    #[error(transparent)]
    Claude(#[from] quantdesk_claude::ClaudeError),
    #[error(transparent)]
    Account(#[from] quantdesk_keys::account::AccountError),
    #[error(transparent)]
    Key(#[from] quantdesk_keys::KeyError),
    #[error(transparent)]
    Keychain(#[from] quantdesk_secrets::SecretError),
    /// Linking Alpaca failed; the sentence says why (wrong key, no network, …).
    #[error("{0}")]
    Alpaca(String),
    /// The QuantDesk platform could not be reached or refused (sign-in, sign-out, revocations).
    #[error(transparent)]
    Platform(#[from] quantdesk_keys::platform::PlatformError),
    #[error("could not write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DesktopError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        DesktopError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a failed command hands the web view: a sentence, and the form field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct UiError {
    pub message: String,
    pub field: Option<String>,
}

impl From<DesktopError> for UiError {
    fn from(err: DesktopError) -> Self {
        let field = match &err {
            DesktopError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        UiError {
            message: err.to_string(),
            field,
        }
    }
}
