//! Offline option chains: priced by Black-Scholes from the underlying's realised volatility,
//! labelled `model` so nobody mistakes them for market quotes.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, OptionChain, Symbol};

use crate::{ChainRequest, MarketError};

pub(crate) fn chain_from_daily(
    _underlying: &Symbol,
    _daily: &[Bar],
    _as_of: DateTime<Utc>,
    _request: &ChainRequest,
) -> Result<OptionChain, MarketError> {
    Err(MarketError::Unsupported(
        "model chains arrive with the quant crate".into(),
    ))
}
