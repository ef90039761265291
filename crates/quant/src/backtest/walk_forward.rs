//! Walk-forward analysis: optimise on an in-sample window, run the winner on the out-of-sample
//! window that follows, roll forward. It must never let an out-of-sample bar inform a choice.

use std::sync::atomic::AtomicBool;

use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

use super::optimize::{OptimizeError, Request, optimize_combinations};
use super::strategy::IndicatorCache;
use super::{MarketContext, compute_stats, run};
use crate::indicators::Columns;

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
    let combos = if req.search.is_adaptive() {
        None
    } else {
        Some(req.combinations()?)
    };
    let never = AtomicBool::new(false);
    let slice = |a: usize, b: usize| cols.range(a, b);
    let mut out = Vec::with_capacity(folds);
    for k in 0..folds {
        let is = (k * test, k * test + train);
        let oos = (is.1, (is.1 + test).min(n));
        let is_cols = slice(is.0, is.1);
        let is_ctx = MarketContext::new(&is_cols);
        let opt = match &combos {
            Some(c) => optimize_combinations(&is_cols, &is_ctx, req, c.clone(), &|_| {})?,
            None => super::search::optimize_adaptive(&is_cols, &is_ctx, req, &|_| {}, &never)?,
        };
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
