//! The optimiser: grid or seeded random search over a strategy's named parameters, with a
//! constraint, maximising any statistic, in parallel (rayon) over one shared indicator cache;
//! walk-forward analysis; a two-parameter heat map.
//!
//! Indicators are computed once per distinct call across the whole search (the grid of an SMA
//! cross over 13 windows needs 13 SMAs, not 156), before the parallel part, so the threads only
//! read. This module must never pick a best result on data it then reports as out-of-sample.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

use super::overfit::{Overfitting, TrialSummary, assess, pbo_blocks};
use super::strategy::{IndicatorCache, Strategy, StrategyError};
use super::{MarketContext, Settings, Stats, compute_stats, run};
use crate::indicators::Columns;
use crate::screen::{Evaluator, Expression, Kind, Value};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptimizeError {
    #[error("{0}")]
    Strategy(#[from] StrategyError),
    #[error("{0}")]
    Backtest(#[from] super::BacktestError),
    #[error("unknown statistic '{0}' to maximise; use one of: {keys}", keys = Stats::KEYS.join(", "))]
    UnknownStat(String),
    #[error("constraint: {0}")]
    Constraint(String),
    #[error("nothing to search: {0}")]
    Empty(String),
    #[error("the search was cancelled")]
    Cancelled,
    #[error(
        "the search has {0} combinations; narrow the ranges or use random search (at most {1})"
    )]
    TooLarge(usize, usize),
}

/// Largest number of combinations one search evaluates.
pub const MAX_COMBINATIONS: usize = 100_000;

/// How to walk the parameter space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Search {
    /// Every combination.
    Grid,
    /// `samples` distinct combinations drawn with a seeded generator (same seed, same draw).
    Random { samples: usize, seed: u64 },
}

/// A constraint over parameter names, e.g. `fast < slow` or `$fast * 2 <= $slow`.
#[derive(Debug, Clone)]
pub struct Constraint {
    text: String,
    names: Vec<String>,
}

impl Constraint {
    pub fn parse(text: &str, strategy: &Strategy) -> Result<Self, OptimizeError> {
        let mut names: Vec<String> = strategy.params.iter().map(|p| p.name.clone()).collect();
        // Longest first, so `n1` is not replaced inside `n10`.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let c = Constraint {
            text: text.to_string(),
            names,
        };
        let defaults = strategy.values(&BTreeMap::new())?;
        c.holds(&defaults)?;
        Ok(c)
    }

    fn holds(&self, values: &BTreeMap<String, f64>) -> Result<bool, OptimizeError> {
        let mut text = self.text.replace('$', "");
        for name in &self.names {
            let v = values.get(name).copied().unwrap_or(f64::NAN);
            text = replace_word(&text, name, &format!("({v})"));
        }
        let expr = Expression::parse(&text)
            .map_err(|e| OptimizeError::Constraint(format!("{e} in \"{}\"", self.text)))?;
        if expr.kind() != Kind::Condition {
            return Err(OptimizeError::Constraint(format!(
                "\"{}\" is not a condition, e.g. \"fast < slow\"",
                self.text
            )));
        }
        let zero = [0.0];
        let cols = Columns {
            time: &[0],
            open: &zero,
            high: &zero,
            low: &zero,
            close: &zero,
            volume: &zero,
        };
        let v = Evaluator::new(cols)
            .at(&expr, 0)
            .map_err(|e| OptimizeError::Constraint(e.to_string()))?;
        Ok(v == Value::Condition(Some(true)))
    }
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < text.len() {
        if text[i..].starts_with(word)
            && (i == 0 || !ident(b[i - 1]))
            && b.get(i + word.len()).is_none_or(|&c| !ident(c))
        {
            out.push_str(with);
            i += word.len();
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// One evaluated combination.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Row {
    pub params: BTreeMap<String, f64>,
    /// The maximised statistic (None where undefined, e.g. Sharpe with no trades).
    pub value: Option<f64>,
    pub stats: Stats,
    /// The run's bar returns as the overfitting statistics need them (not part of answers).
    #[serde(skip)]
    #[schemars(skip)]
    pub summary: Option<TrialSummary>,
}

/// Best value of the maximised statistic over the other parameters, for two parameters.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Heatmap {
    pub x: String,
    pub y: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// `values[j][i]` is for `ys[j]`, `xs[i]`; None where no combination was evaluated.
    pub values: Vec<Vec<Option<f64>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    pub maximize: String,
    /// Sorted best first (undefined values last); ties keep search order.
    pub rows: Vec<Row>,
    pub heatmap: Option<Heatmap>,
    /// Distinct indicator computations the whole search needed.
    pub indicator_computations: usize,
}

impl Optimum {
    pub fn best(&self) -> Option<&Row> {
        self.rows.first().filter(|r| r.value.is_some())
    }

    /// How likely the best combination is overfit, given every combination run (computed on
    /// asking: a PBO costs up to a million trial-splits).
    pub fn overfitting(&self) -> Overfitting {
        let summaries: Vec<TrialSummary> =
            self.rows.iter().filter_map(|r| r.summary.clone()).collect();
        assess(&summaries, 0)
    }
}

/// What to search.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub strategy: &'a Strategy,
    /// Values per parameter; parameters not named keep their default. Empty: every parameter
    /// that declares a range uses its grid.
    pub ranges: BTreeMap<String, Vec<f64>>,
    pub constraint: Option<Constraint>,
    pub maximize: String,
    pub search: Search,
    pub settings: Settings,
}

impl Request<'_> {
    /// Every combination to evaluate, in search order (constraint applied).
    pub fn combinations(&self) -> Result<Vec<BTreeMap<String, f64>>, OptimizeError> {
        if !Stats::KEYS.contains(&self.maximize.as_str()) {
            return Err(OptimizeError::UnknownStat(self.maximize.clone()));
        }
        let mut axes: Vec<(String, Vec<f64>)> = Vec::new();
        for p in &self.strategy.params {
            let values = match self.ranges.get(&p.name) {
                Some(v) => v.clone(),
                None if self.ranges.is_empty() => p.grid(),
                None => vec![p.default],
            };
            if values.is_empty() {
                return Err(OptimizeError::Empty(format!("no values for '{}'", p.name)));
            }
            axes.push((p.name.clone(), values));
        }
        for k in self.ranges.keys() {
            if !self.strategy.params.iter().any(|p| &p.name == k) {
                self.strategy.values(&BTreeMap::from([(k.clone(), 0.0)]))?;
            }
        }
        let total: usize = axes
            .iter()
            .map(|(_, v)| v.len())
            .try_fold(1usize, |a, b| a.checked_mul(b))
            .unwrap_or(usize::MAX);
        let limit = match self.search {
            Search::Grid => MAX_COMBINATIONS,
            Search::Random { .. } => MAX_COMBINATIONS * 10,
        };
        if total > limit {
            return Err(OptimizeError::TooLarge(total, MAX_COMBINATIONS));
        }
        let mut combos = Vec::with_capacity(total);
        for k in 0..total {
            let mut rest = k;
            let mut m = BTreeMap::new();
            for (name, values) in axes.iter().rev() {
                m.insert(name.clone(), values[rest % values.len()]);
                rest /= values.len();
            }
            combos.push(m);
        }
        if let Some(c) = &self.constraint {
            // Checked in parallel; the kept combinations stay in search order.
            let kept: Vec<Option<BTreeMap<String, f64>>> = combos
                .into_par_iter()
                .map(|m| Ok(c.holds(&m)?.then_some(m)))
                .collect::<Result<_, OptimizeError>>()?;
            combos = kept.into_iter().flatten().collect();
        }
        if let Search::Random { samples, seed } = self.search {
            let mut rng = SplitMix64(seed);
            let k = samples.min(combos.len());
            for i in 0..k {
                let j = i + (rng.next_u64() % (combos.len() - i) as u64) as usize;
                combos.swap(i, j);
            }
            combos.truncate(k);
            if combos.len() > MAX_COMBINATIONS {
                combos.truncate(MAX_COMBINATIONS);
            }
        }
        if combos.is_empty() {
            return Err(OptimizeError::Empty(
                "no combination satisfies the constraint".into(),
            ));
        }
        Ok(combos)
    }
}

/// A small, seeded generator (SplitMix64): reproducible draws without a dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Runs the search over `cols` (with `ctx` built from the same columns).
pub fn optimize(
    cols: &Columns<'_>,
    ctx: &MarketContext<'_>,
    req: &Request<'_>,
) -> Result<Optimum, OptimizeError> {
    let combos = req.combinations()?;
    optimize_combinations(cols, ctx, req, combos, &|_| {})
}

/// [`optimize`] over given combinations, calling `progress(done)` as runs finish.
pub fn optimize_combinations(
    cols: &Columns<'_>,
    ctx: &MarketContext<'_>,
    req: &Request<'_>,
    combos: Vec<BTreeMap<String, f64>>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Optimum, OptimizeError> {
    let never = AtomicBool::new(false);
    optimize_cancellable(cols, ctx, req, combos, progress, &never)
}

/// [`optimize_combinations`] that stops (with [`OptimizeError::Cancelled`]) soon after `cancel`
/// is set: each run checks it before starting.
pub fn optimize_cancellable(
    cols: &Columns<'_>,
    ctx: &MarketContext<'_>,
    req: &Request<'_>,
    combos: Vec<BTreeMap<String, f64>>,
    progress: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Optimum, OptimizeError> {
    // Rules are parsed for every combination in parallel, then each distinct indicator call of
    // the whole search is computed once (also in parallel) before the runs.
    let bound = combos
        .par_iter()
        .map(|m| req.strategy.bind(m))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cache = IndicatorCache::new();
    cache.prepare_all(&bound, cols)?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let blocks = pbo_blocks(combos.len());
    let results: Vec<Result<Row, OptimizeError>> = bound
        .par_iter()
        .zip(combos.par_iter())
        .map(|(b, m)| {
            if cancel.load(Ordering::Relaxed) {
                return Err(OptimizeError::Cancelled);
            }
            let plan = b.plan_cached(cols, &cache)?;
            let out = run(cols, &plan, &req.settings)?;
            let stats = compute_stats(&out.trades, &out.equity, ctx, plan.warmup);
            let summary = TrialSummary::from_equity(&out.equity, plan.warmup, blocks);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_multiple_of(64) {
                progress(d);
            }
            Ok(Row {
                params: m.clone(),
                value: stats.get(&req.maximize).filter(|v| v.is_finite()),
                stats,
                summary: Some(summary),
            })
        })
        .collect();
    let mut rows = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let heatmap = heatmap(&rows, req.strategy);
    // Stable sort: ties keep search order, so the first best combination wins (as
    // backtesting.py's `optimize`).
    rows.sort_by(|a, b| match (a.value, b.value) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Ok(Optimum {
        maximize: req.maximize.clone(),
        rows,
        heatmap,
        indicator_computations: cache.len(),
    })
}

/// The heat map over the first two parameters that vary.
fn heatmap(rows: &[Row], strategy: &Strategy) -> Option<Heatmap> {
    let varying: Vec<&str> = strategy
        .params
        .iter()
        .map(|p| p.name.as_str())
        .filter(|name| {
            let first = rows.first().and_then(|r| r.params.get(*name));
            rows.iter().any(|r| r.params.get(*name) != first)
        })
        .collect();
    let (x, y) = (*varying.first()?, *varying.get(1)?);
    let axis = |name: &str| {
        let mut v: Vec<f64> = rows
            .iter()
            .filter_map(|r| r.params.get(name).copied())
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (xs, ys) = (axis(x), axis(y));
    let mut values = vec![vec![None::<f64>; xs.len()]; ys.len()];
    for r in rows {
        let (Some(px), Some(py)) = (r.params.get(x), r.params.get(y)) else {
            continue;
        };
        let i = xs.partition_point(|v| v < px);
        let j = ys.partition_point(|v| v < py);
        if let Some(v) = r.value {
            let cell = &mut values[j][i];
            *cell = Some(cell.map_or(v, |c: f64| c.max(v)));
        }
    }
    Some(Heatmap {
        x: x.to_string(),
        y: y.to_string(),
        xs,
        ys,
        values,
    })
}

/// One walk-forward step: optimise on the in-sample window, then run the winner on the
/// out-of-sample window that follows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Fold {
    pub in_sample: (usize, usize),
    pub out_of_sample: (usize, usize),
    pub params: BTreeMap<String, f64>,
    pub in_sample_value: Option<f64>,
    pub out_of_sample_value: Option<f64>,
    pub out_of_sample_return_pct: f64,
    pub out_of_sample_trades: usize,
}

/// Rolling walk-forward: `folds` consecutive out-of-sample windows, each preceded by an
/// in-sample window `train_ratio` times as long. Each window is run on its own bars (indicators
/// warm up inside it), so nothing out-of-sample informs the choice.
pub fn walk_forward(
    cols: &Columns<'_>,
    req: &Request<'_>,
    folds: usize,
    train_ratio: f64,
) -> Result<Vec<Fold>, OptimizeError> {
    let n = cols.len();
    if folds == 0 || train_ratio.is_nan() || train_ratio <= 0.0 {
        return Err(OptimizeError::Empty(
            "walk-forward needs folds ≥ 1 and a positive train ratio".into(),
        ));
    }
    let test = (n as f64 / (folds as f64 + train_ratio)).floor() as usize;
    let train = (test as f64 * train_ratio).floor() as usize;
    if test < 20 || train < 20 {
        return Err(OptimizeError::Empty(format!(
            "{n} bars are too few for {folds} walk-forward folds"
        )));
    }
    let combos = req.combinations()?;
    let slice = |a: usize, b: usize| Columns {
        time: &cols.time[a..b],
        open: &cols.open[a..b],
        high: &cols.high[a..b],
        low: &cols.low[a..b],
        close: &cols.close[a..b],
        volume: &cols.volume[a..b],
    };
    let mut out = Vec::with_capacity(folds);
    for k in 0..folds {
        let is = (k * test, k * test + train);
        let oos = (is.1, (is.1 + test).min(n));
        let is_cols = slice(is.0, is.1);
        let is_ctx = MarketContext::new(&is_cols);
        let opt = optimize_combinations(&is_cols, &is_ctx, req, combos.clone(), &|_| {})?;
        let Some(best) = opt.best() else {
            continue;
        };
        let oos_cols = slice(oos.0, oos.1);
        let oos_ctx = MarketContext::new(&oos_cols);
        let plan = req
            .strategy
            .bind(&best.params)?
            .plan(&oos_cols, &mut IndicatorCache::new())?;
        let r = run(&oos_cols, &plan, &req.settings)?;
        let stats = compute_stats(&r.trades, &r.equity, &oos_ctx, plan.warmup);
        out.push(Fold {
            in_sample: is,
            out_of_sample: oos,
            params: best.params.clone(),
            in_sample_value: best.value,
            out_of_sample_value: stats.get(&req.maximize),
            out_of_sample_return_pct: stats.return_pct,
            out_of_sample_trades: stats.trades,
        });
    }
    Ok(out)
}
