use thiserror::Error;

/// What went wrong talking to a broker or the store. Messages reach a person through Claude.
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(transparent)]
    Guard(#[from] quantdesk_guard::GuardError),
    #[error(transparent)]
    Store(#[from] quantdesk_store::StoreError),
    #[error(transparent)]
    Market(#[from] quantdesk_market::MarketError),
    #[error("the {broker} broker does not support {what}")]
    Unsupported { broker: &'static str, what: String },
    /// The broker refused the request (its own message, e.g. insufficient buying power).
    #[error(
        "{broker} refused: {}",
        quantdesk_domain::untrusted::envelope(broker, message)
    )]
    Refused {
        broker: &'static str,
        status: u16,
        message: String,
    },
    /// The broker could not be reached or answered unreadably; whether it got the order is
    /// unknown until reconciled.
    #[error("{broker} could not be reached: {message}")]
    Unreachable {
        broker: &'static str,
        message: String,
    },
    /// The broker took the order (`sent` is its answer) but QuantDesk could not record that in
    /// its journal, even after retrying; the row stays `sending` and reconciliation records it
    /// from the broker on the next start.
    #[error("{broker} took the order, but QuantDesk could not record it yet: {error}")]
    Unrecorded {
        broker: &'static str,
        sent: Box<crate::Sent>,
        error: String,
    },
    #[error("stored trading data is unreadable: {0}")]
    Corrupt(String),
    #[error("there is no order '{0}'")]
    UnknownOrder(String),
    #[error(transparent)]
    Keychain(#[from] quantdesk_secrets::SecretError),
    #[error("{0}")]
    Invalid(String),
    /// Other processes kept changing what this one was about to act on; nothing was done.
    #[error("busy: {0}")]
    Busy(String),
}

impl From<sqlx::Error> for BrokerError {
    fn from(err: sqlx::Error) -> Self {
        BrokerError::Store(quantdesk_store::StoreError::from(err))
    }
}
