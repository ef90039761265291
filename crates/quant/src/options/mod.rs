//! Option analytics: Black-Scholes-Merton pricing and greeks, implied and realised volatility,
//! the expiration calendar and strike grid of a listed chain, and [`model_chain`], which puts
//! them together into a [`quantdesk_domain::OptionChain`] for underlyings without option
//! market data.
//!
//! Conventions shared by everything here: rates and yields are continuously compounded
//! annual decimals (0.04 = 4 %), volatility is annualised (0.2 = 20 %), time is in years of
//! 365 calendar days, theta is per calendar day and vega and rho per percentage point.

mod bsm;
mod calendar;
mod chain;
mod error;
mod implied;
mod normal;
mod realised;
mod strikes;

pub use bsm::{DAYS_PER_YEAR, EuropeanOption, Valuation};
pub use calendar::{WEEKLY_EXPIRATIONS, expirations_after, third_friday};
pub use chain::{MODEL_SOURCE, ModelChainParams, VOLATILITY_WINDOW, model_chain};
pub use error::OptionsError;
pub use normal::{norm_cdf, norm_pdf};
pub use realised::{TRADING_DAYS_PER_YEAR, realised_volatility};
pub use strikes::{strike_grid, strike_increment};
