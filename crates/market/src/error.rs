use chrono::{DateTime, Utc};
use quantdesk_domain::{Symbol, Timeframe};
use thiserror::Error;

/// Why a market-data request could not be answered. Each message names the problem and, where
/// it helps, what would work instead — it reaches the person through Claude.
#[derive(Debug, Error)]
pub enum MarketError {
    #[error("{provider} has no data for '{symbol}'; it knows: {known}")]
    UnknownSymbol {
        symbol: Symbol,
        provider: &'static str,
        known: String,
    },

    #[error("start {start} is after end {end}")]
    InvalidRange {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },

    #[error("{provider} cannot give {timeframe} bars for {symbol}: {reason}")]
    UnsupportedTimeframe {
        symbol: Symbol,
        timeframe: Timeframe,
        provider: &'static str,
        reason: String,
    },

    #[error("no {symbol} bars between {start} and {end}; {provider} has {available}")]
    NoData {
        symbol: Symbol,
        provider: &'static str,
        start: String,
        end: String,
        available: String,
    },

    #[error("{0}")]
    Unsupported(String),

    #[error(
        "{provider} refused the request: {}",
        quantdesk_domain::untrusted::envelope(provider, message)
    )]
    Rejected {
        provider: &'static str,
        message: String,
    },

    #[error("could not reach {provider}: {message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },

    #[error(
        "{provider} answered something QuantDesk could not read: {}",
        quantdesk_domain::untrusted::envelope(provider, message)
    )]
    BadResponse {
        provider: &'static str,
        message: String,
    },

    #[error("option pricing failed: {0}")]
    Pricing(String),
}
