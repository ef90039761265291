//! [`analyze`]: every risk figure for a set of aligned series in one structured report, the
//! shape the MCP tool returns.

use schemars::JsonSchema;
use serde::Serialize;

use super::RiskError;
use super::portfolio::{Concentration, concentration, correlation_matrix, portfolio_returns};
use super::stats::{
    BenchmarkStats, Drawdown, benchmark_stats, check_periods_per_year, check_risk_free,
    max_drawdown, mean, require, same_length, sample_std, sharpe_ratio, sortino_ratio,
    validate_prices, wealth_index,
};
use super::tail::{check_confidence, historical_var, parametric_var_from};

/// The conventions every figure in a [`RiskReport`] follows, repeated in the report so a reader
/// (person or model) never has to guess a sign or a denominator.
pub const CONVENTIONS: &str = "Returns are simple period returns p[t]/p[t-1]-1 on the aligned \
closes. Volatility is the sample standard deviation (n-1) times sqrt(periods_per_year). VaR and \
CVaR are one-period losses as positive fractions of value: historical VaR = -(1-confidence) \
quantile of returns with linear interpolation (numpy 'linear'), historical CVaR = -mean of \
returns at or below that quantile; parametric VaR/CVaR assume a normal distribution with the \
sample mean and standard deviation. Sharpe = mean(r - rf)/sd(r - rf)*sqrt(periods_per_year) with \
rf = risk_free_rate/periods_per_year. Sortino = mean(r - rf)/downside deviation*sqrt(ppy), \
downside deviation = sqrt(mean over all periods of min(0, r - rf)^2). Beta = sample \
cov(asset, benchmark)/var(benchmark); alpha (Jensen) per period = mean(r - rf) - beta*mean(rb - \
rf), annualised times periods_per_year. Max drawdown = largest 1 - price/previous peak, indices \
into the closes. The portfolio is rebalanced to its weights every period. annualized_return is \
the compound annual growth rate. Undefined ratios (zero denominators) are null. Times are Unix \
seconds (UTC).";

/// One named price series, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub closes: &'a [f64],
}

/// What [`analyze`] needs. All series must already be aligned (same length, same periods —
/// see [`align`](super::align)).
#[derive(Debug, Clone)]
pub struct RiskInputs<'a> {
    /// The holdings (or the one series) to analyse.
    pub assets: Vec<Series<'a>>,
    /// Portfolio weights, one per asset, normalised to sum to 1; `None` for no portfolio.
    pub weights: Option<Vec<f64>>,
    /// Benchmark for beta, correlation and alpha.
    pub benchmark: Option<Series<'a>>,
    /// Timestamps of the closes (Unix seconds), to date the drawdowns; optional.
    pub times: Option<&'a [i64]>,
    /// Periods per year of the closes: 252 daily, 52 weekly, 12 monthly, 8760 hourly crypto.
    pub periods_per_year: f64,
    /// Annual risk-free rate as a decimal (0.04 = 4 %).
    pub risk_free_rate: f64,
    /// VaR confidence levels, each strictly between 0 and 1.
    pub confidences: Vec<f64>,
}

impl<'a> RiskInputs<'a> {
    /// Daily closes, zero risk-free rate, VaR at 95 % and 99 %, no benchmark, no portfolio.
    pub fn new(assets: Vec<Series<'a>>) -> Self {
        Self {
            assets,
            weights: None,
            benchmark: None,
            times: None,
            periods_per_year: 252.0,
            risk_free_rate: 0.0,
            confidences: vec![0.95, 0.99],
        }
    }
}

/// VaR and CVaR at one confidence level, historical and Gaussian side by side.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct VarEstimate {
    pub confidence: f64,
    /// Historical VaR: one-period loss as a positive fraction of value.
    pub historical_var: f64,
    /// Historical CVaR (expected shortfall).
    pub historical_cvar: f64,
    /// Gaussian VaR from the sample mean and standard deviation.
    pub parametric_var: f64,
    /// Gaussian CVaR.
    pub parametric_cvar: f64,
}

/// Every per-series figure.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SeriesRisk {
    pub name: String,
    /// last / first − 1.
    pub total_return: f64,
    /// Compound annual growth rate: (1 + total_return)^(periods_per_year / returns) − 1.
    pub annualized_return: f64,
    /// Arithmetic mean simple return per period.
    pub mean_return: f64,
    /// Annualised volatility of simple returns.
    pub volatility: f64,
    /// Annualised Sharpe ratio; null when returns never vary.
    pub sharpe: Option<f64>,
    /// Annualised Sortino ratio; null when no period fell below the risk-free rate.
    pub sortino: Option<f64>,
    pub max_drawdown: Drawdown,
    /// One entry per requested confidence.
    pub var: Vec<VarEstimate>,
    /// Against the benchmark, when one was given (absent on the benchmark itself).
    pub versus_benchmark: Option<BenchmarkStats>,
}

/// A holding's normalised weight.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Holding {
    pub name: String,
    pub weight: f64,
}

/// The portfolio as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PortfolioRisk {
    /// Normalised weights (sum to 1), in asset order.
    pub holdings: Vec<Holding>,
    pub concentration: Concentration,
    /// Name of the largest holding (by absolute weight).
    pub largest_holding: String,
    /// Figures for the rebalanced portfolio; its drawdown indices refer to the same periods as
    /// the closes (the wealth index starts at 1 on the first close).
    pub risk: SeriesRisk,
}

/// Pairwise correlations of the assets' simple returns.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CorrelationMatrix {
    pub names: Vec<String>,
    /// `matrix[i][j]` = correlation of `names[i]` with `names[j]`; null where a series never
    /// moved.
    pub matrix: Vec<Vec<Option<f64>>>,
}

/// What [`analyze`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RiskReport {
    /// How every figure is defined (see [`CONVENTIONS`]).
    pub conventions: String,
    pub periods_per_year: f64,
    pub risk_free_rate: f64,
    /// Number of closes per series and of returns (one fewer).
    pub prices: usize,
    pub returns: usize,
    /// First and last timestamp, when times were given.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub assets: Vec<SeriesRisk>,
    pub benchmark: Option<SeriesRisk>,
    pub portfolio: Option<PortfolioRisk>,
    /// Present when there are at least two assets.
    pub correlation: Option<CorrelationMatrix>,
    /// Caveats about this particular request (small samples, shorts…).
    pub warnings: Vec<String>,
}

/// Computes the whole [`RiskReport`]: per-asset figures, the benchmark's own figures and each
/// asset's beta/correlation/alpha against it, the portfolio (when weights are given) and the
/// correlation matrix (two or more assets).
///
/// Needs at least 3 closes (2 returns, for a sample standard deviation), all finite and
/// positive, every series the same length; several hundred closes are needed before the 99 %
/// VaR means much (a warning says so).
pub fn analyze(inputs: &RiskInputs<'_>) -> Result<RiskReport, RiskError> {
    let ppy = inputs.periods_per_year;
    let rf = inputs.risk_free_rate;
    check_periods_per_year(ppy)?;
    check_risk_free(rf)?;
    let confidences: Vec<f64> = if inputs.confidences.is_empty() {
        vec![0.95, 0.99]
    } else {
        inputs.confidences.clone()
    };
    for &c in &confidences {
        check_confidence(c)?;
    }
    let first = inputs.assets.first().ok_or(RiskError::NoSeries)?;
    let n = first.closes.len();
    for s in inputs.assets.iter().chain(&inputs.benchmark) {
        same_length(s.name, n, s.closes.len())?;
        validate_prices(s.name, s.closes)?;
    }
    if let Some(times) = inputs.times {
        same_length("times", n, times.len())?;
    }
    require("risk analysis", 2, n.saturating_sub(1))?;
    let returns_count = n - 1;

    let mut warnings = Vec::new();
    for &c in &confidences {
        let tail = returns_count as f64 * (1.0 - c);
        if tail < 5.0 {
            warnings.push(format!(
                "only {returns_count} returns: the {}% historical VaR/CVaR rest on {tail:.1} \
                 tail observations; treat them as rough",
                c * 100.0
            ));
        }
    }

    let bench_returns = inputs
        .benchmark
        .as_ref()
        .map(|b| (b.name, returns_of(b.closes)));
    let ctx = Context {
        ppy,
        rf,
        confidences: &confidences,
        times: inputs.times,
        benchmark: bench_returns
            .as_ref()
            .map(|(name, r)| (*name, r.as_slice())),
    };

    let asset_returns: Vec<Vec<f64>> = inputs.assets.iter().map(|s| returns_of(s.closes)).collect();
    let assets = inputs
        .assets
        .iter()
        .zip(&asset_returns)
        .map(|(s, r)| ctx.series_risk(s.name, s.closes, r, true))
        .collect::<Result<Vec<_>, _>>()?;
    let benchmark = match (&inputs.benchmark, &bench_returns) {
        (Some(b), Some((_, r))) => Some(ctx.series_risk(b.name, b.closes, r, false)?),
        _ => None,
    };

    let portfolio = match &inputs.weights {
        Some(weights) => {
            same_length("weights", inputs.assets.len(), weights.len())?;
            let returns = portfolio_returns(&asset_returns, weights)?;
            let conc = concentration(weights)?;
            let total: f64 = weights.iter().sum();
            if weights.iter().any(|w| *w < 0.0) {
                warnings.push(
                    "negative weights are treated as short positions in a portfolio rebalanced \
                     every period"
                        .into(),
                );
            }
            let wealth = wealth_index(&returns);
            if wealth.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
                return Err(RiskError::InvalidWeights(
                    "the leveraged portfolio's value falls to zero or below; reduce the shorts"
                        .into(),
                ));
            }
            let risk = ctx.series_risk("portfolio", &wealth, &returns, true)?;
            Some(PortfolioRisk {
                holdings: inputs
                    .assets
                    .iter()
                    .zip(weights)
                    .map(|(s, w)| Holding {
                        name: s.name.to_string(),
                        weight: w / total,
                    })
                    .collect(),
                largest_holding: inputs
                    .assets
                    .get(conc.largest_index)
                    .map(|s| s.name.to_string())
                    .unwrap_or_default(),
                concentration: conc,
                risk,
            })
        }
        None => None,
    };

    let correlation = if inputs.assets.len() >= 2 {
        Some(CorrelationMatrix {
            names: inputs.assets.iter().map(|s| s.name.to_string()).collect(),
            matrix: correlation_matrix(&asset_returns)?,
        })
    } else {
        None
    };

    Ok(RiskReport {
        conventions: CONVENTIONS.to_string(),
        periods_per_year: ppy,
        risk_free_rate: rf,
        prices: n,
        returns: returns_count,
        start_time: inputs.times.and_then(|t| t.first().copied()),
        end_time: inputs.times.and_then(|t| t.last().copied()),
        assets,
        benchmark,
        portfolio,
        correlation,
        warnings,
    })
}

/// Simple returns of prices already validated.
fn returns_of(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

struct Context<'a> {
    ppy: f64,
    rf: f64,
    confidences: &'a [f64],
    times: Option<&'a [i64]>,
    benchmark: Option<(&'a str, &'a [f64])>,
}

impl Context<'_> {
    fn series_risk(
        &self,
        name: &str,
        prices: &[f64],
        returns: &[f64],
        with_benchmark: bool,
    ) -> Result<SeriesRisk, RiskError> {
        let (first, last) = match (prices.first(), prices.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return Err(RiskError::NoSeries),
        };
        let total_return = last / first - 1.0;
        let annualized_return = (last / first).powf(self.ppy / returns.len() as f64) - 1.0;
        let mu = mean(returns);
        let sd = sample_std(returns);
        let var = self
            .confidences
            .iter()
            .map(|&c| {
                let h = historical_var(returns, c)?;
                let p = parametric_var_from(mu, sd, c)?;
                Ok(VarEstimate {
                    confidence: c,
                    historical_var: h.var,
                    historical_cvar: h.cvar,
                    parametric_var: p.var,
                    parametric_cvar: p.cvar,
                })
            })
            .collect::<Result<Vec<_>, RiskError>>()?;
        let mut drawdown = max_drawdown(prices)?;
        if let Some(times) = self.times {
            drawdown = drawdown.with_times(times);
        }
        let versus_benchmark = match (with_benchmark, self.benchmark) {
            (true, Some((bname, b))) => {
                Some(benchmark_stats(bname, returns, b, self.rf, self.ppy)?)
            }
            _ => None,
        };
        Ok(SeriesRisk {
            name: name.to_string(),
            total_return,
            annualized_return,
            mean_return: mu,
            volatility: sd * self.ppy.sqrt(),
            sharpe: sharpe_ratio(returns, self.rf, self.ppy)?,
            sortino: sortino_ratio(returns, self.rf, self.ppy)?,
            max_drawdown: drawdown,
            var,
            versus_benchmark,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    fn series<'a>(name: &'a str, closes: &'a [f64]) -> Series<'a> {
        Series { name, closes }
    }

    #[test]
    fn single_series_by_hand() {
        // Returns +10 %, −10 %, 0: mean 0, sample sd = √((0.01 + 0.01 + 0) / 2) = 0.1.
        let p = [100.0, 110.0, 99.0, 99.0];
        let mut inputs = RiskInputs::new(vec![series("A", &p)]);
        inputs.periods_per_year = 1.0;
        inputs.confidences = vec![0.95];
        let r = analyze(&inputs).unwrap();
        assert_eq!((r.prices, r.returns), (4, 3));
        let a = &r.assets[0];
        assert!(close(a.total_return, -0.01));
        assert!(close(a.mean_return, 0.0));
        assert!(close(a.volatility, 0.1));
        assert!(close(a.annualized_return, 0.99f64.powf(1.0 / 3.0) - 1.0));
        // Sorted returns −0.1, 0, 0.1; 5 % quantile at h = 0.1 → −0.09; tail {−0.1}.
        let v = &a.var[0];
        assert!(
            close(v.historical_var, 0.09) && close(v.historical_cvar, 0.1),
            "{v:?}"
        );
        assert!(close(v.parametric_var, 0.1 * 1.644_853_626_951_472_2));
        assert!(close(a.max_drawdown.max_drawdown, 0.1));
        assert_eq!(
            (a.max_drawdown.peak_index, a.max_drawdown.trough_index),
            (1, 2)
        );
        assert_eq!(a.max_drawdown.recovery_index, None);
        assert!(a.sharpe.unwrap().abs() < 1e-12);
        assert!(a.versus_benchmark.is_none());
        assert!(r.portfolio.is_none() && r.correlation.is_none() && r.benchmark.is_none());
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("only 3 returns"));
    }

    #[test]
    fn portfolio_benchmark_and_correlation() {
        let a = [100.0, 110.0, 99.0, 108.9];
        let b = [50.0, 50.5, 50.0, 51.0];
        let bench = [10.0, 10.5, 10.0, 10.4];
        let times = [1, 2, 3, 4];
        let mut inputs = RiskInputs::new(vec![series("A", &a), series("B", &b)]);
        inputs.weights = Some(vec![3.0, 1.0]);
        inputs.benchmark = Some(series("IDX", &bench));
        inputs.times = Some(&times);
        let r = analyze(&inputs).unwrap();
        let port = r.portfolio.as_ref().unwrap();
        assert_eq!(port.holdings[0].name, "A");
        assert!(close(port.holdings[0].weight, 0.75) && close(port.holdings[1].weight, 0.25));
        assert_eq!(port.largest_holding, "A");
        assert!(close(port.concentration.hhi, 0.625));
        // Portfolio day 1: 0.75 × 10 % + 0.25 × 1 % = 7.75 %.
        assert!(close(port.risk.total_return, {
            let ra = [0.1, -0.1, 0.1];
            let rb = [0.01, 50.0 / 50.5 - 1.0, 0.02];
            (0..3)
                .map(|t| 1.0 + 0.75 * ra[t] + 0.25 * rb[t])
                .product::<f64>()
                - 1.0
        }));
        assert!(port.risk.versus_benchmark.is_some());
        assert!(r.assets.iter().all(|s| s.versus_benchmark.is_some()));
        let bench_risk = r.benchmark.as_ref().unwrap();
        assert!(bench_risk.versus_benchmark.is_none());
        let corr = r.correlation.as_ref().unwrap();
        assert_eq!(corr.names, vec!["A", "B"]);
        assert_eq!(corr.matrix[0][0], Some(1.0));
        assert_eq!((r.start_time, r.end_time), (Some(1), Some(4)));
        assert_eq!(r.assets[0].max_drawdown.trough_time, Some(3));
        // Serialises with a schema, as the MCP tool needs.
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["portfolio"]["concentration"]["hhi"].is_number());
        let schema = serde_json::to_value(schemars::schema_for!(RiskReport)).unwrap();
        assert!(schema["properties"]["assets"].is_object(), "{schema}");
    }

    #[test]
    fn typed_errors() {
        let p = [100.0, 101.0, 102.0];
        let short = [100.0, 101.0];
        assert_eq!(
            analyze(&RiskInputs::new(vec![])).unwrap_err(),
            RiskError::NoSeries
        );
        let e = analyze(&RiskInputs::new(vec![series("A", &short)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "risk analysis: needs at least 2 returns (3 prices), got 1 returns"
        );
        let e = analyze(&RiskInputs::new(vec![series("A", &p), series("B", &short)])).unwrap_err();
        assert!(
            matches!(&e, RiskError::LengthMismatch { what, expected: 3, got: 2 } if what == "B"),
            "{e}"
        );
        let bad = [100.0, f64::NAN, 102.0];
        let e = analyze(&RiskInputs::new(vec![series("A", &bad)])).unwrap_err();
        assert!(matches!(e, RiskError::InvalidPrice { index: 1, .. }), "{e}");
        let mut inputs = RiskInputs::new(vec![series("A", &p)]);
        inputs.confidences = vec![95.0];
        assert!(matches!(
            analyze(&inputs),
            Err(RiskError::InvalidParameter { .. })
        ));
        let mut inputs = RiskInputs::new(vec![series("A", &p)]);
        inputs.weights = Some(vec![1.0, 1.0]);
        assert!(matches!(
            analyze(&inputs),
            Err(RiskError::LengthMismatch { .. })
        ));
        inputs.weights = Some(vec![-1.0]);
        assert!(matches!(
            analyze(&inputs),
            Err(RiskError::InvalidWeights(_))
        ));
        let mut inputs = RiskInputs::new(vec![series("A", &p)]);
        inputs.times = Some(&[1, 2]);
        assert!(matches!(
            analyze(&inputs),
            Err(RiskError::LengthMismatch { .. })
        ));
        inputs.times = None;
        inputs.periods_per_year = 0.0;
        assert!(analyze(&inputs).is_err());
    }
}
