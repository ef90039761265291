//! The optimiser: grid or seeded random search over a strategy's named parameters, with a
//! constraint, maximising any statistic, in parallel (rayon) over one shared indicator cache;
//! walk-forward analysis; a two-parameter heat map.
//!
//! Indicators are computed once per distinct call across the whole search (the grid of an SMA
//! cross over 13 windows needs 13 SMAs, not 156), before the parallel part, so the threads only
//! read. This module must never pick a best result on data it then reports as out-of-sample.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

pub use super::walk_forward::{Fold, walk_forward};

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
    /// Bayesian optimisation: a tree-structured Parzen estimator over the grid proposes each
    /// batch from the runs so far; at most `samples` distinct runs (see [`super::search`]).
    Bayesian { samples: usize, seed: u64 },
    /// CMA-ES with restarts over the grid; at most `samples` distinct runs.
    Cmaes { samples: usize, seed: u64 },
}

impl Search {
    /// Whether the method proposes its runs as it learns (rather than from a fixed list).
    pub fn is_adaptive(&self) -> bool {
        matches!(self, Search::Bayesian { .. } | Search::Cmaes { .. })
    }
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

    pub(crate) fn holds(&self, values: &BTreeMap<String, f64>) -> Result<bool, OptimizeError> {
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
    /// The parameter space: each parameter's values (the named range, its own grid, or its
    /// default), checked against the strategy and the statistic.
    pub fn space(&self) -> Result<Space, OptimizeError> {
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
        Ok(Space { axes })
    }

    /// Every combination to evaluate, in search order (constraint applied), for grid and random
    /// search; the adaptive methods propose theirs as they learn (see [`super::search`]).
    pub fn combinations(&self) -> Result<Vec<BTreeMap<String, f64>>, OptimizeError> {
        let space = self.space()?;
        let total = space.size();
        let limit = match self.search {
            Search::Grid => MAX_COMBINATIONS,
            _ => MAX_COMBINATIONS * 10,
        };
        if total > limit {
            return Err(OptimizeError::TooLarge(total, MAX_COMBINATIONS));
        }
        let mut combos = Vec::with_capacity(total);
        for k in 0..total {
            combos.push(space.point(&space.index_of(k)));
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

/// The values each parameter may take: a grid whose points are addressed by one index per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub axes: Vec<(String, Vec<f64>)>,
}

impl Space {
    /// Points on the grid (saturating).
    pub fn size(&self) -> usize {
        self.axes
            .iter()
            .map(|(_, v)| v.len())
            .try_fold(1usize, |a, b| a.checked_mul(b))
            .unwrap_or(usize::MAX)
    }

    /// Values per axis.
    pub fn lens(&self) -> Vec<usize> {
        self.axes.iter().map(|(_, v)| v.len()).collect()
    }

    /// The `k`-th point in grid order (the last parameter varies fastest).
    pub fn index_of(&self, k: usize) -> Vec<usize> {
        let mut rest = k;
        let mut idx = vec![0; self.axes.len()];
        for (slot, (_, values)) in idx.iter_mut().zip(&self.axes).rev() {
            *slot = rest % values.len();
            rest /= values.len();
        }
        idx
    }

    /// The parameter values at grid indices `idx`.
    pub fn point(&self, idx: &[usize]) -> BTreeMap<String, f64> {
        self.axes
            .iter()
            .zip(idx)
            .map(|((name, values), &i)| (name.clone(), values[i.min(values.len() - 1)]))
            .collect()
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
    if req.search.is_adaptive() {
        return super::search::optimize_adaptive(cols, ctx, req, &|_| {}, &AtomicBool::new(false));
    }
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
    let done = AtomicUsize::new(0);
    let blocks = pbo_blocks(combos.len());
    let mut cache = IndicatorCache::new();
    let rows = evaluate(
        cols,
        ctx,
        req,
        &combos,
        &mut cache,
        blocks,
        &Tally {
            done: &done,
            progress,
            cancel,
        },
    )?;
    Ok(finish(req, rows, cache.len()))
}

/// Where a search's runs report: how many finished, whom to tell, and the flag that stops them.
pub(crate) struct Tally<'a> {
    pub done: &'a AtomicUsize,
    pub progress: &'a (dyn Fn(usize) + Sync),
    pub cancel: &'a AtomicBool,
}

/// Backtests `combos` in parallel: rules are parsed for every combination, then each distinct
/// indicator call not in `cache` yet is computed once (also in parallel) before the runs.
pub(crate) fn evaluate(
    cols: &Columns<'_>,
    ctx: &MarketContext<'_>,
    req: &Request<'_>,
    combos: &[BTreeMap<String, f64>],
    cache: &mut IndicatorCache,
    blocks: usize,
    tally: &Tally<'_>,
) -> Result<Vec<Row>, OptimizeError> {
    let bound = combos
        .par_iter()
        .map(|m| req.strategy.bind(m))
        .collect::<Result<Vec<_>, _>>()?;
    cache.prepare_all(&bound, cols)?;
    let cache = &*cache;
    bound
        .par_iter()
        .zip(combos.par_iter())
        .map(|(b, m)| {
            if tally.cancel.load(Ordering::Relaxed) {
                return Err(OptimizeError::Cancelled);
            }
            let plan = b.plan_cached(cols, cache)?;
            let out = run(cols, &plan, &req.settings)?;
            let stats = compute_stats(&out.trades, &out.equity, ctx, plan.warmup);
            let summary = TrialSummary::from_equity(&out.equity, plan.warmup, blocks);
            let d = tally.done.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_multiple_of(64) {
                (tally.progress)(d);
            }
            Ok(Row {
                params: m.clone(),
                value: stats.get(&req.maximize).filter(|v| v.is_finite()),
                stats,
                summary: Some(summary),
            })
        })
        .collect()
}

/// The evaluated rows as an answer: heat map, then best first.
pub(crate) fn finish(req: &Request<'_>, mut rows: Vec<Row>, computations: usize) -> Optimum {
    let heatmap = heatmap(&rows, req.strategy);
    // Stable sort: ties keep search order, so the first best combination wins (as
    // backtesting.py's `optimize`).
    rows.sort_by(|a, b| match (a.value, b.value) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Optimum {
        maximize: req.maximize.clone(),
        rows,
        heatmap,
        indicator_computations: computations,
    }
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
