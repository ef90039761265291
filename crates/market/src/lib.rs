//! Market data for QuantDesk: one [`MarketData`] trait and the providers behind it — `bundled`
//! (real daily history shipped with the app, offline, the default) and `alpaca` (Alpaca's market
//! data for US stocks, crypto and options, through the `apca` client), `coinbase` (Coinbase
//! Exchange's public crypto market data, no account needed) and [`CryptoRouted`], which sends
//! crypto pairs to one and the rest to another — plus resampling of bars to coarser timeframes.
//!
//! Every answer carries its [`Provenance`](quantdesk_domain::Provenance): where the numbers came
//! from and as of when. This crate must never invent a price: when a provider lacks a symbol, a
//! range or a timeframe it says so with a [`MarketError`] naming the problem, and a model price
//! (the offline options chain) is labelled `model`, never passed off as a market quote.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod alpaca;
mod bundled;
mod cache;
pub mod coinbase;
mod error;
mod model;
mod provider;
mod resample;
mod routed;
pub mod stream;

pub use alpaca::{AlpacaConfig, AlpacaConfigError, AlpacaFeed, AlpacaProvider, DEFAULT_DATA_URL};
pub use bundled::BundledProvider;
pub use cache::CachedProvider;
pub use coinbase::{CoinbaseConfig, CoinbaseProvider};
pub use error::MarketError;
pub use provider::{BarsRequest, ChainRequest, MarketData};
pub use resample::resample;
pub use routed::CryptoRouted;
