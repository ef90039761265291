//! Risk analysis of price series: returns, volatility, Value at Risk and expected shortfall
//! (historical and Gaussian), beta/correlation/alpha against a benchmark, drawdowns, Sharpe and
//! Sortino ratios, and portfolios (weights, rebalanced return series, concentration,
//! correlation matrix). [`analyze`] puts it all into one serialisable [`RiskReport`].
//!
//! Inputs are closes, oldest first, already aligned period by period ([`align`] keeps the common
//! timestamps of several series). Every figure is built on **simple** returns — they aggregate
//! across holdings, which portfolio returns and beta need — except [`log_returns`], offered for
//! callers who want time-additive returns. Statistics are sample statistics (n − 1); the exact
//! conventions (VaR sign, quantile interpolation, Sortino's downside deviation, risk-free rate
//! per period) are stated on each function and, for report readers, in [`CONVENTIONS`].
//!
//! The numbers are cross-checked against an independent numpy computation on GOOG vs SPX
//! (tests/fixtures/risk/).

mod align;
mod error;
mod normal_inv;
mod portfolio;
mod report;
mod stats;
mod tail;

pub use align::align;
pub use error::RiskError;
pub use normal_inv::norm_inv_cdf;
pub use portfolio::{
    Concentration, concentration, correlation_matrix, normalize_weights, portfolio_returns,
};
pub use report::{
    CONVENTIONS, CorrelationMatrix, Holding, PortfolioRisk, RiskInputs, RiskReport, Series,
    SeriesRisk, VarEstimate, analyze,
};
pub use stats::{
    BenchmarkStats, Drawdown, annualized_volatility, benchmark_stats, downside_deviation,
    log_returns, max_drawdown, risk_free_per_period, sharpe_ratio, simple_returns, sortino_ratio,
    wealth_index,
};
pub use tail::{TailRisk, historical_var, parametric_var, parametric_var_from, quantile_linear};
