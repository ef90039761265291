//! Portfolios of aligned holdings: weights, the portfolio's return series, concentration and
//! the correlation matrix of the components.

use schemars::JsonSchema;
use serde::Serialize;

use super::RiskError;
use super::stats::{require, same_length, sample_covariance, validate_returns};

/// Scales `weights` to sum to 1. Individual negative weights are allowed (short positions) but
/// the total must be positive: a net-short or zero-sum book has no meaningful "fraction of
/// value". Refuses an empty list and non-finite weights.
pub fn normalize_weights(weights: &[f64]) -> Result<Vec<f64>, RiskError> {
    if weights.is_empty() {
        return Err(RiskError::InvalidWeights("no weights given".into()));
    }
    if let Some((i, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
        return Err(RiskError::InvalidWeights(format!(
            "weight {i} is {w}; weights must be finite"
        )));
    }
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err(RiskError::InvalidWeights(format!(
            "weights sum to {total}; the total must be positive (shorts are fine if the book is \
             net long)"
        )));
    }
    Ok(weights.iter().map(|w| w / total).collect())
}

/// The portfolio's simple return each period, Σᵢ wᵢ·rᵢ,ₜ, with `weights` normalised first.
///
/// This assumes the portfolio is **rebalanced back to the target weights every period** (a
/// constant-mix portfolio): that is what makes the portfolio return a fixed weighted sum of the
/// component returns. A buy-and-hold portfolio would drift towards its winners instead.
/// `component_returns[i]` is holding i's return series; all must have the same length.
pub fn portfolio_returns<R: AsRef<[f64]>>(
    component_returns: &[R],
    weights: &[f64],
) -> Result<Vec<f64>, RiskError> {
    same_length("weights", component_returns.len(), weights.len())?;
    let w = normalize_weights(weights)?;
    let n = component_returns.first().map_or(0, |r| r.as_ref().len());
    for (i, r) in component_returns.iter().enumerate() {
        same_length(&format!("component {i} returns"), n, r.as_ref().len())?;
        validate_returns(&format!("component {i}"), r.as_ref())?;
    }
    Ok((0..n)
        .map(|t| {
            component_returns
                .iter()
                .zip(&w)
                .map(|(r, wi)| wi * r.as_ref()[t])
                .sum()
        })
        .collect())
}

/// How concentrated a set of (normalised) weights is.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Concentration {
    /// The weight with the largest absolute value (signed: a big short shows as negative).
    pub largest_weight: f64,
    /// Index of that holding in the input order.
    pub largest_index: usize,
    /// Herfindahl–Hirschman index: Σ wᵢ², from 1/n (equal weights) to 1 (one holding).
    pub hhi: f64,
    /// 1 / HHI: the number of equally weighted holdings with the same concentration.
    pub effective_holdings: f64,
}

/// Concentration of `weights` (normalised first, see [`normalize_weights`]).
pub fn concentration(weights: &[f64]) -> Result<Concentration, RiskError> {
    let w = normalize_weights(weights)?;
    let (largest_index, largest_weight) =
        w.iter()
            .copied()
            .enumerate()
            .fold((0, 0.0f64), |best, (i, x)| {
                if x.abs() > best.1.abs() { (i, x) } else { best }
            });
    let hhi: f64 = w.iter().map(|x| x * x).sum();
    Ok(Concentration {
        largest_weight,
        largest_index,
        hhi,
        effective_holdings: 1.0 / hhi,
    })
}

/// Pearson correlation matrix (sample statistics) of aligned return series: `[i][j]` is
/// corr(series i, series j). `None` where a series never moved (correlation undefined); the
/// diagonal is 1 otherwise.
pub fn correlation_matrix<R: AsRef<[f64]>>(
    returns: &[R],
) -> Result<Vec<Vec<Option<f64>>>, RiskError> {
    let n = returns.first().map_or(0, |r| r.as_ref().len());
    for (i, r) in returns.iter().enumerate() {
        same_length(&format!("series {i} returns"), n, r.as_ref().len())?;
        validate_returns(&format!("series {i}"), r.as_ref())?;
    }
    if !returns.is_empty() {
        require("correlation", 2, n)?;
    }
    let var: Vec<f64> = returns
        .iter()
        .map(|r| sample_covariance(r.as_ref(), r.as_ref()))
        .collect();
    Ok((0..returns.len())
        .map(|i| {
            (0..returns.len())
                .map(|j| {
                    if !(var[i] > 0.0 && var[j] > 0.0) {
                        None
                    } else if i == j {
                        Some(1.0)
                    } else {
                        let cov = sample_covariance(returns[i].as_ref(), returns[j].as_ref());
                        Some(cov / (var[i].sqrt() * var[j].sqrt()))
                    }
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn weights_normalise_and_refuse_nonsense() {
        let w = normalize_weights(&[2.0, 1.0, 1.0]).unwrap();
        assert!(close(w[0], 0.5) && close(w[1], 0.25) && close(w[2], 0.25));
        let w = normalize_weights(&[1.5, -0.5]).unwrap();
        assert!(close(w[0], 1.5) && close(w[1], -0.5));
        assert!(normalize_weights(&[]).is_err());
        assert!(normalize_weights(&[1.0, -1.0]).is_err());
        assert!(normalize_weights(&[-1.0]).is_err());
        assert!(normalize_weights(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn portfolio_returns_are_rebalanced_weighted_sums() {
        let a = [0.10, -0.05, 0.02];
        let b = [0.00, 0.05, -0.02];
        let r = portfolio_returns(&[&a[..], &b[..]], &[3.0, 1.0]).unwrap();
        assert!(
            close(r[0], 0.075) && close(r[1], -0.025) && close(r[2], 0.01),
            "{r:?}"
        );
        assert!(matches!(
            portfolio_returns(&[&a[..], &b[..2]], &[1.0, 1.0]),
            Err(RiskError::LengthMismatch { .. })
        ));
        assert!(portfolio_returns(&[&a[..]], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn concentration_by_hand() {
        let c = concentration(&[0.5, 0.25, 0.25]).unwrap();
        assert!(close(c.hhi, 0.375) && close(c.effective_holdings, 8.0 / 3.0));
        assert_eq!(c.largest_index, 0);
        assert!(close(c.largest_weight, 0.5));
        let c = concentration(&[1.0; 4]).unwrap();
        assert!(close(c.hhi, 0.25) && close(c.effective_holdings, 4.0));
        let c = concentration(&[1.0, 1.0, -1.5]).unwrap();
        assert_eq!(c.largest_index, 2);
        assert!(close(c.largest_weight, -3.0));
    }

    #[test]
    fn correlation_matrix_by_hand() {
        let a = [1.0, 2.0, 3.0];
        let b = [1.0, 3.0, 2.0];
        let c = [3.0, 2.0, 1.0];
        let flat = [5.0, 5.0, 5.0];
        let m = correlation_matrix(&[&a[..], &b[..], &c[..], &flat[..]]).unwrap();
        assert_eq!(m[0][0], Some(1.0));
        assert!(close(m[0][1].unwrap(), 0.5) && close(m[1][0].unwrap(), 0.5));
        assert!(close(m[0][2].unwrap(), -1.0));
        assert!(close(m[1][2].unwrap(), -0.5));
        assert_eq!(m[3][3], None);
        assert_eq!(m[0][3], None);
        assert!(correlation_matrix::<&[f64]>(&[]).unwrap().is_empty());
    }
}
