//! A whole options chain priced by the model, for underlyings with no option market data.

use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{
    ModelInputs, OptionChain, OptionContract, OptionKind, OptionQuote, Provenance, Symbol,
    occ_symbol,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::OptionsError;
use super::bsm::{DAYS_PER_YEAR, EuropeanOption, finite};
use super::calendar::expirations_after;
use super::realised::{TRADING_DAYS_PER_YEAR, realised_volatility};
use super::strikes::strike_grid;

/// Daily returns the model chain's volatility is measured over: about six weeks of trading,
/// recent enough to reflect the current regime, long enough not to be one day's noise.
pub const VOLATILITY_WINDOW: usize = 30;

/// The source every model chain's provenance carries, so nobody mistakes it for quotes.
pub const MODEL_SOURCE: &str = "model";

/// The assumptions a model chain is priced under. Rates and yields are not market data here:
/// they are stated inputs, echoed in the chain's [`ModelInputs`] so the person can see them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChainParams {
    /// Continuously compounded risk-free rate. Default 0.04 (4 %): an assumed round figure
    /// near recent short US rates, not a fetched one.
    pub risk_free_rate: f64,
    /// Continuous dividend yield. Default 0.
    pub dividend_yield: f64,
    /// Price only this expiration (any date after the valuation date, on the calendar or not).
    /// `None`: the default calendar from [`expirations_after`].
    pub expiration: Option<NaiveDate>,
    /// Monthly expirations in the default calendar. Default 3.
    pub monthly_expirations: usize,
    /// Strikes each side of the at-the-money strike. Default 5.
    pub strikes_around: usize,
    /// The provenance timestamp: when the data the chain rests on was current (typically the
    /// last bar's time). `None`: the valuation date at 00:00 UTC, the time stamp daily bars
    /// carry.
    pub as_of: Option<DateTime<Utc>>,
}

impl Default for ModelChainParams {
    fn default() -> Self {
        Self {
            risk_free_rate: 0.04,
            dividend_yield: 0.0,
            expiration: None,
            monthly_expirations: 3,
            strikes_around: 5,
            as_of: None,
        }
    }
}

/// Prices a Black-Scholes-Merton chain for `underlying` at `spot` on `valuation`, with the
/// volatility measured from `closes` (daily closes, oldest first; the last
/// [`VOLATILITY_WINDOW`] returns are used, so at least 31 closes are needed).
///
/// Time to expiry is calendar days from valuation to expiration / 365, the convention that
/// matches per-calendar-day theta. The quotes carry only what a model knows: theoretical
/// value (unrounded), the volatility used as implied volatility, and greeks. Bid, ask, last,
/// volume and open interest stay `None`, because a model has no market and inventing one
/// would pass a guess off as a trade.
pub fn model_chain(
    underlying: &Symbol,
    spot: Decimal,
    valuation: NaiveDate,
    closes: &[f64],
    params: ModelChainParams,
) -> Result<OptionChain, OptionsError> {
    let spot_f = spot
        .to_f64()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or(OptionsError::InvalidSpot(spot))?;
    finite("risk-free rate", params.risk_free_rate)?;
    finite("dividend yield", params.dividend_yield)?;

    let volatility = realised_volatility(closes, VOLATILITY_WINDOW, TRADING_DAYS_PER_YEAR)?;
    if volatility <= 0.0 {
        return Err(OptionsError::NotPositive {
            what: "realised volatility (the closes never move)",
            value: volatility,
        });
    }

    let expirations = match params.expiration {
        Some(expiration) if expiration <= valuation => {
            return Err(OptionsError::ExpirationNotAfterValuation {
                expiration,
                valuation,
            });
        }
        Some(expiration) => vec![expiration],
        None => expirations_after(valuation, params.monthly_expirations),
    };
    if expirations.is_empty() {
        return Err(OptionsError::NoExpirations);
    }
    let strikes = strike_grid(spot, params.strikes_around)?;

    let mut contracts = Vec::with_capacity(expirations.len() * strikes.len());
    for &expiration in &expirations {
        let days = (expiration - valuation).num_days();
        let time_to_expiry = days as f64 / DAYS_PER_YEAR;
        for &strike in &strikes {
            let strike_f = strike.to_f64().ok_or(OptionsError::NonFinite {
                what: "strike",
                value: f64::NAN,
            })?;
            let quote = |kind: OptionKind| -> Result<OptionQuote, OptionsError> {
                let valued = EuropeanOption {
                    kind,
                    spot: spot_f,
                    strike: strike_f,
                    time_to_expiry,
                    rate: params.risk_free_rate,
                    dividend_yield: params.dividend_yield,
                }
                .valuation(volatility)?;
                Ok(OptionQuote {
                    contract: occ_symbol(underlying, expiration, kind, strike),
                    bid: None,
                    ask: None,
                    last: None,
                    volume: None,
                    open_interest: None,
                    implied_volatility: Some(volatility),
                    greeks: Some(valued.greeks),
                    theoretical_value: Some(valued.price),
                })
            };
            contracts.push(OptionContract {
                expiration,
                strike,
                call: Some(quote(OptionKind::Call)?),
                put: Some(quote(OptionKind::Put)?),
            });
        }
    }

    let as_of = params
        .as_of
        .unwrap_or_else(|| valuation.and_time(chrono::NaiveTime::MIN).and_utc());
    Ok(OptionChain {
        underlying: underlying.clone(),
        underlying_price: spot,
        expirations,
        contracts,
        model_inputs: Some(ModelInputs {
            model: format!(
                "Black-Scholes-Merton (European exercise, continuous dividend yield); \
                 T = calendar days / {DAYS_PER_YEAR}; the risk-free rate and dividend yield \
                 are assumed inputs, not market data"
            ),
            risk_free_rate: params.risk_free_rate,
            dividend_yield: params.dividend_yield,
            volatility,
            volatility_method: format!(
                "realised close-to-close volatility of the last {VOLATILITY_WINDOW} daily log \
                 returns (sample standard deviation, annualised by sqrt({TRADING_DAYS_PER_YEAR}))"
            ),
            valuation_date: valuation,
        }),
        provenance: Provenance {
            source: MODEL_SOURCE.to_string(),
            as_of,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// 41 closes wobbling around 800: a deterministic, obviously volatile series.
    fn closes() -> Vec<f64> {
        (0..41)
            .map(|i| 800.0 * (1.0 + 0.015 * (f64::from(i) * 1.7).sin()))
            .collect()
    }

    #[test]
    fn chain_obeys_parity_and_invents_no_market() {
        let goog = Symbol::parse("GOOG").unwrap();
        let params = ModelChainParams {
            dividend_yield: 0.01,
            ..ModelChainParams::default()
        };
        let valuation = d(2013, 3, 1);
        let chain = model_chain(&goog, dec!(806.19), valuation, &closes(), params).unwrap();

        let inputs = chain.model_inputs.as_ref().unwrap();
        let want_vol = realised_volatility(&closes(), 30, 252.0).unwrap();
        assert_eq!(inputs.volatility, want_vol);
        assert!(inputs.volatility_method.contains("last 30 daily"));
        assert_eq!((inputs.risk_free_rate, inputs.dividend_yield), (0.04, 0.01));
        assert_eq!(inputs.valuation_date, valuation);
        assert_eq!(chain.provenance.source, "model");
        assert_eq!(
            chain.provenance.as_of,
            "2013-03-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(chain.underlying_price, dec!(806.19));
        assert_eq!(chain.expirations, expirations_after(valuation, 3));
        assert_eq!(chain.contracts.len(), chain.expirations.len() * 11);

        let (r, q) = (inputs.risk_free_rate, inputs.dividend_yield);
        for c in &chain.contracts {
            let call = c.call.as_ref().unwrap();
            let put = c.put.as_ref().unwrap();
            for quote in [call, put] {
                assert_eq!(
                    (quote.bid, quote.ask, quote.last),
                    (None, None, None),
                    "{}",
                    quote.contract
                );
                assert_eq!((quote.volume, quote.open_interest), (None, None));
                assert_eq!(quote.implied_volatility, Some(want_vol));
                assert!(quote.greeks.is_some());
            }
            let t = (c.expiration - valuation).num_days() as f64 / 365.0;
            let k = c.strike.to_f64().unwrap();
            let parity = call.theoretical_value.unwrap() - put.theoretical_value.unwrap();
            let forward = 806.19 * (-q * t).exp() - k * (-r * t).exp();
            assert!(
                (parity - forward).abs() < 1e-9,
                "{} {}: {parity} vs {forward}",
                c.expiration,
                c.strike
            );
            assert_eq!(
                call.contract,
                occ_symbol(&goog, c.expiration, OptionKind::Call, c.strike)
            );
        }
        assert_eq!(
            chain.contracts[0].call.as_ref().unwrap().contract,
            "GOOG130308C00760000"
        );
    }

    #[test]
    fn single_expiration_and_custom_as_of() {
        let spy = Symbol::parse("SPY").unwrap();
        let as_of = "2013-03-01T21:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let params = ModelChainParams {
            expiration: Some(d(2013, 6, 21)),
            strikes_around: 2,
            as_of: Some(as_of),
            ..ModelChainParams::default()
        };
        let chain = model_chain(&spy, dec!(151.3), d(2013, 3, 1), &closes(), params).unwrap();
        assert_eq!(chain.expirations, vec![d(2013, 6, 21)]);
        assert_eq!(chain.contracts.len(), 5);
        assert_eq!(chain.provenance.as_of, as_of);
        let strikes: Vec<_> = chain.contracts.iter().map(|c| c.strike).collect();
        assert_eq!(
            strikes,
            vec![dec!(147.5), dec!(150), dec!(152.5), dec!(155), dec!(157.5)]
        );
    }

    #[test]
    fn refuses_what_it_cannot_price() {
        let s = Symbol::parse("X").unwrap();
        let v = d(2013, 3, 1);
        let p = ModelChainParams::default;
        assert!(matches!(
            model_chain(&s, dec!(100), v, &closes()[..30], p()),
            Err(OptionsError::InsufficientHistory {
                needed: 31,
                got: 30,
                ..
            })
        ));
        assert!(matches!(
            model_chain(&s, dec!(0), v, &closes(), p()),
            Err(OptionsError::InvalidSpot(_))
        ));
        assert!(matches!(
            model_chain(&s, dec!(100), v, &[100.0; 40], p()),
            Err(OptionsError::NotPositive { .. })
        ));
        let past = ModelChainParams {
            expiration: Some(v),
            ..p()
        };
        assert!(matches!(
            model_chain(&s, dec!(100), v, &closes(), past),
            Err(OptionsError::ExpirationNotAfterValuation { .. })
        ));
        let nan_rate = ModelChainParams {
            risk_free_rate: f64::NAN,
            ..p()
        };
        assert!(matches!(
            model_chain(&s, dec!(100), v, &closes(), nan_rate),
            Err(OptionsError::NonFinite { .. })
        ));
    }
}
