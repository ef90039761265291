use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Provenance, Symbol};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    Call,
    Put,
}

/// Sensitivities of an option's value. Analytics, so `f64`. Theta is per calendar day,
/// vega and rho per 1 percentage point, the way trading screens show them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Greeks {
    pub delta: f64,
    pub gamma: f64,
    pub theta: f64,
    pub vega: f64,
    pub rho: f64,
}

/// One side (call or put) of one strike and expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OptionQuote {
    /// OCC symbol, e.g. `GOOG130322C00800000`.
    pub contract: String,
    /// Market bid/ask/last, volume and open interest: absent (null) for a model chain, which has
    /// no market — never invented.
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    pub volume: Option<u64>,
    pub open_interest: Option<u64>,
    /// Implied volatility, annualised (0.25 = 25 %).
    pub implied_volatility: Option<f64>,
    pub greeks: Option<Greeks>,
    /// Model value (Black-Scholes), unrounded; present for model chains.
    pub theoretical_value: Option<f64>,
}

/// Call and put at one strike and expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OptionContract {
    pub expiration: NaiveDate,
    pub strike: Decimal,
    pub call: Option<OptionQuote>,
    pub put: Option<OptionQuote>,
}

/// An options chain for one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OptionChain {
    pub underlying: Symbol,
    pub underlying_price: Decimal,
    pub expirations: Vec<NaiveDate>,
    pub contracts: Vec<OptionContract>,
    /// How a model chain was priced (rate, volatility, dividend yield); empty for market data.
    pub model_inputs: Option<ModelInputs>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Inputs of a model-priced chain, so the person can see (and question) the assumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelInputs {
    pub model: String,
    /// Continuously compounded risk-free rate used.
    pub risk_free_rate: f64,
    /// Continuous dividend yield used.
    pub dividend_yield: f64,
    /// Annualised volatility fed to the model, and how it was measured.
    pub volatility: f64,
    pub volatility_method: String,
    /// The date the chain is priced at (the underlying's last bar for offline data).
    pub valuation_date: NaiveDate,
}

/// OCC option symbol: root, yymmdd, C/P, strike × 1000 in 8 digits.
pub fn occ_symbol(
    underlying: &Symbol,
    expiration: NaiveDate,
    kind: OptionKind,
    strike: Decimal,
) -> String {
    let strike_milli = (strike * Decimal::ONE_THOUSAND).trunc();
    let cp = match kind {
        OptionKind::Call => 'C',
        OptionKind::Put => 'P',
    };
    format!(
        "{}{}{}{:0>8}",
        underlying.as_str().replace(['.', '/'], ""),
        expiration.format("%y%m%d"),
        cp,
        strike_milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn occ_symbols_follow_the_standard() {
        let d = NaiveDate::from_ymd_opt(2013, 3, 22).unwrap();
        let s = Symbol::parse("GOOG").unwrap();
        assert_eq!(
            occ_symbol(&s, d, OptionKind::Call, dec!(800)),
            "GOOG130322C00800000"
        );
        assert_eq!(
            occ_symbol(&s, d, OptionKind::Put, dec!(802.5)),
            "GOOG130322P00802500"
        );
    }
}
