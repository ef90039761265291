//! Value at Risk and expected shortfall (CVaR) over one period.
//!
//! Convention: both are **losses as positive fractions of value** over one period of the
//! returns' frequency (0.031 = "lose 3.1 % or more on the worst 5 % of days"). A negative value
//! means even the tail quantile is a gain. Scale to a horizon yourself (√h scaling is an
//! approximation that assumes independent, identically distributed returns).
//!
//! - **Historical**: VaR = −Q(1 − c), where Q is the empirical quantile of the simple returns
//!   with linear interpolation between order statistics (numpy's default `'linear'` method,
//!   Hyndman & Fan type 7: position h = (n − 1)·q). CVaR = −mean of the returns at or below that
//!   quantile return (never empty: the smallest return is always at or below it).
//! - **Parametric (Gaussian)**: with sample mean μ and sample standard deviation σ of the
//!   returns, VaR = −(μ + σ·Φ⁻¹(1 − c)) and CVaR = −μ + σ·φ(Φ⁻¹(c)) / (1 − c).

use schemars::JsonSchema;
use serde::Serialize;

use super::RiskError;
use super::normal_inv::norm_inv_cdf;
use super::stats::{mean, require, sample_std, validate_returns};
use crate::options::norm_pdf;

/// VaR and CVaR at one confidence level (see the module docs for the convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct TailRisk {
    /// Confidence level in (0, 1), e.g. 0.95.
    pub confidence: f64,
    /// Value at Risk: the loss not exceeded with probability `confidence`, as a positive
    /// fraction of value over one period.
    pub var: f64,
    /// Conditional VaR (expected shortfall): the average loss in the worst 1 − `confidence` of
    /// periods, as a positive fraction.
    pub cvar: f64,
}

pub(crate) fn check_confidence(confidence: f64) -> Result<(), RiskError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(RiskError::InvalidParameter {
            name: "confidence".into(),
            expected: "strictly between 0 and 1 (0.95 for 95 %)".into(),
            value: confidence,
        });
    }
    Ok(())
}

/// The `q`-quantile of ascending `sorted` values with linear interpolation (numpy `'linear'`).
/// `sorted` must be non-empty and `q` in [0, 1]. The interpolation is written exactly as numpy's
/// `_lerp` so results agree to the last bit or two.
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Historical VaR and CVaR of `returns` (simple returns, any order) at `confidence`.
pub fn historical_var(returns: &[f64], confidence: f64) -> Result<TailRisk, RiskError> {
    check_confidence(confidence)?;
    require("historical VaR", 1, returns.len())?;
    validate_returns("returns", returns)?;
    let mut sorted = returns.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cutoff = quantile_linear(&sorted, 1.0 - confidence);
    let tail_len = sorted.partition_point(|&r| r <= cutoff);
    let tail = &sorted[..tail_len.max(1)];
    Ok(TailRisk {
        confidence,
        var: -cutoff,
        cvar: -mean(tail),
    })
}

/// Gaussian VaR and CVaR from a per-period mean and standard deviation.
pub fn parametric_var_from(
    mean_return: f64,
    stdev: f64,
    confidence: f64,
) -> Result<TailRisk, RiskError> {
    check_confidence(confidence)?;
    if !(mean_return.is_finite() && stdev.is_finite() && stdev >= 0.0) {
        return Err(RiskError::InvalidParameter {
            name: "mean and standard deviation".into(),
            expected: "finite, with a non-negative standard deviation".into(),
            value: if stdev.is_finite() {
                mean_return
            } else {
                stdev
            },
        });
    }
    let z = norm_inv_cdf(confidence);
    Ok(TailRisk {
        confidence,
        var: -mean_return + stdev * z,
        cvar: -mean_return + stdev * norm_pdf(z) / (1.0 - confidence),
    })
}

/// Gaussian VaR and CVaR using the sample mean and sample standard deviation of `returns`
/// (at least two).
pub fn parametric_var(returns: &[f64], confidence: f64) -> Result<TailRisk, RiskError> {
    check_confidence(confidence)?;
    require("parametric VaR", 2, returns.len())?;
    validate_returns("returns", returns)?;
    parametric_var_from(mean(returns), sample_std(returns), confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        let s = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1,2,3,4], q): h = 3q.
        assert!(close(quantile_linear(&s, 0.0), 1.0));
        assert!(close(quantile_linear(&s, 0.5), 2.5));
        assert!(close(quantile_linear(&s, 0.1), 1.3));
        assert!(close(quantile_linear(&s, 0.9), 3.7));
        assert!(close(quantile_linear(&s, 1.0), 4.0));
        assert!(close(quantile_linear(&[7.0], 0.3), 7.0));
    }

    #[test]
    fn historical_by_hand() {
        // 20 returns: −10 %, −8 %, −6 %, −4 %, then sixteen of +1 %.
        let mut r = vec![-0.10, -0.08, -0.06, -0.04];
        r.extend([0.01; 16]);
        // 95 %: h = 19 × 0.05 = 0.95 → −0.10 + 0.95 × 0.02 = −0.081; tail = {−0.10} → CVaR 0.10.
        let t = historical_var(&r, 0.95).unwrap();
        assert!(close(t.var, 0.081), "{t:?}");
        assert!(close(t.cvar, 0.10));
        // 90 %: h = 1.9 → −0.08 + 0.9 × 0.02 = −0.062; tail = {−0.10, −0.08} → 0.09.
        let t = historical_var(&r, 0.90).unwrap();
        assert!(close(t.var, 0.062) && close(t.cvar, 0.09), "{t:?}");
        // 85 %: h = 2.85 → −0.06 + 0.85 × 0.02 = −0.043; tail = three worst → 0.08.
        let t = historical_var(&r, 0.85).unwrap();
        assert!(close(t.var, 0.043) && close(t.cvar, 0.08), "{t:?}");
        // Order does not matter.
        r.reverse();
        assert!(close(historical_var(&r, 0.95).unwrap().var, 0.081));
    }

    #[test]
    fn historical_quantile_on_an_order_statistic() {
        // 101 returns −50 %..+50 % step 1 %: the 5 % quantile is exactly −45 %, the tail is the
        // six returns −50..−45 % (at or below), mean −47.5 %.
        let r: Vec<f64> = (-50..=50).map(|i| f64::from(i) / 100.0).collect();
        let t = historical_var(&r, 0.95).unwrap();
        assert!(close(t.var, 0.45) && close(t.cvar, 0.475), "{t:?}");
    }

    #[test]
    fn parametric_by_hand() {
        // μ = 0.1 %, σ = 2 %: VaR95 = −0.001 + 0.02 × 1.6448536269514722,
        // CVaR95 = −0.001 + 0.02 × φ(1.6448536) / 0.05 = −0.001 + 0.02 × 2.0627128075074
        let t = parametric_var_from(0.001, 0.02, 0.95).unwrap();
        assert!(close(t.var, -0.001 + 0.02 * 1.644_853_626_951_472_2));
        assert!(close(t.cvar, -0.001 + 0.02 * 2.062_712_807_507_4), "{t:?}");
        let t = parametric_var_from(0.0, 1.0, 0.99).unwrap();
        assert!(close(t.var, 2.326_347_874_040_840_8));
        assert!(close(t.cvar, 2.665_214_220_345_808), "{t:?}");
        // From returns: ±1 % alternating, mean 0, sample sd = √(4e-4/3).
        let t = parametric_var(&[0.01, -0.01, 0.01, -0.01], 0.95).unwrap();
        assert!(close(
            t.var,
            (4e-4f64 / 3.0).sqrt() * 1.644_853_626_951_472_2
        ));
    }

    #[test]
    fn rejects_bad_inputs() {
        for c in [0.0, 1.0, 95.0, f64::NAN] {
            assert!(historical_var(&[0.01], c).is_err(), "{c}");
        }
        assert!(matches!(
            historical_var(&[], 0.95),
            Err(RiskError::TooShort {
                needed: 1,
                got: 0,
                ..
            })
        ));
        assert!(matches!(
            historical_var(&[0.01, f64::INFINITY], 0.95),
            Err(RiskError::NonFiniteReturn { index: 1, .. })
        ));
        assert!(parametric_var(&[0.01], 0.95).is_err());
        assert!(parametric_var_from(0.0, -1.0, 0.95).is_err());
    }
}
