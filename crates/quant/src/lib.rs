//! QuantDesk's analytics: option pricing (Black-Scholes-Merton values, greeks, implied and
//! realised volatility, expiration calendars, strike grids and whole model-priced chains) now,
//! indicators and backtests later. Everything here is pure computation over values the caller
//! hands in, so results are reproducible and testable against textbook numbers.
//!
//! This crate must never do I/O, never be async, never touch the network and never read the
//! clock: "now" and every market input arrive as arguments. Inside, analytics run on `f64`;
//! money stays `rust_decimal::Decimal` at the edges (spots and strikes in, chain prices out), so
//! nothing rounded here leaks into a figure a person reads as money.
#![cfg_attr(test, allow(unused_crate_dependencies))]
// unit tests don't use every dev-dependency
// No unsafe code outside `indicators::stream_store` (streaming stores and prefetch, audited).
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod backtest;
pub mod indicators;
pub mod ml;
pub mod options;
pub mod patterns;
pub mod risk;
pub mod screen;

pub use options::OptionsError;
