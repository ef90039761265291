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
    #[error("{broker} refused: {message}")]
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
    #[error("stored trading data is unreadable: {0}")]
    Corrupt(String),
    #[error("there is no order '{0}'")]
    UnknownOrder(String),
    #[error(transparent)]
    Keychain(#[from] quantdesk_secrets::SecretError),
    #[error("{0}")]
    Invalid(String),
}

impl From<sqlx::Error> for BrokerError {
    fn from(err: sqlx::Error) -> Self {
        BrokerError::Store(quantdesk_store::StoreError::from(err))
    }
}
