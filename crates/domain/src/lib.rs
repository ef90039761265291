//! The trading vocabulary QuantDesk speaks: symbols and asset classes, bars, quotes, timeframes,
//! option contracts and the provenance every answer carries.
//!
//! Money and quantities are `rust_decimal::Decimal`, never `f64`. This crate does no I/O, knows no
//! database, network or clock of its own, and must never grow any: every other crate builds on it.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod bar;
mod error;
mod option;
mod order;
pub mod spread;
mod symbol;
mod timeframe;
pub mod untrusted;

pub use bar::{Bar, BarSeries, PriceSnapshot, Provenance, Quote};
pub use error::DomainError;
pub use option::{
    Greeks, ModelInputs, OptionChain, OptionContract, OptionKind, OptionQuote, occ_symbol,
};
pub use order::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
pub use symbol::{AssetClass, Symbol, SymbolInfo};
pub use timeframe::{Timeframe, TimeframeUnit};

/// Money and quantities throughout QuantDesk.
pub use rust_decimal::Decimal;
