use thiserror::Error;

/// Input that cannot be a valid domain value. Messages name the value and what was expected,
/// because they reach a person through Claude.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    #[error("'{0}' is not a valid symbol: use letters, digits and . / - ^ (e.g. GOOG, BTC/USD)")]
    InvalidSymbol(String),
    #[error(
        "'{0}' is not a timeframe: use e.g. 1Min, 5Min, 15Min, 1Hour, 4Hour, 1Day, 1Week, 1Month"
    )]
    InvalidTimeframe(String),
    #[error("'{0}' is not an asset class: use stock, etf, index, crypto, forex or option")]
    InvalidAssetClass(String),
}
