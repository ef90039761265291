//! Per-series statistics on simple returns: returns themselves, volatility, Sharpe and Sortino
//! ratios, beta/correlation against a benchmark, and the maximum drawdown of a price path.
//!
//! Everything uses *sample* statistics (n − 1 denominators) except the Sortino downside
//! deviation, whose convention is spelled out on [`sortino_ratio`].

use schemars::JsonSchema;
use serde::Serialize;

use super::RiskError;

/// Checks every price is finite and strictly positive: a return from a zero, negative or
/// missing price is not a return.
pub(crate) fn validate_prices(series: &str, prices: &[f64]) -> Result<(), RiskError> {
    match prices
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.is_finite() && **p > 0.0))
    {
        Some((index, &value)) => Err(RiskError::InvalidPrice {
            series: series.to_string(),
            index,
            value,
        }),
        None => Ok(()),
    }
}

/// Checks every return is finite.
pub(crate) fn validate_returns(series: &str, returns: &[f64]) -> Result<(), RiskError> {
    match returns.iter().enumerate().find(|(_, r)| !r.is_finite()) {
        Some((index, &value)) => Err(RiskError::NonFiniteReturn {
            series: series.to_string(),
            index,
            value,
        }),
        None => Ok(()),
    }
}

pub(crate) fn require(what: &str, needed: usize, got: usize) -> Result<(), RiskError> {
    if got < needed {
        return Err(RiskError::TooShort {
            what: what.to_string(),
            needed,
            got,
        });
    }
    Ok(())
}

pub(crate) fn same_length(what: &str, expected: usize, got: usize) -> Result<(), RiskError> {
    if expected != got {
        return Err(RiskError::LengthMismatch {
            what: what.to_string(),
            expected,
            got,
        });
    }
    Ok(())
}

pub(crate) fn check_periods_per_year(periods_per_year: f64) -> Result<(), RiskError> {
    if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
        return Err(RiskError::InvalidParameter {
            name: "periods_per_year".into(),
            expected: "a positive number (252 daily, 52 weekly, 12 monthly, 8760 hourly crypto)"
                .into(),
            value: periods_per_year,
        });
    }
    Ok(())
}

pub(crate) fn check_risk_free(risk_free_rate: f64) -> Result<(), RiskError> {
    if !risk_free_rate.is_finite() {
        return Err(RiskError::InvalidParameter {
            name: "risk_free_rate".into(),
            expected: "a finite annual rate as a decimal (0.04 = 4 %)".into(),
            value: risk_free_rate,
        });
    }
    Ok(())
}

/// Arithmetic mean; NaN for an empty slice.
pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample covariance (n − 1 denominator), means removed first (two-pass) so quiet series keep
/// their digits. Callers guarantee equal lengths ≥ 2.
pub(crate) fn sample_covariance(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / (a.len() as f64 - 1.0)
}

/// Sample standard deviation (n − 1 denominator).
pub(crate) fn sample_std(xs: &[f64]) -> f64 {
    sample_covariance(xs, xs).sqrt()
}

/// Simple returns `p[t] / p[t−1] − 1`, one fewer than the prices. These are what VaR, Sharpe,
/// beta and portfolio aggregation use: simple returns add across holdings, log returns do not.
pub fn simple_returns(prices: &[f64]) -> Result<Vec<f64>, RiskError> {
    validate_prices("prices", prices)?;
    Ok(prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect())
}

/// Log returns `ln(p[t] / p[t−1])`, one fewer than the prices. They add across time, which is
/// why realised-volatility conventions (and option models) prefer them.
pub fn log_returns(prices: &[f64]) -> Result<Vec<f64>, RiskError> {
    validate_prices("prices", prices)?;
    Ok(prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

/// Annualised volatility: the sample standard deviation of `returns` times √`periods_per_year`
/// (252 daily, 52 weekly, 12 monthly, 24 × 365 hourly for markets that never close). Square-root
/// scaling assumes independent periods — the usual convention, not a law of markets.
pub fn annualized_volatility(returns: &[f64], periods_per_year: f64) -> Result<f64, RiskError> {
    check_periods_per_year(periods_per_year)?;
    require("volatility", 2, returns.len())?;
    validate_returns("returns", returns)?;
    Ok(sample_std(returns) * periods_per_year.sqrt())
}

/// The risk-free rate per period: the annual rate divided by `periods_per_year` (simple, not
/// compounded — at daily frequency the difference is far below the noise in any Sharpe ratio).
pub fn risk_free_per_period(risk_free_rate: f64, periods_per_year: f64) -> f64 {
    risk_free_rate / periods_per_year
}

/// Annualised Sharpe ratio: mean excess return per period over the sample standard deviation of
/// excess returns, times √`periods_per_year`. Excess means "minus the risk-free rate per period"
/// ([`risk_free_per_period`]); `risk_free_rate` is annual (0.04 = 4 %).
///
/// `None` when the returns do not vary (the ratio is undefined, not infinite).
pub fn sharpe_ratio(
    returns: &[f64],
    risk_free_rate: f64,
    periods_per_year: f64,
) -> Result<Option<f64>, RiskError> {
    check_periods_per_year(periods_per_year)?;
    check_risk_free(risk_free_rate)?;
    require("sharpe ratio", 2, returns.len())?;
    validate_returns("returns", returns)?;
    let rf = risk_free_per_period(risk_free_rate, periods_per_year);
    let excess: Vec<f64> = returns.iter().map(|r| r - rf).collect();
    let sd = sample_std(&excess);
    Ok((sd > 0.0).then(|| mean(&excess) / sd * periods_per_year.sqrt()))
}

/// Downside deviation below `target` (per period): √(Σ min(0, rₜ − target)² / n) over **all** n
/// periods, periods above the target counting as zero. This is the Sortino & Price definition
/// (and empyrical's / PerformanceAnalytics'); dividing by the number of losing periods instead
/// would overstate downside risk for mostly-winning series.
pub fn downside_deviation(returns: &[f64], target: f64) -> f64 {
    let sum: f64 = returns.iter().map(|r| (r - target).min(0.0).powi(2)).sum();
    (sum / returns.len() as f64).sqrt()
}

/// Annualised Sortino ratio: mean excess return per period over the [`downside_deviation`] with
/// target = the risk-free rate per period, times √`periods_per_year`.
///
/// `None` when no period fell below the target (no downside to divide by).
pub fn sortino_ratio(
    returns: &[f64],
    risk_free_rate: f64,
    periods_per_year: f64,
) -> Result<Option<f64>, RiskError> {
    check_periods_per_year(periods_per_year)?;
    check_risk_free(risk_free_rate)?;
    require("sortino ratio", 1, returns.len())?;
    validate_returns("returns", returns)?;
    let rf = risk_free_per_period(risk_free_rate, periods_per_year);
    let dd = downside_deviation(returns, rf);
    let excess_mean = mean(returns) - rf;
    Ok((dd > 0.0).then(|| excess_mean / dd * periods_per_year.sqrt()))
}

/// How an asset moved with a benchmark, from aligned simple returns.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BenchmarkStats {
    /// The benchmark's name.
    pub benchmark: String,
    /// cov(asset, benchmark) / var(benchmark), sample statistics: the asset's move per unit move
    /// of the benchmark. `None` when the benchmark never moved.
    pub beta: Option<f64>,
    /// Pearson correlation of the returns. `None` when either series never moved.
    pub correlation: Option<f64>,
    /// Jensen's alpha per period: mean(asset − rf) − beta × mean(benchmark − rf), rf per period.
    pub alpha: Option<f64>,
    /// `alpha` × periods per year (arithmetic annualisation).
    pub alpha_annualized: Option<f64>,
}

/// Beta, correlation and Jensen's alpha of `asset` against `benchmark` (aligned simple returns of
/// equal length, at least 2). `risk_free_rate` is annual; alpha is reported per period and
/// annualised arithmetically.
pub fn benchmark_stats(
    benchmark_name: &str,
    asset: &[f64],
    benchmark: &[f64],
    risk_free_rate: f64,
    periods_per_year: f64,
) -> Result<BenchmarkStats, RiskError> {
    check_periods_per_year(periods_per_year)?;
    check_risk_free(risk_free_rate)?;
    same_length("benchmark returns", asset.len(), benchmark.len())?;
    require("beta", 2, asset.len())?;
    validate_returns("returns", asset)?;
    validate_returns(benchmark_name, benchmark)?;
    let cov = sample_covariance(asset, benchmark);
    let var_b = sample_covariance(benchmark, benchmark);
    let var_a = sample_covariance(asset, asset);
    let beta = (var_b > 0.0).then(|| cov / var_b);
    let correlation = (var_a > 0.0 && var_b > 0.0).then(|| cov / (var_a.sqrt() * var_b.sqrt()));
    let rf = risk_free_per_period(risk_free_rate, periods_per_year);
    let alpha = beta.map(|b| (mean(asset) - rf) - b * (mean(benchmark) - rf));
    Ok(BenchmarkStats {
        benchmark: benchmark_name.to_string(),
        beta,
        correlation,
        alpha,
        alpha_annualized: alpha.map(|a| a * periods_per_year),
    })
}

/// The worst peak-to-trough fall of a price path.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Drawdown {
    /// 1 − trough / peak, a positive fraction (0.25 = the value fell 25 % from its high); 0 when
    /// the series never fell below a previous high.
    pub max_drawdown: f64,
    /// Index (into the prices) of the high the fall started from; the first of equal highs.
    pub peak_index: usize,
    /// Index of the low of the fall.
    pub trough_index: usize,
    /// First index after the trough where the price is back at or above the peak; `None` if it
    /// never got back (or there was no drawdown).
    pub recovery_index: Option<usize>,
    /// Timestamp of the peak when the caller supplied times (Unix seconds, UTC).
    pub peak_time: Option<i64>,
    /// Timestamp of the trough, when times were supplied.
    pub trough_time: Option<i64>,
    /// Timestamp of the recovery, when times were supplied and it recovered.
    pub recovery_time: Option<i64>,
}

impl Drawdown {
    /// Fills the `*_time` fields from `times` (same indexing as the prices).
    pub fn with_times(mut self, times: &[i64]) -> Self {
        self.peak_time = times.get(self.peak_index).copied();
        self.trough_time = times.get(self.trough_index).copied();
        self.recovery_time = self.recovery_index.and_then(|i| times.get(i).copied());
        self
    }
}

/// Maximum drawdown of `prices` (or of a wealth index built from returns): the largest
/// 1 − pₜ / max(p₀..pₜ). Ties keep the earliest drawdown. Needs at least two prices.
pub fn max_drawdown(prices: &[f64]) -> Result<Drawdown, RiskError> {
    require("max drawdown", 1, prices.len().saturating_sub(1))?;
    validate_prices("prices", prices)?;
    let mut peak = 0usize;
    let (mut best, mut best_peak, mut best_trough) = (0.0f64, 0usize, 0usize);
    for (i, &p) in prices.iter().enumerate() {
        if p > prices[peak] {
            peak = i;
        }
        let dd = 1.0 - p / prices[peak];
        if dd > best {
            (best, best_peak, best_trough) = (dd, peak, i);
        }
    }
    let recovery_index = if best > 0.0 {
        let target = prices[best_peak];
        (best_trough + 1..prices.len()).find(|&i| prices[i] >= target)
    } else {
        None
    };
    Ok(Drawdown {
        max_drawdown: best,
        peak_index: best_peak,
        trough_index: best_trough,
        recovery_index,
        peak_time: None,
        trough_time: None,
        recovery_time: None,
    })
}

/// The wealth index of `returns` starting at 1: 1, (1 + r₀), (1 + r₀)(1 + r₁), … — one longer
/// than the returns, so its indices line up with the prices the returns came from.
pub fn wealth_index(returns: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(returns.len() + 1);
    let mut w = 1.0;
    out.push(w);
    for r in returns {
        w *= 1.0 + r;
        out.push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn returns_by_hand() {
        let r = simple_returns(&[100.0, 110.0, 99.0]).unwrap();
        assert!(close(r[0], 0.1) && close(r[1], -0.1));
        let l = log_returns(&[100.0, 110.0, 99.0]).unwrap();
        assert!(close(l[0], 1.1f64.ln()) && close(l[1], 0.9f64.ln()));
        assert!(matches!(
            simple_returns(&[1.0, f64::NAN]),
            Err(RiskError::InvalidPrice { index: 1, .. })
        ));
        assert!(matches!(
            log_returns(&[1.0, 0.0]),
            Err(RiskError::InvalidPrice { index: 1, .. })
        ));
    }

    #[test]
    fn volatility_by_hand() {
        // Returns 1 %, −1 %, 1 %, −1 %: mean 0, sample variance 4e-4 / 3.
        let r = [0.01, -0.01, 0.01, -0.01];
        let want = (4e-4f64 / 3.0).sqrt() * 252f64.sqrt();
        assert!(close(annualized_volatility(&r, 252.0).unwrap(), want));
        let err = annualized_volatility(&[0.01], 252.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "volatility: needs at least 2 returns (3 prices), got 1 returns"
        );
        assert!(annualized_volatility(&r, 0.0).is_err());
    }

    #[test]
    fn sharpe_and_sortino_by_hand() {
        // r = 2 %, −1 %, 3 %, 0 %; rf = 0: mean 1 %, sample sd = √(0.0001·(1+4+4+1)/3).
        let r = [0.02, -0.01, 0.03, 0.0];
        let sd = (0.0001f64 * 10.0 / 3.0).sqrt();
        let sharpe = sharpe_ratio(&r, 0.0, 12.0).unwrap().unwrap();
        assert!(close(sharpe, 0.01 / sd * 12f64.sqrt()));
        // Downside: only −1 % is below 0 → √(0.0001 / 4) = 0.005.
        assert!(close(downside_deviation(&r, 0.0), 0.005));
        let sortino = sortino_ratio(&r, 0.0, 12.0).unwrap().unwrap();
        assert!(close(sortino, 0.01 / 0.005 * 12f64.sqrt()));
        // rf = 12 % a year = 1 % a month: excess = 1 %, −2 %, 2 %, −1 %.
        let sortino = sortino_ratio(&r, 0.12, 12.0).unwrap().unwrap();
        let dd = ((0.0004f64 + 0.0001) / 4.0).sqrt();
        assert!(close(sortino, 0.0 / dd));
        let sharpe = sharpe_ratio(&r, 0.12, 12.0).unwrap().unwrap();
        assert!(sharpe.abs() < 1e-12);
        // Constant returns: Sharpe undefined; all gains: Sortino undefined.
        assert_eq!(sharpe_ratio(&[0.01, 0.01], 0.0, 252.0).unwrap(), None);
        assert_eq!(sortino_ratio(&[0.01, 0.02], 0.0, 252.0).unwrap(), None);
    }

    #[test]
    fn beta_by_hand() {
        // Asset = 2 × benchmark + 0.001 per period: beta 2, correlation 1, alpha 0.001.
        let b = [0.01, -0.02, 0.015, 0.0, -0.005];
        let a: Vec<f64> = b.iter().map(|x| 2.0 * x + 0.001).collect();
        let s = benchmark_stats("SPX", &a, &b, 0.0, 252.0).unwrap();
        assert!(close(s.beta.unwrap(), 2.0));
        assert!(close(s.correlation.unwrap(), 1.0));
        assert!(close(s.alpha.unwrap(), 0.001));
        assert!(close(s.alpha_annualized.unwrap(), 0.252));
        // Hand computation on a non-degenerate pair: a = (1, 2, 3), b = (1, 3, 2) (as returns):
        // cov = ((−1)(−1) + 0·1 + 1·0)/2 = 0.5, var b = 1 → beta 0.5, corr 0.5.
        let s = benchmark_stats("b", &[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], 0.0, 1.0).unwrap();
        assert!(close(s.beta.unwrap(), 0.5) && close(s.correlation.unwrap(), 0.5));
        // Flat benchmark: beta undefined.
        let s = benchmark_stats("flat", &[0.01, 0.02], &[0.0, 0.0], 0.0, 252.0).unwrap();
        assert_eq!((s.beta, s.correlation, s.alpha), (None, None, None));
        assert!(matches!(
            benchmark_stats("b", &[0.1, 0.2], &[0.1], 0.0, 252.0),
            Err(RiskError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn drawdown_by_hand() {
        // Peak 120 at 1, trough 90 at 3 (−25 %), back to 120 at 5.
        let p = [100.0, 120.0, 110.0, 90.0, 100.0, 120.0, 130.0, 117.0];
        let d = max_drawdown(&p).unwrap();
        assert!(close(d.max_drawdown, 0.25));
        assert_eq!(
            (d.peak_index, d.trough_index, d.recovery_index),
            (1, 3, Some(5))
        );
        let d = d.with_times(&[10, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!(
            (d.peak_time, d.trough_time, d.recovery_time),
            (Some(11), Some(13), Some(15))
        );
        // Never recovers.
        let d = max_drawdown(&[100.0, 80.0, 90.0]).unwrap();
        assert!(close(d.max_drawdown, 0.2));
        assert_eq!(
            (d.peak_index, d.trough_index, d.recovery_index),
            (0, 1, None)
        );
        // Only rises.
        let d = max_drawdown(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(d.max_drawdown, 0.0);
        assert_eq!(d.recovery_index, None);
        assert!(max_drawdown(&[]).is_err());
    }

    #[test]
    fn wealth_index_matches_prices() {
        let p = [100.0, 120.0, 90.0, 99.0];
        let w = wealth_index(&simple_returns(&p).unwrap());
        for (a, b) in w.iter().zip(p) {
            assert!(close(*a, b / 100.0));
        }
    }
}
