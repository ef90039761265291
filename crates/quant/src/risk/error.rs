//! Why a risk figure cannot be computed. Messages name the series and say what was expected, so
//! the person (or the model) asking can fix the request rather than guess.

use thiserror::Error;

/// Errors from the [`risk`](super) functions.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RiskError {
    /// Fewer periods than the statistic needs (a sample standard deviation needs two returns,
    /// so a volatility needs three prices).
    #[error("{what}: needs at least {needed} returns ({} prices), got {got} returns", needed + 1)]
    TooShort {
        what: String,
        needed: usize,
        got: usize,
    },
    /// Series that should be aligned period by period have different lengths.
    #[error(
        "{what}: has {got} values but {expected} were expected; series must be aligned on common \
         timestamps first (see risk::align)"
    )]
    LengthMismatch {
        what: String,
        expected: usize,
        got: usize,
    },
    /// A price that is NaN, infinite, zero or negative: returns from it would be meaningless.
    #[error(
        "{series}: price at index {index} is {value}; prices must be finite and greater than zero"
    )]
    InvalidPrice {
        series: String,
        index: usize,
        value: f64,
    },
    /// A return that is NaN or infinite.
    #[error("{series}: return at index {index} is {value}; returns must be finite")]
    NonFiniteReturn {
        series: String,
        index: usize,
        value: f64,
    },
    /// A parameter outside its domain (confidence not in (0, 1), non-positive periods per year…).
    #[error("{name} must be {expected}, got {value}")]
    InvalidParameter {
        name: String,
        expected: String,
        value: f64,
    },
    /// Portfolio weights that cannot be normalised.
    #[error("weights: {0}")]
    InvalidWeights(String),
    /// Nothing to analyse.
    #[error("no series given: pass at least one asset's closes")]
    NoSeries,
}
