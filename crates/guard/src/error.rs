use thiserror::Error;

/// Why the guard could not decide. Any of these refuses the order: the guard never lets an order
/// through on a failed read.
#[derive(Debug, Error)]
pub enum GuardError {
    #[error(transparent)]
    Store(#[from] quantdesk_store::StoreError),
    #[error("the order journal holds a value QuantDesk cannot read: {0}")]
    Corrupt(String),
    #[error("there is no order with client order id '{0}'")]
    UnknownOrder(String),
    #[error("order {client_order_id} is for {order}, not {venue}")]
    WrongVenue {
        client_order_id: String,
        order: String,
        venue: String,
    },
    #[error("'{0}' is not a usable client order id: use up to 48 letters, digits, '-', '_' or '.'")]
    BadClientOrderId(String),
    /// A decision on a pending order without the app's valid signature (see `seal`): nothing
    /// was done with it.
    #[error(
        "the {verdict} of order {client_order_id} is not signed by the QuantDesk app, so it was \
         refused; the order still waits for the person's decision in the app"
    )]
    UnsignedDecision {
        client_order_id: String,
        verdict: &'static str,
    },
    /// The seal key could not be made or read (see `seal`).
    #[error("{0}")]
    Seal(String),
}

impl From<sqlx::Error> for GuardError {
    fn from(err: sqlx::Error) -> Self {
        GuardError::Store(quantdesk_store::StoreError::from(err))
    }
}
