//! Black-Scholes-Merton values and greeks for European options on an underlying paying a
//! continuous dividend yield.

use quantdesk_domain::{Greeks, OptionKind};

use super::OptionsError;
use super::normal::{norm_cdf, norm_pdf};

/// Calendar days in the year used to turn day counts into `T` and annual theta into daily theta.
/// Calendar (not trading) days because interest and dividends accrue every day.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// Everything that defines a European option's value except the volatility, so one description
/// serves pricing (volatility in) and implied volatility (price in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EuropeanOption {
    pub kind: OptionKind,
    /// Price of the underlying now.
    pub spot: f64,
    pub strike: f64,
    /// Years until expiry. Zero or negative means expired: the option is worth its intrinsic
    /// value and its greeks are those at expiry.
    pub time_to_expiry: f64,
    /// Continuously compounded risk-free rate (0.04 = 4 %).
    pub rate: f64,
    /// Continuous dividend yield (0.02 = 2 %).
    pub dividend_yield: f64,
}

/// A model value with its sensitivities, computed together because they share every costly
/// intermediate (d1, d2, discount factors, Φ, φ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valuation {
    pub price: f64,
    /// Theta per calendar day, vega and rho per percentage point (see [`Greeks`]).
    pub greeks: Greeks,
}

impl EuropeanOption {
    /// The Black-Scholes-Merton value at annualised volatility `volatility` (0.2 = 20 %).
    pub fn price(&self, volatility: f64) -> Result<f64, OptionsError> {
        self.check(volatility)?;
        let price = self.price_unchecked(volatility);
        finite("model price (inputs too extreme)", price)?;
        Ok(price)
    }

    /// Delta, gamma, theta (per calendar day), vega and rho (per percentage point).
    pub fn greeks(&self, volatility: f64) -> Result<Greeks, OptionsError> {
        Ok(self.valuation(volatility)?.greeks)
    }

    /// Price and greeks in one pass.
    ///
    /// At or past expiry the greeks are their limits as time runs out: delta is 1 (or −1 for a
    /// put) in the money, 0 out of it and ±½ exactly at the money; gamma, theta, vega and rho
    /// are 0 because nothing is left to move.
    pub fn valuation(&self, volatility: f64) -> Result<Valuation, OptionsError> {
        self.check(volatility)?;
        let sign = self.sign();
        if self.time_to_expiry <= 0.0 {
            let moneyness = sign * (self.spot - self.strike);
            let delta = if moneyness > 0.0 {
                sign
            } else if moneyness < 0.0 {
                0.0
            } else {
                sign * 0.5
            };
            return Ok(Valuation {
                price: moneyness.max(0.0),
                greeks: Greeks {
                    delta,
                    gamma: 0.0,
                    theta: 0.0,
                    vega: 0.0,
                    rho: 0.0,
                },
            });
        }

        let t = self.time_to_expiry;
        let sqrt_t = t.sqrt();
        let (d1, d2) = self.d1_d2(volatility);
        let div_discount = (-self.dividend_yield * t).exp();
        let discount = (-self.rate * t).exp();
        let spot_fwd = self.spot * div_discount;
        let strike_pv = self.strike * discount;
        // Φ(sign·d): for a put the relevant probabilities are Φ(−d1), Φ(−d2).
        let n1 = norm_cdf(sign * d1);
        let n2 = norm_cdf(sign * d2);
        let pdf1 = norm_pdf(d1);

        let price = sign * (spot_fwd * n1 - strike_pv * n2);
        let delta = sign * div_discount * n1;
        let gamma = div_discount * pdf1 / (self.spot * volatility * sqrt_t);
        let vega = spot_fwd * pdf1 * sqrt_t;
        // Annual theta is −∂V/∂T: the value lost as one year of life passes.
        let theta = -spot_fwd * pdf1 * volatility / (2.0 * sqrt_t)
            + sign * (self.dividend_yield * spot_fwd * n1 - self.rate * strike_pv * n2);
        let rho = sign * strike_pv * t * n2;

        let greeks = Greeks {
            delta,
            gamma,
            theta: theta / DAYS_PER_YEAR,
            vega: vega / 100.0,
            rho: rho / 100.0,
        };
        // Finite inputs can still overflow (a rate of 1e300); say so rather than hand back NaN.
        for value in [price, delta, gamma, greeks.theta, greeks.vega, greeks.rho] {
            finite("model output (inputs too extreme)", value)?;
        }
        Ok(Valuation {
            price: floor_at_zero(price),
            greeks,
        })
    }

    /// The no-arbitrage range a European price must lie strictly inside for some positive
    /// volatility to reproduce it: (discounted intrinsic value, discounted underlying for a
    /// call or discounted strike for a put).
    pub fn price_bounds(&self) -> Result<(f64, f64), OptionsError> {
        self.check_market()?;
        let t = self.time_to_expiry.max(0.0);
        let spot_fwd = self.spot * (-self.dividend_yield * t).exp();
        let strike_pv = self.strike * (-self.rate * t).exp();
        Ok(match self.kind {
            OptionKind::Call => ((spot_fwd - strike_pv).max(0.0), spot_fwd),
            OptionKind::Put => ((strike_pv - spot_fwd).max(0.0), strike_pv),
        })
    }

    /// +1 for calls, −1 for puts: one formula prices both.
    fn sign(&self) -> f64 {
        match self.kind {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        }
    }

    /// d1 and d2; only meaningful for a positive time to expiry and volatility.
    fn d1_d2(&self, volatility: f64) -> (f64, f64) {
        let t = self.time_to_expiry;
        let vol_sqrt_t = volatility * t.sqrt();
        let d1 = ((self.spot / self.strike).ln()
            + (self.rate - self.dividend_yield + 0.5 * volatility * volatility) * t)
            / vol_sqrt_t;
        (d1, d1 - vol_sqrt_t)
    }

    /// The price once inputs are known valid; the implied-volatility search calls this in its
    /// loop without re-validating.
    pub(crate) fn price_unchecked(&self, volatility: f64) -> f64 {
        let sign = self.sign();
        if self.time_to_expiry <= 0.0 {
            return (sign * (self.spot - self.strike)).max(0.0);
        }
        let t = self.time_to_expiry;
        let (d1, d2) = self.d1_d2(volatility);
        let spot_fwd = self.spot * (-self.dividend_yield * t).exp();
        let strike_pv = self.strike * (-self.rate * t).exp();
        floor_at_zero(sign * (spot_fwd * norm_cdf(sign * d1) - strike_pv * norm_cdf(sign * d2)))
    }

    /// ∂V/∂σ per unit of volatility (not per point), for Newton steps.
    pub(crate) fn raw_vega(&self, volatility: f64) -> f64 {
        if self.time_to_expiry <= 0.0 {
            return 0.0;
        }
        let t = self.time_to_expiry;
        let (d1, _) = self.d1_d2(volatility);
        self.spot * (-self.dividend_yield * t).exp() * norm_pdf(d1) * t.sqrt()
    }

    pub(crate) fn check_market(&self) -> Result<(), OptionsError> {
        finite("spot", self.spot)?;
        finite("strike", self.strike)?;
        finite("time to expiry", self.time_to_expiry)?;
        finite("risk-free rate", self.rate)?;
        finite("dividend yield", self.dividend_yield)?;
        positive("spot", self.spot)?;
        positive("strike", self.strike)
    }

    fn check(&self, volatility: f64) -> Result<(), OptionsError> {
        self.check_market()?;
        finite("volatility", volatility)?;
        positive("volatility", volatility)
    }
}

/// Rounding can leave a worthless option a hair below zero; a NaN must stay NaN so callers
/// see it (`f64::max` would turn it into 0).
fn floor_at_zero(price: f64) -> f64 {
    if price < 0.0 { 0.0 } else { price }
}

pub(crate) fn finite(what: &'static str, value: f64) -> Result<(), OptionsError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(OptionsError::NonFinite { what, value })
    }
}

pub(crate) fn positive(what: &'static str, value: f64) -> Result<(), OptionsError> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(OptionsError::NotPositive { what, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(kind: OptionKind, s: f64, k: f64, t: f64, r: f64, q: f64) -> EuropeanOption {
        EuropeanOption {
            kind,
            spot: s,
            strike: k,
            time_to_expiry: t,
            rate: r,
            dividend_yield: q,
        }
    }

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol
    }

    #[test]
    fn hull_example_call_and_put() {
        // Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10 %, σ=20 %, T=½ year.
        let call = opt(OptionKind::Call, 42.0, 40.0, 0.5, 0.10, 0.0);
        let put = EuropeanOption {
            kind: OptionKind::Put,
            ..call
        };
        let c = call.price(0.2).unwrap();
        let p = put.price(0.2).unwrap();
        assert!(close(c, 4.759_422_392_871_532, 1e-12), "call {c}");
        assert!(close(p, 0.808_599_372_900_092_2, 1e-12), "put {p}");
        assert_eq!(format!("{c:.2} {p:.2}"), "4.76 0.81");
    }

    #[test]
    fn textbook_examples_with_dividends() {
        // Haug, The Complete Guide to Option Pricing Formulas: generalised BSM stock option
        // (S=60, K=65, T=¼, r=8 %, σ=30 %) → 2.1334, and Merton's index option (S=100, K=95,
        // T=½, r=10 %, q=5 %, σ=20 %) put → 2.4648. Hull's index example (S=930, K=900,
        // T=2/12, r=8 %, q=3 %, σ=20 %) call → 51.83. Full digits from mpmath at 40 digits.
        let cases = [
            (
                opt(OptionKind::Call, 60.0, 65.0, 0.25, 0.08, 0.0),
                0.3,
                2.1333684449162,
                "2.1334",
            ),
            (
                opt(OptionKind::Put, 100.0, 95.0, 0.5, 0.10, 0.05),
                0.2,
                2.464787646755821,
                "2.4648",
            ),
            (
                opt(OptionKind::Call, 930.0, 900.0, 2.0 / 12.0, 0.08, 0.03),
                0.2,
                51.832_956_796_490_85,
                "51.8330",
            ),
        ];
        for (o, vol, want, printed) in cases {
            let got = o.price(vol).unwrap();
            assert!(close(got, want, 1e-12 * want.max(1.0)), "{o:?}: {got}");
            assert_eq!(format!("{got:.4}"), printed);
        }
    }

    #[test]
    fn hull_greeks_example() {
        // Hull's delta-hedging example: S=49, K=50, r=5 %, σ=20 %, T=20 weeks. Reference
        // derivatives from mpmath; Hull prints Δ 0.522, Γ 0.066, Θ −4.31/yr, ν 12.1, ρ 8.91.
        let o = opt(OptionKind::Call, 49.0, 50.0, 20.0 / 52.0, 0.05, 0.0);
        let g = o.greeks(0.2).unwrap();
        assert!(close(g.delta, 0.521_604_661_066_396_4, 1e-13));
        assert!(close(g.gamma, 0.065_544_039_347_844_39, 1e-13));
        assert!(close(g.theta, -4.305329822932573 / 365.0, 1e-13));
        assert!(close(g.vega, 0.121_054_798_826_288, 1e-13));
        assert!(close(g.rho, 0.0890696194960835, 1e-13));
    }

    fn cases() -> Vec<(EuropeanOption, f64)> {
        let mut out = Vec::new();
        for kind in [OptionKind::Call, OptionKind::Put] {
            for (s, k) in [(100.0, 100.0), (42.0, 40.0), (80.0, 120.0), (950.0, 800.0)] {
                for t in [0.02, 0.25, 1.0, 3.0] {
                    for (r, q) in [(0.0, 0.0), (0.05, 0.02), (0.10, 0.0), (0.01, 0.06)] {
                        for vol in [0.1, 0.3, 0.8] {
                            out.push((opt(kind, s, k, t, r, q), vol));
                        }
                    }
                }
            }
        }
        out
    }

    /// Relative agreement with a floor, so greeks that are legitimately ~0 (far from the money)
    /// are compared absolutely against the size of the option's inputs.
    fn agrees(analytic: f64, numeric: f64, scale: f64) -> bool {
        (analytic - numeric).abs() <= 1e-6 * analytic.abs().max(scale)
    }

    #[test]
    fn greeks_match_finite_differences() {
        for (o, vol) in cases() {
            let g = o.greeks(vol).unwrap();
            let p = |o: EuropeanOption, v: f64| o.price(v).unwrap();
            // Richardson-extrapolated central difference: O(h⁴), so short-dated options with
            // fast-changing curvature still compare at 1e-6.
            let central = |f: &dyn Fn(f64) -> f64, x: f64, h: f64| {
                let d = |h: f64| (f(x + h) - f(x - h)) / (2.0 * h);
                (4.0 * d(h / 2.0) - d(h)) / 3.0
            };

            let hs = o.spot * 1e-4;
            let delta = central(&|s| p(EuropeanOption { spot: s, ..o }, vol), o.spot, hs);
            let gamma = central(
                &|s| EuropeanOption { spot: s, ..o }.greeks(vol).unwrap().delta,
                o.spot,
                hs,
            );
            let theta = -central(
                &|t| {
                    p(
                        EuropeanOption {
                            time_to_expiry: t,
                            ..o
                        },
                        vol,
                    )
                },
                o.time_to_expiry,
                o.time_to_expiry * 1e-4,
            ) / DAYS_PER_YEAR;
            let vega = central(&|v| p(o, v), vol, 1e-5) / 100.0;
            let rho = central(&|r| p(EuropeanOption { rate: r, ..o }, vol), o.rate, 1e-5) / 100.0;

            assert!(
                agrees(g.delta, delta, 1e-3),
                "delta {o:?} σ={vol}: {} vs {delta}",
                g.delta
            );
            assert!(
                agrees(g.gamma, gamma, 1e-3 / o.spot),
                "gamma {o:?} σ={vol}: {} vs {gamma}",
                g.gamma
            );
            let money = o.spot.max(o.strike) * 1e-5;
            assert!(
                agrees(g.theta, theta, money),
                "theta {o:?} σ={vol}: {} vs {theta}",
                g.theta
            );
            assert!(
                agrees(g.vega, vega, money),
                "vega {o:?} σ={vol}: {} vs {vega}",
                g.vega
            );
            assert!(
                agrees(g.rho, rho, money),
                "rho {o:?} σ={vol}: {} vs {rho}",
                g.rho
            );
        }
    }

    #[test]
    fn put_call_parity_holds() {
        for (o, vol) in cases() {
            let call = EuropeanOption {
                kind: OptionKind::Call,
                ..o
            };
            let put = EuropeanOption {
                kind: OptionKind::Put,
                ..o
            };
            let t = o.time_to_expiry;
            let lhs = call.price(vol).unwrap() - put.price(vol).unwrap();
            let rhs = o.spot * (-o.dividend_yield * t).exp() - o.strike * (-o.rate * t).exp();
            assert!(close(lhs, rhs, 1e-12), "{o:?} σ={vol}: {lhs} vs {rhs}");

            // Parity differentiated: Δc − Δp = e^{−qT}, Γ and ν equal.
            let (gc, gp) = (call.greeks(vol).unwrap(), put.greeks(vol).unwrap());
            assert!(close(
                gc.delta - gp.delta,
                (-o.dividend_yield * t).exp(),
                1e-15
            ));
            assert!(close(gc.gamma, gp.gamma, 1e-15));
            assert!(close(gc.vega, gp.vega, 1e-15));
        }
    }

    #[test]
    fn expired_options_are_worth_intrinsic_value() {
        let call = opt(OptionKind::Call, 105.0, 100.0, 0.0, 0.05, 0.0);
        let put = EuropeanOption {
            kind: OptionKind::Put,
            ..call
        };
        let v = call.valuation(0.3).unwrap();
        assert_eq!(v.price, 5.0);
        assert_eq!(v.greeks.delta, 1.0);
        assert_eq!(
            (v.greeks.gamma, v.greeks.theta, v.greeks.vega, v.greeks.rho),
            (0.0, 0.0, 0.0, 0.0)
        );
        let v = put.valuation(0.3).unwrap();
        assert_eq!((v.price, v.greeks.delta), (0.0, 0.0));

        let past = EuropeanOption {
            time_to_expiry: -0.1,
            spot: 90.0,
            ..put
        };
        assert_eq!(past.price(0.3).unwrap(), 10.0);
        assert_eq!(past.greeks(0.3).unwrap().delta, -1.0);
        let atm = EuropeanOption {
            spot: 100.0,
            ..past
        };
        assert_eq!(atm.greeks(0.3).unwrap().delta, -0.5);
    }

    #[test]
    fn bad_inputs_are_refused_with_typed_errors() {
        let o = opt(OptionKind::Call, 100.0, 100.0, 1.0, 0.05, 0.0);
        assert_eq!(
            o.price(0.0),
            Err(OptionsError::NotPositive {
                what: "volatility",
                value: 0.0
            })
        );
        assert!(matches!(
            o.price(-0.2),
            Err(OptionsError::NotPositive {
                what: "volatility",
                ..
            })
        ));
        assert!(matches!(
            o.price(f64::NAN),
            Err(OptionsError::NonFinite {
                what: "volatility",
                ..
            })
        ));
        let nan_spot = EuropeanOption {
            spot: f64::NAN,
            ..o
        };
        assert!(matches!(
            nan_spot.price(0.2),
            Err(OptionsError::NonFinite { what: "spot", .. })
        ));
        let inf_t = EuropeanOption {
            time_to_expiry: f64::INFINITY,
            ..o
        };
        assert!(matches!(
            inf_t.greeks(0.2),
            Err(OptionsError::NonFinite {
                what: "time to expiry",
                ..
            })
        ));
        let zero_k = EuropeanOption { strike: 0.0, ..o };
        assert!(matches!(
            zero_k.price(0.2),
            Err(OptionsError::NotPositive { what: "strike", .. })
        ));
        let nan_r = EuropeanOption {
            rate: f64::NAN,
            ..o
        };
        assert!(nan_r.price_bounds().is_err());
        let absurd_r = EuropeanOption { rate: -1e300, ..o };
        assert!(matches!(
            absurd_r.valuation(0.2),
            Err(OptionsError::NonFinite { .. })
        ));
        assert!(absurd_r.price(0.2).is_err());
        assert!(matches!(
            absurd_r.implied_volatility(1.0),
            Err(OptionsError::PriceOutsideBounds { .. } | OptionsError::NoConvergence { .. })
        ));
    }
}
