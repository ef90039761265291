//! Implied volatility: the one volatility at which Black-Scholes-Merton reproduces a price.

use super::OptionsError;
use super::bsm::{EuropeanOption, finite};

/// Volatilities beyond this (1 000 000 % a year) are treated as "no answer": a price that
/// needs one sits within rounding of the upper no-arbitrage bound.
const MAX_VOLATILITY: f64 = 1e4;
const MAX_ITERATIONS: usize = 300;

impl EuropeanOption {
    /// The annualised volatility whose model price equals `price`.
    ///
    /// The price is monotone in volatility, so the root is unique whenever the price lies
    /// strictly inside [`EuropeanOption::price_bounds`]; outside them no volatility works and
    /// the error says so instead of returning a meaningless number. Newton's method converges
    /// in a handful of steps near the money, but vega vanishes far from it, so every step is
    /// kept inside a bracket that always holds the root and bisection takes over whenever
    /// Newton would leave it. The result reproduces the price to within rounding.
    pub fn implied_volatility(&self, price: f64) -> Result<f64, OptionsError> {
        self.check_market()?;
        finite("option price", price)?;
        if self.time_to_expiry <= 0.0 {
            return Err(OptionsError::Expired {
                time_to_expiry: self.time_to_expiry,
            });
        }
        let (lower, upper) = self.price_bounds()?;
        if !(price > lower && price < upper) {
            return Err(OptionsError::PriceOutsideBounds {
                price,
                lower,
                upper,
            });
        }

        let excess = |vol: f64| self.price_unchecked(vol) - price;

        // Bracket: the price at σ → 0 is the lower bound, below the target; grow the top until
        // the model price passes the target.
        let mut lo = 0.0;
        let mut hi = 1.0;
        loop {
            let f = excess(hi);
            if f.is_nan() {
                return Err(OptionsError::NoConvergence { price });
            }
            if f == 0.0 {
                return Ok(hi);
            }
            if f > 0.0 {
                break;
            }
            lo = hi;
            hi *= 2.0;
            if hi > MAX_VOLATILITY {
                return Err(OptionsError::NoConvergence { price });
            }
        }

        let mut vol = self.initial_guess(price);
        if !(vol > lo && vol < hi) {
            vol = 0.5 * (lo + hi);
        }
        for _ in 0..MAX_ITERATIONS {
            let f = excess(vol);
            if f.is_nan() {
                return Err(OptionsError::NoConvergence { price });
            }
            if f == 0.0 || f.abs() <= f64::EPSILON * price {
                return Ok(vol);
            }
            if f < 0.0 {
                lo = vol;
            } else {
                hi = vol;
            }
            let vega = self.raw_vega(vol);
            let newton = vol - f / vega;
            let next = if vega > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - vol).abs() <= 4.0 * f64::EPSILON * next || hi - lo <= 4.0 * f64::EPSILON * hi
            {
                return Ok(next);
            }
            vol = next;
        }
        Err(OptionsError::NoConvergence { price })
    }

    /// Manaster and Koehler's start: the volatility at the price curve's inflection point,
    /// from which Newton converges monotonically. At the forward money that point is zero, so
    /// Brenner and Subrahmanyam's at-the-money approximation stands in.
    fn initial_guess(&self, price: f64) -> f64 {
        let t = self.time_to_expiry;
        let log_moneyness = (self.spot / self.strike).ln() + (self.rate - self.dividend_yield) * t;
        let inflection = (2.0 * log_moneyness.abs() / t).sqrt();
        if inflection > 1e-3 {
            inflection
        } else {
            let spot_fwd = self.spot * (-self.dividend_yield * t).exp();
            (2.0 * std::f64::consts::PI / t).sqrt() * price / spot_fwd
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quantdesk_domain::OptionKind;

    fn hull_call() -> EuropeanOption {
        EuropeanOption {
            kind: OptionKind::Call,
            spot: 42.0,
            strike: 40.0,
            time_to_expiry: 0.5,
            rate: 0.10,
            dividend_yield: 0.0,
        }
    }

    #[test]
    fn recovers_hull_volatility() {
        let call = hull_call();
        let iv = call.implied_volatility(4.759_422_392_871_532).unwrap();
        assert!((iv - 0.2).abs() < 1e-12, "{iv}");
        let put = EuropeanOption {
            kind: OptionKind::Put,
            ..call
        };
        let iv = put.implied_volatility(0.808_599_372_900_092_2).unwrap();
        assert!((iv - 0.2).abs() < 1e-12, "{iv}");
    }

    #[test]
    fn refuses_prices_outside_no_arbitrage_bounds() {
        let call = hull_call();
        let (lower, upper) = call.price_bounds().unwrap();
        for bad in [lower, lower - 0.01, 0.0, -1.0, upper, upper + 1.0] {
            assert!(
                matches!(
                    call.implied_volatility(bad),
                    Err(OptionsError::PriceOutsideBounds { .. })
                ),
                "price {bad} accepted"
            );
        }
        assert!(matches!(
            call.implied_volatility(f64::NAN),
            Err(OptionsError::NonFinite { .. })
        ));
        let expired = EuropeanOption {
            time_to_expiry: 0.0,
            ..call
        };
        assert!(matches!(
            expired.implied_volatility(2.5),
            Err(OptionsError::Expired { .. })
        ));
    }

    #[test]
    fn handles_extreme_volatilities_and_far_strikes() {
        for (strike, vol, t) in [
            (40.0, 5.0, 0.5),
            (40.0, 0.01, 0.5),
            (200.0, 0.3, 0.1),
            (5.0, 0.3, 0.1),
            (42.0, 0.002, 2.0),
        ] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                let o = EuropeanOption {
                    kind,
                    strike,
                    time_to_expiry: t,
                    ..hull_call()
                };
                let price = o.price(vol).unwrap();
                match o.implied_volatility(price) {
                    Ok(iv) => {
                        let back = o.price(iv).unwrap();
                        assert!(
                            (back - price).abs() < 1e-10,
                            "{o:?} σ={vol}: {back} vs {price}"
                        );
                    }
                    // A price indistinguishable from a bound in double precision has no
                    // recoverable volatility; refusing it is the correct answer.
                    Err(OptionsError::PriceOutsideBounds { .. }) => {
                        let (lower, upper) = o.price_bounds().unwrap();
                        assert!(price <= lower || price >= upper);
                    }
                    Err(e) => panic!("{o:?} σ={vol}: {e}"),
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            // Far out-of-the-money draws with no time value left are skipped, not failures.
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        })]

        #[test]
        fn price_to_iv_to_price_round_trips(
            call in any::<bool>(),
            spot in 10.0..1000.0f64,
            moneyness in 0.5..1.5f64,
            t in 0.01..3.0f64,
            vol in 0.03..2.0f64,
            rate in 0.0..0.10f64,
            q in 0.0..0.06f64,
        ) {
            let o = EuropeanOption {
                kind: if call { OptionKind::Call } else { OptionKind::Put },
                spot,
                strike: spot * moneyness,
                time_to_expiry: t,
                rate,
                dividend_yield: q,
            };
            let price = o.price(vol).unwrap();
            let (lower, _) = o.price_bounds().unwrap();
            // Time value lost in rounding carries no volatility information.
            prop_assume!(price - lower > 1e-9 * spot);
            let iv = o.implied_volatility(price).unwrap();
            let back = o.price(iv).unwrap();
            prop_assert!((back - price).abs() <= 1e-10, "price {} -> σ {} -> {}", price, iv, back);
            // σ itself is only as determined as vega allows: a price error of a few ulps moves
            // it by ulps/vega.
            let vega = o.raw_vega(vol);
            let resolvable = 64.0 * f64::EPSILON * price.max(spot) / vega;
            prop_assert!(
                (iv - vol).abs() <= 1e-10_f64.max(resolvable),
                "σ {} recovered as {} (vega {})", vol, iv, vega
            );
        }
    }
}
