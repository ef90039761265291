use quantdesk_broker::BrokerError;
use quantdesk_guard::GuardError;
use quantdesk_store::StoreError;
use thiserror::Error;

/// What went wrong on the order path. Messages reach a person through Claude or the app.
#[derive(Debug, Error)]
pub enum TradingError {
    /// The request is not an order (e.g. a limit order without a price); nothing was recorded.
    #[error("{0}")]
    Invalid(String),
    #[error("there is no order '{0}'")]
    UnknownOrder(String),
    /// The order belongs to another broker or mode than this desk trades.
    #[error(
        "order {client_order_id} is for {order}; this QuantDesk process trades {desk} — decide \
         it where that broker is connected"
    )]
    WrongVenue {
        client_order_id: String,
        order: String,
        desk: String,
    },
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TradingError {
    /// A store or journal failure that a retry may get past (not a broker's answer).
    pub(crate) fn is_bookkeeping(&self) -> bool {
        matches!(
            self,
            TradingError::Store(_)
                | TradingError::Guard(_)
                | TradingError::Broker(BrokerError::Store(_) | BrokerError::Guard(_))
        )
    }
}

/// Runs `f` again after a short pause when bookkeeping (the store, the journal) fails; a
/// broker's answer is never retried here.
pub(crate) async fn retried<T, F, Fut>(mut f: F) -> Result<T, TradingError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, TradingError>>,
{
    const PAUSES: [std::time::Duration; 2] = [
        std::time::Duration::from_millis(50),
        std::time::Duration::from_millis(250),
    ];
    let mut pauses = PAUSES.iter();
    loop {
        match f().await {
            Err(e) if e.is_bookkeeping() => match pauses.next() {
                Some(pause) => {
                    tracing::warn!(err = %e, "recording a broker's answer failed; retrying");
                    tokio::time::sleep(*pause).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}
