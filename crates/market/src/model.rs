//! Offline option chains: priced by Black-Scholes from the underlying's realised volatility,
//! labelled `model` so nobody mistakes them for market quotes.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, OptionChain, Symbol};
use quantdesk_quant::options::{ModelChainParams, model_chain};
use rust_decimal::prelude::ToPrimitive;

use crate::{ChainRequest, MarketError};

/// Prices a chain for `underlying` as of its last daily bar.
pub(crate) fn chain_from_daily(
    underlying: &Symbol,
    daily: &[Bar],
    as_of: DateTime<Utc>,
    request: &ChainRequest,
) -> Result<OptionChain, MarketError> {
    let spot = daily
        .last()
        .map(|b| b.close)
        .ok_or_else(|| MarketError::Pricing(format!("no daily history for {underlying}")))?;
    let closes: Vec<f64> = daily.iter().filter_map(|b| b.close.to_f64()).collect();
    let params = ModelChainParams {
        expiration: request.expiration,
        strikes_around: request.strikes_around,
        as_of: Some(as_of),
        ..ModelChainParams::default()
    };
    model_chain(underlying, spot, as_of.date_naive(), &closes, params)
        .map_err(|e| MarketError::Pricing(e.to_string()))
}
