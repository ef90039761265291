//! Parameter searches: `optimize_parameters` (grid, random, Bayesian or CMA-ES; constraint,
//! walk-forward). A
//! search estimated above [`JOB_AFTER_SECS`] runs as a background job in [`Jobs`] (Claude
//! Desktop gives up on a call after about 60 s); a shorter one answers directly, reporting
//! progress and stopping when the caller cancels.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use quantdesk_quant::backtest::optimize::{
    self, Constraint, Heatmap, Optimum, Request, Search, optimize_cancellable, walk_forward,
};
use quantdesk_quant::backtest::overfit::Report;
use quantdesk_quant::backtest::search::optimize_adaptive;
use quantdesk_quant::backtest::strategy::Strategy;
use quantdesk_quant::backtest::{MarketContext, Settings, Stats};
use quantdesk_quant::indicators::OwnedColumns;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Loaded, Subject, time_of};
use crate::jobs::Jobs;
use crate::{Error, MarketData};
use quantdesk_store::Store;

/// A search estimated to take longer than this runs as a job (Claude Desktop gives up on a call
/// after about 60 s; progress notifications do not extend that).
const JOB_AFTER_SECS: f64 = 20.0;
/// Conservative cost of one bar of one backtest, for that estimate (measured ~0.1 µs).
const SECS_PER_BAR: f64 = 0.5e-6;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct OptimizeParams {
    #[serde(flatten)]
    pub subject: Subject,
    /// Per param: list or {min,max,step}; default its own range.
    pub ranges: Option<BTreeMap<String, Value>>,
    /// Condition over param names, e.g. "fast < slow".
    pub constraint: Option<String>,
    /// Stat, default sharpe_ratio.
    pub maximize: Option<String>,
    /// "grid" (default), "random", "bayesian" (TPE) or "cmaes".
    pub method: Option<String>,
    /// Run budget: random default 100, bayesian/cmaes 200.
    pub samples: Option<u32>,
    pub seed: Option<u64>,
    /// Walk-forward folds.
    pub walk_forward_folds: Option<u32>,
    /// Rows returned, default 20.
    pub top: Option<u32>,
    /// Force a job.
    pub background: Option<bool>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResultRow {
    pub params: BTreeMap<String, f64>,
    pub value: Option<f64>,
    pub return_pct: f64,
    pub sharpe_ratio: Option<f64>,
    pub max_drawdown_pct: f64,
    pub trades: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FoldOut {
    pub in_sample: (DateTime<Utc>, DateTime<Utc>),
    pub out_of_sample: (DateTime<Utc>, DateTime<Utc>),
    pub params: BTreeMap<String, f64>,
    pub in_sample_value: Option<f64>,
    pub out_of_sample_value: Option<f64>,
    pub out_of_sample_return_pct: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, Default)]
pub struct OptimizeOut {
    /// Set when the search runs in the background: ask get_job.
    pub job_id: Option<String>,
    pub maximize: String,
    /// "grid", "random", "bayesian" or "cmaes".
    pub method: String,
    /// Grid: the combinations the constraint allows (all run); otherwise the grid's size the
    /// method samples from.
    pub combinations: usize,
    /// Backtests run (each distinct combination once).
    pub evaluations: usize,
    pub best_params: Option<BTreeMap<String, f64>>,
    pub best_value: Option<f64>,
    pub best_stats: Option<Stats>,
    /// Best first.
    pub results: Vec<ResultRow>,
    pub heatmap: Option<Heatmap>,
    pub walk_forward: Vec<FoldOut>,
    /// How likely the best combination is overfit, given every combination run.
    pub overfitting: Option<Report>,
    pub source: String,
    pub as_of: Option<DateTime<Utc>>,
}

fn values_of(name: &str, v: &Value) -> Result<Vec<f64>, Error> {
    let bad = || {
        Error::Invalid(format!(
            "invalid 'ranges.{name}': expected a list of numbers or {{min, max, step}}"
        ))
    };
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_f64()
                    .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(bad),
        Value::Object(o) => {
            let get = |k: &str| o.get(k).and_then(Value::as_f64);
            let (Some(lo), Some(hi)) = (get("min"), get("max")) else {
                return Err(bad());
            };
            let step = get("step").unwrap_or(1.0);
            if step <= 0.0 || hi < lo {
                return Err(bad());
            }
            let count = ((hi - lo) / step + 1e-9).floor() as usize + 1;
            if count > optimize::MAX_COMBINATIONS {
                return Err(Error::Invalid(format!(
                    "'ranges.{name}' has {count} values; too many"
                )));
            }
            Ok((0..count).map(|k| lo + step * k as f64).collect())
        }
        Value::String(s) => values_of(name, &serde_json::from_str(s).map_err(|_| bad())?),
        _ => Err(bad()),
    }
}

/// Where a direct (not background) search reports how far it is, e.g. MCP progress
/// notifications.
pub trait Progress: Send + Sync {
    fn report(&self, done: usize, total: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// What a direct search watches while it runs: whom to tell its progress and the token that
/// cancels it.
#[derive(Default)]
pub struct Watch<'a> {
    pub progress: Option<&'a dyn Progress>,
    pub cancel: Option<CancellationToken>,
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Runs the search `p` asks for: in the background (its `job_id` in the answer) when asked to
/// or when it would take longer than [`JOB_AFTER_SECS`], otherwise directly.
pub async fn optimize_parameters(
    market: &dyn MarketData,
    store: &Store,
    jobs: &Jobs,
    watch: Watch<'_>,
    p: OptimizeParams,
) -> Result<OptimizeOut, Error> {
    let background = p.background.unwrap_or(false);
    let plan = Plan::new(market, store, p).await?;
    let total = plan.total();
    if background || plan.estimate_secs() > JOB_AFTER_SECS {
        let (method, combinations, evaluations) = (plan.method.clone(), plan.space_size, plan.runs);
        let id = jobs.start("optimize_parameters", total, move |progress| {
            let out = plan.run(progress, &AtomicBool::new(false))?;
            serde_json::to_value(out).map_err(|e| Error::Failed(format!("encoding: {e}")))
        })?;
        return Ok(OptimizeOut {
            job_id: Some(id),
            method,
            combinations,
            evaluations,
            ..OptimizeOut::default()
        });
    }
    run_watched(plan, watch).await
}

/// A search ready to run: its request parts, the bars and what to return.
#[derive(Debug)]
struct Plan {
    strategy: Strategy,
    ranges: BTreeMap<String, Vec<f64>>,
    constraint: Option<Constraint>,
    maximize: String,
    search: Search,
    settings: Settings,
    combos: Vec<BTreeMap<String, f64>>,
    method: String,
    /// Grid: the allowed combinations; otherwise the grid's size.
    space_size: usize,
    /// Backtests the search runs (before walk-forward).
    runs: usize,
    cols: OwnedColumns,
    folds: usize,
    top: usize,
    source: String,
    as_of: DateTime<Utc>,
}

impl Plan {
    async fn new(market: &dyn MarketData, store: &Store, p: OptimizeParams) -> Result<Self, Error> {
        let Loaded {
            strategy,
            series,
            settings,
        } = p.subject.load(market, store).await?;
        let mut ranges = BTreeMap::new();
        for (k, v) in p.ranges.unwrap_or_default() {
            ranges.insert(k.clone(), values_of(&k, &v)?);
        }
        let constraint = p
            .constraint
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(|c| Constraint::parse(c, &strategy))
            .transpose()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let (method, search) = search_of(p.method.as_deref(), p.samples, p.seed)?;
        let mut plan = Plan {
            strategy,
            ranges,
            constraint,
            maximize: p.maximize.unwrap_or_else(|| "sharpe_ratio".into()),
            search,
            settings,
            combos: Vec::new(),
            method,
            space_size: 0,
            runs: 0,
            cols: OwnedColumns::from_bars(&series.bars),
            folds: p.walk_forward_folds.unwrap_or(0) as usize,
            top: p.top.unwrap_or(20) as usize,
            source: series.provenance.source,
            as_of: series.provenance.as_of,
        };
        let invalid = |e: optimize::OptimizeError| Error::Invalid(e.to_string());
        let space = plan.request().space().map_err(invalid)?.size();
        match plan.search {
            Search::Bayesian { samples, .. } | Search::Cmaes { samples, .. } => {
                plan.space_size = space;
                plan.runs = samples.min(space).min(optimize::MAX_COMBINATIONS);
            }
            Search::Grid | Search::Random { .. } => {
                plan.combos = plan.request().combinations().map_err(invalid)?;
                plan.runs = plan.combos.len();
                plan.space_size = match plan.search {
                    Search::Grid => plan.runs,
                    _ => space,
                };
            }
        }
        Ok(plan)
    }

    fn request(&self) -> Request<'_> {
        Request {
            strategy: &self.strategy,
            ranges: self.ranges.clone(),
            constraint: self.constraint.clone(),
            maximize: self.maximize.clone(),
            search: self.search,
            settings: self.settings,
        }
    }

    /// Backtests to run: each combination, and again per walk-forward fold.
    fn total(&self) -> usize {
        self.runs * (1 + self.folds)
    }

    fn estimate_secs(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let work = self.runs as f64 * self.cols.time.len() as f64 * (1.0 + self.folds as f64);
        work * SECS_PER_BAR / cores
    }

    /// Runs the search, counting finished backtests in `progress`; stops when `cancel` is set.
    fn run(mut self, progress: &AtomicUsize, cancel: &AtomicBool) -> Result<OptimizeOut, Error> {
        let combos = std::mem::take(&mut self.combos);
        let n = self.runs;
        let req = self.request();
        let view = self.cols.view();
        let ctx = MarketContext::new(&view);
        let report = |d| progress.store(d, Ordering::Relaxed);
        let opt = if req.search.is_adaptive() {
            optimize_adaptive(&view, &ctx, &req, &report, cancel)
        } else {
            optimize_cancellable(&view, &ctx, &req, combos, &report, cancel)
        }
        .map_err(|e| {
            Error::Invalid(match e {
                optimize::OptimizeError::Cancelled => return Error::Cancelled,
                e => e.to_string(),
            })
        })?;
        progress.store(n, Ordering::Relaxed);
        let folds = if self.folds > 0 {
            walk_forward(&view, &req, self.folds, 2.0).map_err(|e| Error::Invalid(e.to_string()))?
        } else {
            Vec::new()
        };
        progress.store(n * (1 + self.folds), Ordering::Relaxed);
        let t = |i: usize| time_of(view.time[i.min(view.time.len() - 1)]);
        let walk_forward = folds
            .into_iter()
            .map(|f| FoldOut {
                in_sample: (t(f.in_sample.0), t(f.in_sample.1 - 1)),
                out_of_sample: (t(f.out_of_sample.0), t(f.out_of_sample.1 - 1)),
                params: f.params,
                in_sample_value: f.in_sample_value,
                out_of_sample_value: f.out_of_sample_value,
                out_of_sample_return_pct: f.out_of_sample_return_pct,
            })
            .collect();
        Ok(shape(opt, walk_forward, &self))
    }
}

fn search_of(
    method: Option<&str>,
    samples: Option<u32>,
    seed: Option<u64>,
) -> Result<(String, Search), Error> {
    let seed = seed.unwrap_or(1);
    let budget = |default: u32| -> Result<usize, Error> {
        match samples.unwrap_or(default) {
            0 => Err(Error::Invalid(
                "invalid 'samples': must be at least 1".into(),
            )),
            n => Ok(n as usize),
        }
    };
    let method = method.map(|m| m.trim().to_ascii_lowercase());
    let search = match method.as_deref() {
        None | Some("grid") => Search::Grid,
        Some("random") => Search::Random {
            samples: budget(100)?,
            seed,
        },
        Some("bayesian") | Some("tpe") => Search::Bayesian {
            samples: budget(200)?,
            seed,
        },
        Some("cmaes") | Some("cma-es") => Search::Cmaes {
            samples: budget(200)?,
            seed,
        },
        Some(other) => {
            return Err(Error::Invalid(format!(
                "invalid 'method': '{other}'; use grid, random, bayesian or cmaes"
            )));
        }
    };
    let name = match search {
        Search::Grid => "grid",
        Search::Random { .. } => "random",
        Search::Bayesian { .. } => "bayesian",
        Search::Cmaes { .. } => "cmaes",
    };
    Ok((name.to_string(), search))
}

/// The answer from a finished search of `plan`: the best row, the top rows, heat map and folds.
fn shape(opt: Optimum, walk_forward: Vec<FoldOut>, plan: &Plan) -> OptimizeOut {
    let best = opt.best().cloned();
    let overfitting = best.is_some().then(|| Report::from(opt.overfitting()));
    let results = opt
        .rows
        .iter()
        .take(plan.top)
        .map(|r| ResultRow {
            params: r.params.clone(),
            value: r.value,
            return_pct: r.stats.return_pct,
            sharpe_ratio: r.stats.sharpe_ratio,
            max_drawdown_pct: r.stats.max_drawdown_pct,
            trades: r.stats.trades,
        })
        .collect();
    OptimizeOut {
        job_id: None,
        maximize: opt.maximize.clone(),
        method: plan.method.clone(),
        combinations: plan.space_size,
        evaluations: opt.rows.len(),
        best_params: best.as_ref().map(|b| b.params.clone()),
        best_value: best.as_ref().and_then(|b| b.value),
        best_stats: best.map(|b| b.stats),
        results,
        heatmap: opt.heatmap,
        walk_forward,
        overfitting,
        source: plan.source.clone(),
        as_of: Some(plan.as_of),
    }
}

/// A direct search: progress every quarter second while it runs (it does not extend Claude
/// Desktop's time limit; long searches are jobs) and a stop when the caller cancels.
async fn run_watched(plan: Plan, watch: Watch<'_>) -> Result<OptimizeOut, Error> {
    let total = plan.total();
    let progress = Arc::new(AtomicUsize::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let (counter, flag) = (progress.clone(), cancel.clone());
    let mut handle = tokio::task::spawn_blocking(move || plan.run(&counter, &flag));
    let notify = |done| async move {
        if let Some(p) = watch.progress {
            p.report(done, total).await;
        }
    };
    notify(0).await;
    let cancelled = async {
        match &watch.cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(cancelled);
    let result = loop {
        tokio::select! {
            r = &mut handle => break r,
            () = &mut cancelled => {
                cancel.store(true, Ordering::Relaxed);
                let _ = handle.await;
                return Err(Error::Cancelled);
            }
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                notify(progress.load(Ordering::Relaxed)).await;
            }
        }
    };
    let out = result.map_err(|e| Error::Failed(format!("the search stopped: {e}")))??;
    notify(total).await;
    Ok(out)
}
