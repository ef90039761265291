//! Robustness of a backtest: in-sample vs out-of-sample, a Monte Carlo bootstrap of trade
//! returns, parameter sensitivity around the chosen point, and plain-language warnings.
//!
//! This module must never flatter a strategy: every warning it can raise is checked on every
//! analysis, and the random resampling is seeded so the same question gets the same answer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::optimize::SplitMix64;
use super::overfit::{Report, TrialSummary, assess, pbo_blocks};
use super::strategy::Strategy;
use super::{BacktestError, Outcome, Settings, run_strategy};
use crate::indicators::Columns;

/// Headline figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Summary {
    pub bars: usize,
    pub trades: usize,
    pub return_pct: f64,
    pub return_ann_pct: Option<f64>,
    pub sharpe_ratio: Option<f64>,
    pub max_drawdown_pct: f64,
    pub win_rate_pct: Option<f64>,
}

impl Summary {
    fn of(o: &Outcome, bars: usize) -> Self {
        Summary {
            bars,
            trades: o.stats.trades,
            return_pct: o.stats.return_pct,
            return_ann_pct: o.stats.return_ann_pct,
            sharpe_ratio: o.stats.sharpe_ratio,
            max_drawdown_pct: o.stats.max_drawdown_pct,
            win_rate_pct: o.stats.win_rate_pct,
        }
    }
}

/// 5th, 50th and 95th percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Percentiles {
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

fn percentiles(mut v: Vec<f64>) -> Option<Percentiles> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some(Percentiles {
        p5: at(0.05),
        p50: at(0.5),
        p95: at(0.95),
    })
}

/// Trade returns drawn with replacement (a bootstrap: a plain reshuffle would leave the final
/// equity unchanged, since compounding does not depend on order), compounded from the starting
/// cash.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MonteCarlo {
    pub runs: usize,
    pub seed: u64,
    pub final_equity: Option<Percentiles>,
    /// Maximum drawdown in percent (negative).
    pub max_drawdown_pct: Option<Percentiles>,
    /// Share of runs ending below the starting cash, in percent.
    pub losing_runs_pct: f64,
}

/// The maximised statistic with one parameter moved one step.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Sensitivity {
    pub param: String,
    pub value: f64,
    pub metric: Option<f64>,
    /// Change against the chosen point, in percent of its absolute value.
    pub change_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Robustness {
    pub full: Summary,
    pub in_sample: Summary,
    pub out_of_sample: Summary,
    /// Bar index where out-of-sample starts.
    pub split_bar: usize,
    pub monte_carlo: MonteCarlo,
    pub metric: String,
    pub sensitivity: Vec<Sensitivity>,
    /// The chosen point among its sensitivity neighbours as trials: its Deflated Sharpe Ratio
    /// and their PBO, with a verdict.
    pub overfitting: Option<Report>,
    pub warnings: Vec<String>,
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct Analysis<'a> {
    pub strategy: &'a Strategy,
    pub values: BTreeMap<String, f64>,
    pub settings: Settings,
    /// Share of bars in-sample (e.g. 0.7).
    pub in_sample_share: f64,
    pub monte_carlo_runs: usize,
    pub seed: u64,
    /// Statistic whose sensitivity is reported (e.g. `sharpe_ratio`).
    pub metric: String,
}

fn slice<'a>(c: &Columns<'a>, a: usize, b: usize) -> Columns<'a> {
    c.range(a, b)
}

/// Runs the analysis; returns the full-period outcome too (for reports).
pub fn analyze(
    cols: &Columns<'_>,
    a: &Analysis<'_>,
) -> Result<(Outcome, Robustness), BacktestError> {
    let n = cols.len();
    let full = run_strategy(a.strategy, &a.values, cols, &a.settings)?;
    let share = if a.in_sample_share > 0.0 && a.in_sample_share < 1.0 {
        a.in_sample_share
    } else {
        0.7
    };
    let split = ((n as f64 * share) as usize).clamp(1, n.saturating_sub(1).max(1));
    let is = run_strategy(a.strategy, &a.values, &slice(cols, 0, split), &a.settings)?;
    let oos = run_strategy(a.strategy, &a.values, &slice(cols, split, n), &a.settings)?;

    // Monte Carlo bootstrap of trade returns.
    let returns: Vec<f64> = full.trades.iter().map(|t| t.return_pct).collect();
    let mut rng = SplitMix64(a.seed);
    let (mut finals, mut dds) = (Vec::new(), Vec::new());
    if !returns.is_empty() {
        for _ in 0..a.monte_carlo_runs {
            let (mut eq, mut peak, mut worst) = (a.settings.cash, a.settings.cash, 0.0_f64);
            for _ in 0..returns.len() {
                eq *= 1.0 + returns[rng.below(returns.len())];
                peak = peak.max(eq);
                worst = worst.max(1.0 - eq / peak);
            }
            finals.push(eq);
            dds.push(-worst * 100.0);
        }
    }
    let losing = finals.iter().filter(|&&e| e < a.settings.cash).count();
    let monte_carlo = MonteCarlo {
        runs: finals.len(),
        seed: a.seed,
        losing_runs_pct: if finals.is_empty() {
            0.0
        } else {
            losing as f64 / finals.len() as f64 * 100.0
        },
        final_equity: percentiles(finals),
        max_drawdown_pct: percentiles(dds),
    };

    // Sensitivity: each parameter one step either side.
    let base = full.stats.get(&a.metric);
    let mut sensitivity = Vec::new();
    let mut neighbours = Vec::new();
    for p in &a.strategy.params {
        let here = full.params.get(&p.name).copied().unwrap_or(p.default);
        let step = p.step.unwrap_or(if p.is_integer() {
            (here.abs() * 0.1).round().max(1.0)
        } else {
            here.abs() * 0.1
        });
        if step == 0.0 {
            continue;
        }
        for v in [here - step, here + step] {
            if p.min.is_some_and(|m| v < m) || p.max.is_some_and(|m| v > m) {
                continue;
            }
            let mut values = full.params.clone();
            values.insert(p.name.clone(), v);
            let neighbour = run_strategy(a.strategy, &values, cols, &a.settings).ok();
            let metric = neighbour.as_ref().and_then(|o| o.stats.get(&a.metric));
            neighbours.extend(neighbour);
            let change_pct = match (base, metric) {
                (Some(b), Some(m)) if b != 0.0 => Some((m - b) / b.abs() * 100.0),
                _ => None,
            };
            sensitivity.push(Sensitivity {
                param: p.name.clone(),
                value: v,
                metric,
                change_pct,
            });
        }
    }

    let blocks = pbo_blocks(1 + neighbours.len());
    let trials: Vec<TrialSummary> = std::iter::once(&full)
        .chain(&neighbours)
        .map(|o| TrialSummary::from_equity(&o.equity, o.warmup, blocks))
        .collect();
    let overfitting = (trials.len() > 1).then(|| Report::from(assess(&trials, 0)));
    let robustness = Robustness {
        overfitting,
        full: Summary::of(&full, n),
        in_sample: Summary::of(&is, split),
        out_of_sample: Summary::of(&oos, n - split),
        split_bar: split,
        warnings: Vec::new(),
        monte_carlo,
        metric: a.metric.clone(),
        sensitivity,
    };
    let warnings = warnings(&robustness, &a.settings);
    Ok((
        full,
        Robustness {
            warnings,
            ..robustness
        },
    ))
}

/// Plain-language warnings a person should read before trusting the numbers.
fn warnings(r: &Robustness, settings: &Settings) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(o) = &r.overfitting
        && o.pbo.is_some_and(|p| p > 0.5)
    {
        w.push(format!(
            "Among its neighbouring parameter values, {}",
            o.verdict
        ));
    }
    let trades = r.full.trades;
    if trades == 0 {
        w.push("No trades: the rules never fired on these bars; nothing here is evidence.".into());
    } else if trades < 30 {
        w.push(format!(
            "Only {trades} trades: too few for the statistics to mean much (30+ is a common minimum)."
        ));
    }
    if let (Some(is), Some(oos)) = (r.in_sample.sharpe_ratio, r.out_of_sample.sharpe_ratio)
        && is > 0.0
        && oos < is * 0.5
    {
        w.push(format!(
            "Out-of-sample Sharpe {oos:.2} is less than half the in-sample {is:.2}: a sign of overfitting or of a regime change."
        ));
    }
    if r.in_sample.return_pct > 0.0 && r.out_of_sample.return_pct < 0.0 {
        w.push(format!(
            "Profitable in-sample ({:.1} %) but losing out-of-sample ({:.1} %).",
            r.in_sample.return_pct, r.out_of_sample.return_pct
        ));
    }
    if let Some(worst) = r
        .sensitivity
        .iter()
        .filter_map(|s| s.change_pct.map(|c| (c, s)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        && worst.0 < -50.0
    {
        w.push(format!(
            "Fragile: moving {} to {} changes {} by {:.0} %; the chosen point may be a lucky spike.",
            worst.1.param, worst.1.value, r.metric, worst.0
        ));
    }
    if r.monte_carlo.losing_runs_pct >= 5.0 {
        w.push(format!(
            "In {:.0} % of resampled trade sequences the strategy ends below its starting cash.",
            r.monte_carlo.losing_runs_pct
        ));
    }
    if settings.trade_on_close {
        w.push(
            "trade_on_close fills at the close of the bar that produced the signal: only valid if \
             the signal can be computed and the order sent before that close (look-ahead-prone)."
                .into(),
        );
    }
    if settings.commission_rate == 0.0 && settings.commission_fixed == 0.0 && settings.spread == 0.0
    {
        w.push("No commission or spread: real results will be lower.".into());
    }
    w
}
