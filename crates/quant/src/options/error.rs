use chrono::NaiveDate;
use rust_decimal::Decimal;
use thiserror::Error;

/// Why an options computation refused its inputs. Messages name the offending value and what
/// was expected, because they reach a person through Claude and must be actionable there.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptionsError {
    #[error("{what} must be a finite number, got {value}")]
    NonFinite { what: &'static str, value: f64 },

    #[error("{what} must be greater than zero, got {value}")]
    NotPositive { what: &'static str, value: f64 },

    #[error("spot price {0} is not usable: it must be a positive amount")]
    InvalidSpot(Decimal),

    #[error(
        "the option has expired (time to expiry {time_to_expiry} years), so it has no \
         implied volatility"
    )]
    Expired { time_to_expiry: f64 },

    #[error(
        "price {price} is outside the no-arbitrage range ({lower}, {upper}) for this option, \
         so no volatility reproduces it"
    )]
    PriceOutsideBounds { price: f64, lower: f64, upper: f64 },

    #[error("implied volatility search did not converge for price {price}")]
    NoConvergence { price: f64 },

    #[error(
        "{got} closes are not enough: {needed} are needed for {returns} returns (one more \
         close than returns)"
    )]
    InsufficientHistory {
        needed: usize,
        got: usize,
        returns: usize,
    },

    #[error("a sample standard deviation needs at least 2 returns, asked for {returns}")]
    WindowTooShort { returns: usize },

    #[error("close #{index} is {value}: closes must be positive, finite prices")]
    InvalidClose { index: usize, value: f64 },

    #[error(
        "expiration {expiration} is not after the valuation date {valuation}: pick a later \
         expiration"
    )]
    ExpirationNotAfterValuation {
        expiration: NaiveDate,
        valuation: NaiveDate,
    },

    #[error("no expirations to price: ask for at least one monthly expiration or name one")]
    NoExpirations,
}
