//! Backtesting tools: `run_backtest`, `optimize_parameters`, `analyze_strategy`,
//! `generate_report` (the one that writes a file, into `<data-dir>/reports/`) and `get_job` —
//! thin handlers that
//! load bars through the market provider and hand them to `quantdesk_quant::backtest`.
//!
//! Nothing here computes a statistic or decides a fill: that is the quant crate's job. These
//! handlers must never block the async runtime with a long computation (runs go to
//! `spawn_blocking`), and never answer a long search synchronously past Claude Desktop's ~60 s
//! cut-off: a search estimated above [`JOB_AFTER_SECS`] becomes a job that `get_job` reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use quantdesk_domain::{BarSeries, Symbol, Timeframe};
use quantdesk_market::BarsRequest;
use quantdesk_quant::backtest::optimize::{
    self, Constraint, Heatmap, Request, Search, optimize_cancellable, optimize_combinations,
    walk_forward,
};
use quantdesk_quant::backtest::report::{ReportInput, markdown, render};
use quantdesk_quant::backtest::robustness::{Analysis, Robustness, analyze};
use quantdesk_quant::backtest::strategy::{EXAMPLES, GUIDE, Strategy, example};
use quantdesk_quant::backtest::{MarketContext, Settings, Stats, drawdown, run_strategy};
use quantdesk_quant::indicators::OwnedColumns;
use rmcp::model::{
    ProgressNotificationParam, ReadResourceResult, Resource, ResourceContents, Tool,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Ctx, Effect, define, run};
use crate::input::{ToolError, parse_time};

/// A search estimated to take longer than this runs as a job (Claude Desktop gives up on a call
/// after about 60 s; progress notifications do not extend that).
const JOB_AFTER_SECS: f64 = 20.0;
/// Conservative cost of one bar of one backtest, for that estimate (measured ~0.1 µs).
const SECS_PER_BAR: f64 = 0.5e-6;
/// Points kept of the equity curve in an answer: enough to see its shape, small for a chat.
const CURVE_POINTS: usize = 120;

pub fn tools() -> Vec<Tool> {
    vec![
        define::<RunBacktestParams, RunBacktestOut>(
            "run_backtest",
            "Backtest a strategy",
            "Backtest with backtesting.py's semantics (fill next open). strategy: {params:{n:10}, long:{entry:\"sma($n) crosses_above sma(20)\", exit}, short:{entry,exit}, sizing:{fraction|quantity|cash|volatility_target}, stops:{stop_loss|take_profit|trailing_stop:{percent:5}|{atr:2,period:14}}}; rules use screen_stocks expressions. Or an example: sma_cross, rsi_mean_reversion, macd_trend, bollinger_breakout, donchian_breakout. Returns stats, trades, equity.",
            Effect::ReadOnly,
        ),
        define::<OptimizeParams, OptimizeOut>(
            "optimize_parameters",
            "Optimise strategy parameters",
            "Grid or random search over a strategy's params (their min/max/step, or ranges), optional constraint like \"fast < slow\", maximising any stat (default sharpe_ratio); optional walk-forward. Returns best params, top results, a 2-param heat map. Long searches return a job_id for get_job.",
            Effect::ReadOnly,
        ),
        define::<AnalyzeParams, AnalyzeOut>(
            "analyze_strategy",
            "Strategy robustness",
            "Backtest stats plus robustness: in-sample vs out-of-sample, Monte Carlo bootstrap of trade returns (final equity and drawdown percentiles), sensitivity of a stat to each param ±1 step, plain-language warnings. Same strategy/broker fields as run_backtest.",
            Effect::ReadOnly,
        ),
        define::<ReportParams, ReportOut>(
            "generate_report",
            "Backtest report (HTML)",
            "Write a self-contained HTML report (equity vs buy & hold, drawdown, trades on price, stats, trade list, 2-param heat map, robustness) to the QuantDesk reports folder; returns its path and a Markdown summary. Same strategy/broker fields as run_backtest.",
            Effect::WritesFile,
        ),
        define::<GetJobParams, JobOut>(
            "get_job",
            "Long-running job",
            "Progress and, when done, the result of a job started by optimize_parameters.",
            Effect::ReadOnly,
        ),
    ]
}

/// The strategy guide and worked examples as MCP resources (`quantdesk://strategies/...`).
pub fn resources() -> Vec<Resource> {
    let mut out = vec![{
        let mut r = Resource::new("quantdesk://strategies/guide", "strategy-language")
            .with_description("The JSON strategy language run_backtest accepts");
        r.mime_type = Some("text/markdown".into());
        r
    }];
    for (name, text) in EXAMPLES {
        let description = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["description"].as_str().map(str::to_string))
            .unwrap_or_default();
        let mut r = Resource::new(format!("quantdesk://strategies/{name}"), *name)
            .with_description(description);
        r.mime_type = Some("application/json".into());
        out.push(r);
    }
    out
}

/// A resource's contents, or `None` for an unknown URI.
pub fn read_resource(uri: &str) -> Option<ReadResourceResult> {
    let name = uri.strip_prefix("quantdesk://strategies/")?;
    let text = if name == "guide" {
        GUIDE
    } else {
        example(name)?
    };
    Some(ReadResourceResult::new(vec![ResourceContents::text(
        text, uri,
    )]))
}

pub async fn call(
    ctx: &Ctx,
    name: &str,
    args: Map<String, Value>,
) -> Option<Result<Value, ToolError>> {
    Some(match name {
        "run_backtest" => run(args, |p| run_backtest(ctx, p)).await,
        "optimize_parameters" => run(args, |p| optimize_parameters(ctx, p)).await,
        "analyze_strategy" => run(args, |p| analyze_strategy(ctx, p)).await,
        "generate_report" => run(args, |p| generate_report(ctx, p)).await,
        "get_job" => run(args, get_job).await,
        _ => return None,
    })
}

/// Broker settings a person may change; unset ones take backtesting.py's example settings.
#[derive(Debug, Deserialize, JsonSchema, Default)]
pub struct BrokerParams {
    /// Default 10000.
    pub cash: Option<f64>,
    /// Rate per fill, e.g. 0.002.
    pub commission: Option<f64>,
    pub commission_fixed: Option<f64>,
    /// Fraction of price.
    pub spread: Option<f64>,
    /// 1 = no leverage.
    pub margin: Option<f64>,
    /// Fill at the signal bar's close.
    pub trade_on_close: Option<bool>,
    /// Entries close open trades (default true).
    pub exclusive_orders: Option<bool>,
    pub fractional: Option<bool>,
}

impl BrokerParams {
    fn settings(&self) -> Settings {
        let d = Settings::default();
        Settings {
            cash: self.cash.unwrap_or(d.cash),
            commission_rate: self.commission.unwrap_or(d.commission_rate),
            commission_fixed: self.commission_fixed.unwrap_or(d.commission_fixed),
            spread: self.spread.unwrap_or(d.spread),
            margin: self.margin.unwrap_or(d.margin),
            trade_on_close: self.trade_on_close.unwrap_or(d.trade_on_close),
            exclusive_orders: self.exclusive_orders.unwrap_or(d.exclusive_orders),
            finalize_trades: true,
            fractional: self.fractional.unwrap_or(d.fractional),
        }
    }
}

/// What every backtesting tool is asked about: a strategy, the bars it runs on and the broker
/// it trades with.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Subject {
    /// JSON, or an example name.
    pub strategy: Value,
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// Bar length, default 1Day.
    pub timeframe: Option<Timeframe>,
    /// First bar, YYYY-MM-DD.
    pub start: Option<String>,
    /// Last bar, YYYY-MM-DD.
    pub end: Option<String>,
    #[serde(flatten)]
    pub broker: BrokerParams,
}

/// A [`Subject`] made ready to run: the parsed strategy, its bars and the broker settings.
struct Loaded {
    strategy: Strategy,
    series: BarSeries,
    settings: Settings,
}

impl Subject {
    async fn load(self, ctx: &Ctx) -> Result<Loaded, ToolError> {
        let strategy = strategy_from(&self.strategy)?;
        let series = bars(
            ctx,
            self.symbol,
            self.timeframe,
            self.start.as_deref(),
            self.end.as_deref(),
        )
        .await?;
        Ok(Loaded {
            strategy,
            series,
            settings: self.broker.settings(),
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunBacktestParams {
    #[serde(flatten)]
    pub subject: Subject,
    /// Override param defaults.
    pub params: Option<BTreeMap<String, f64>>,
    /// Trades listed, default 50.
    pub max_trades: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TradeOut {
    /// Units; negative for a short.
    pub size: f64,
    pub entry_time: DateTime<Utc>,
    pub exit_time: DateTime<Utc>,
    pub entry_price: f64,
    pub exit_price: f64,
    pub sl: Option<f64>,
    pub tp: Option<f64>,
    pub pnl: f64,
    pub commission: f64,
    /// Net return in percent.
    pub return_pct: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EquityPoint {
    pub time: DateTime<Utc>,
    pub equity: f64,
    pub drawdown_pct: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunBacktestOut {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub strategy: Option<String>,
    pub params: BTreeMap<String, f64>,
    pub bars: usize,
    /// First bar a decision could be made on (indicator warm-up).
    pub first_trading_time: Option<DateTime<Utc>>,
    pub stats: Stats,
    /// The most recent trades (all count in stats).
    pub trades: Vec<TradeOut>,
    pub trades_total: usize,
    /// Equity and drawdown, downsampled.
    pub equity_curve: Vec<EquityPoint>,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

/// Reads the `strategy` argument: a JSON object, JSON text, or a worked example's name.
pub(crate) fn strategy_from(v: &Value) -> Result<Strategy, ToolError> {
    if let Value::String(s) = v
        && !s.trim_start().starts_with('{')
    {
        let text = example(s.trim()).ok_or_else(|| {
            ToolError(format!(
                "invalid 'strategy': give a JSON strategy or one of the examples: {}",
                EXAMPLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let parsed: Value = serde_json::from_str(text)
            .map_err(|e| ToolError(format!("example {s} is broken: {e}")))?;
        return Strategy::from_json(&parsed).map_err(|e| ToolError(format!("invalid {e}")));
    }
    Strategy::from_json(v).map_err(|e| ToolError(format!("invalid {e}")))
}

/// The bars from `start` to `end` (a backtest sees only these, as backtesting.py sees its
/// DataFrame).
pub(crate) async fn bars(
    ctx: &Ctx,
    symbol: Symbol,
    timeframe: Option<Timeframe>,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<BarSeries, ToolError> {
    let start = start.map(|s| parse_time("start", s, false)).transpose()?;
    let end = end.map(|s| parse_time("end", s, true)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ToolError(format!("start {s} is after end {e}")));
    }
    let mut request = BarsRequest::new(symbol, timeframe.unwrap_or(Timeframe::DAY));
    request.start = start;
    request.end = end;
    let mut series = ctx.market.bars(&request).await?;
    if let Some(s) = start {
        series.bars.retain(|b| b.time >= s);
    }
    if series.bars.len() < 3 {
        return Err(ToolError(format!(
            "only {} {} bars in that range; a backtest needs more",
            series.bars.len(),
            series.symbol
        )));
    }
    Ok(series)
}

fn time_of(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

async fn run_backtest(ctx: &Ctx, p: RunBacktestParams) -> Result<RunBacktestOut, ToolError> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(ctx).await?;
    let values = p.params.unwrap_or_default();
    let cols = OwnedColumns::from_bars(&series.bars);
    let (out, cols) = tokio::task::spawn_blocking(move || {
        let out = run_strategy(&strategy, &values, &cols.view(), &settings);
        (out.map(|o| (o, strategy.name.clone())), cols)
    })
    .await
    .map_err(|e| ToolError(format!("the backtest stopped: {e}")))?;
    let (out, name) = out.map_err(|e| ToolError(e.to_string()))?;
    let time = &cols.time;
    let shown = p.max_trades.unwrap_or(50) as usize;
    let trades = out.trades[out.trades.len().saturating_sub(shown)..]
        .iter()
        .map(|t| TradeOut {
            size: t.size,
            entry_time: time_of(time[t.entry_bar]),
            exit_time: time_of(time[t.exit_bar]),
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            sl: t.sl,
            tp: t.tp,
            pnl: t.pnl,
            commission: t.commission,
            return_pct: t.return_pct * 100.0,
        })
        .collect();
    let dd = drawdown(&out.equity);
    let step = out.equity.len().div_ceil(CURVE_POINTS).max(1);
    let mut equity_curve: Vec<EquityPoint> = (0..out.equity.len())
        .step_by(step)
        .chain(std::iter::once(out.equity.len() - 1))
        .map(|i| EquityPoint {
            time: time_of(time[i]),
            equity: out.equity[i],
            drawdown_pct: -dd[i] * 100.0,
        })
        .collect();
    equity_curve.dedup_by_key(|p| p.time);
    Ok(RunBacktestOut {
        symbol: series.symbol,
        timeframe: series.timeframe,
        strategy: name,
        params: out.params,
        bars: cols.time.len(),
        first_trading_time: time.get(out.warmup + 1).map(|&t| time_of(t)),
        trades_total: out.trades.len(),
        stats: out.stats,
        trades,
        equity_curve,
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}

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
    /// "grid" (default) or "random".
    pub method: Option<String>,
    /// For random, default 100.
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
    pub combinations: usize,
    pub best_params: Option<BTreeMap<String, f64>>,
    pub best_value: Option<f64>,
    pub best_stats: Option<Stats>,
    /// Best first.
    pub results: Vec<ResultRow>,
    pub heatmap: Option<Heatmap>,
    pub walk_forward: Vec<FoldOut>,
    pub source: String,
    pub as_of: Option<DateTime<Utc>>,
}

fn values_of(name: &str, v: &Value) -> Result<Vec<f64>, ToolError> {
    let bad = || {
        ToolError(format!(
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
                return Err(ToolError(format!(
                    "'ranges.{name}' has {count} values; too many"
                )));
            }
            Ok((0..count).map(|k| lo + step * k as f64).collect())
        }
        Value::String(s) => values_of(name, &serde_json::from_str(s).map_err(|_| bad())?),
        _ => Err(bad()),
    }
}

async fn optimize_parameters(ctx: &Ctx, p: OptimizeParams) -> Result<OptimizeOut, ToolError> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(ctx).await?;
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
        .map_err(|e| ToolError(e.to_string()))?;
    let search = match p.method.as_deref().map(str::trim) {
        None | Some("grid") => Search::Grid,
        Some("random") => Search::Random {
            samples: p.samples.unwrap_or(100) as usize,
            seed: p.seed.unwrap_or(1),
        },
        Some(other) => {
            return Err(ToolError(format!(
                "invalid 'method': '{other}'; use grid or random"
            )));
        }
    };
    let maximize = p.maximize.unwrap_or_else(|| "sharpe_ratio".into());
    let folds = p.walk_forward_folds.unwrap_or(0) as usize;
    let top = p.top.unwrap_or(20) as usize;
    let combos = Request {
        strategy: &strategy,
        ranges: ranges.clone(),
        constraint: constraint.clone(),
        maximize: maximize.clone(),
        search,
        settings,
    }
    .combinations()
    .map_err(|e| ToolError(e.to_string()))?;
    let cols = OwnedColumns::from_bars(&series.bars);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let work = combos.len() as f64 * cols.time.len() as f64 * (1.0 + folds as f64);
    let estimate = work * SECS_PER_BAR / cores;
    let (source, as_of) = (series.provenance.source, series.provenance.as_of);
    let total = combos.len() * (1 + folds);
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cancel_flag = cancel.clone();
    let job = move |progress: &AtomicUsize| -> Result<OptimizeOut, ToolError> {
        let req = Request {
            strategy: &strategy,
            ranges,
            constraint,
            maximize,
            search,
            settings,
        };
        let view = cols.view();
        let ctx = MarketContext::new(&view);
        let n = combos.len();
        let opt = optimize_cancellable(
            &view,
            &ctx,
            &req,
            combos,
            &|d| progress.store(d, Ordering::Relaxed),
            &cancel_flag,
        )
        .map_err(|e| ToolError(e.to_string()))?;
        progress.store(n, Ordering::Relaxed);
        let wf = if folds > 0 {
            walk_forward(&view, &req, folds, 2.0).map_err(|e| ToolError(e.to_string()))?
        } else {
            Vec::new()
        };
        progress.store(n * (1 + folds), Ordering::Relaxed);
        let t = |i: usize| time_of(view.time[i.min(view.time.len() - 1)]);
        let best = opt.best().cloned();
        Ok(OptimizeOut {
            job_id: None,
            maximize: opt.maximize.clone(),
            combinations: opt.rows.len(),
            best_params: best.as_ref().map(|b| b.params.clone()),
            best_value: best.as_ref().and_then(|b| b.value),
            best_stats: best.map(|b| b.stats),
            results: opt
                .rows
                .iter()
                .take(top)
                .map(|r| ResultRow {
                    params: r.params.clone(),
                    value: r.value,
                    return_pct: r.stats.return_pct,
                    sharpe_ratio: r.stats.sharpe_ratio,
                    max_drawdown_pct: r.stats.max_drawdown_pct,
                    trades: r.stats.trades,
                })
                .collect(),
            heatmap: opt.heatmap,
            walk_forward: wf
                .into_iter()
                .map(|f| FoldOut {
                    in_sample: (t(f.in_sample.0), t(f.in_sample.1 - 1)),
                    out_of_sample: (t(f.out_of_sample.0), t(f.out_of_sample.1 - 1)),
                    params: f.params,
                    in_sample_value: f.in_sample_value,
                    out_of_sample_value: f.out_of_sample_value,
                    out_of_sample_return_pct: f.out_of_sample_return_pct,
                })
                .collect(),
            source: source.clone(),
            as_of: Some(as_of),
        })
    };
    if p.background.unwrap_or(false) || estimate > JOB_AFTER_SECS {
        let id = jobs::start("optimize_parameters", total, move |progress| {
            job(progress).and_then(|out| {
                serde_json::to_value(out).map_err(|e| ToolError(format!("encoding: {e}")))
            })
        });
        return Ok(OptimizeOut {
            job_id: Some(id),
            maximize: String::new(),
            combinations: total,
            source: String::new(),
            ..OptimizeOut::default()
        });
    }
    // Synchronous search: progress notifications every quarter second while it runs (they do
    // not extend Claude Desktop's time limit; the job path above handles long searches).
    let progress = Arc::new(AtomicUsize::new(0));
    let counter = progress.clone();
    let mut handle = tokio::task::spawn_blocking(move || job(&counter));
    notify(ctx, 0, total).await;
    let cancelled = async {
        match &ctx.cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(cancelled);
    let result = loop {
        tokio::select! {
            r = &mut handle => break r,
            // The client gave up: stop the remaining runs and say so.
            () = &mut cancelled => {
                cancel.store(true, Ordering::Relaxed);
                let _ = handle.await;
                return Err(ToolError::new("cancelled by the client"));
            }
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                notify(ctx, progress.load(Ordering::Relaxed), total).await;
            }
        }
    };
    let out = result.map_err(|e| ToolError(format!("the search stopped: {e}")))??;
    notify(ctx, total, total).await;
    Ok(out)
}

/// A progress notification, if the client asked for them (a progress token on the call).
async fn notify(ctx: &Ctx, done: usize, total: usize) {
    if let Some(p) = &ctx.progress {
        let mut n = ProgressNotificationParam::new(p.token.clone(), done as f64);
        n.total = Some(total as f64);
        n.message = Some(format!("{done} of {total} backtests"));
        if let Err(err) = p.peer.notify_progress(n).await {
            tracing::debug!(%err, "progress notification not delivered");
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AnalyzeParams {
    #[serde(flatten)]
    pub subject: Subject,
    /// Override param defaults.
    pub params: Option<BTreeMap<String, f64>>,
    /// Share of bars in-sample, default 0.7.
    pub in_sample_share: Option<f64>,
    /// Default 1000.
    pub monte_carlo_runs: Option<u32>,
    pub seed: Option<u64>,
    /// Stat for sensitivity, default sharpe_ratio.
    pub metric: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AnalyzeOut {
    pub symbol: Symbol,
    pub strategy: Option<String>,
    pub params: BTreeMap<String, f64>,
    pub stats: Stats,
    pub robustness: Robustness,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

async fn analyze_strategy(ctx: &Ctx, p: AnalyzeParams) -> Result<AnalyzeOut, ToolError> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(ctx).await?;
    let metric = p.metric.unwrap_or_else(|| "sharpe_ratio".into());
    if !Stats::KEYS.contains(&metric.as_str()) {
        return Err(ToolError(format!(
            "invalid 'metric': '{metric}'; use one of {}",
            Stats::KEYS.join(", ")
        )));
    }
    let values = p.params.unwrap_or_default();
    let runs = p.monte_carlo_runs.unwrap_or(1000).min(100_000) as usize;
    let share = p.in_sample_share.unwrap_or(0.7);
    let seed = p.seed.unwrap_or(1);
    let cols = OwnedColumns::from_bars(&series.bars);
    let (full, robustness) = tokio::task::spawn_blocking(move || {
        let a = Analysis {
            strategy: &strategy,
            values,
            settings,
            in_sample_share: share,
            monte_carlo_runs: runs,
            seed,
            metric,
        };
        analyze(&cols.view(), &a).map(|(o, r)| ((o, strategy.name.clone()), r))
    })
    .await
    .map_err(|e| ToolError(format!("the analysis stopped: {e}")))?
    .map_err(|e| ToolError(e.to_string()))?;
    let ((outcome, name), robustness) = (full, robustness);
    Ok(AnalyzeOut {
        symbol: series.symbol,
        strategy: name,
        params: outcome.params,
        stats: outcome.stats,
        robustness,
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportParams {
    #[serde(flatten)]
    pub subject: Subject,
    /// Override param defaults.
    pub params: Option<BTreeMap<String, f64>>,
    /// Heat map over the strategy's param ranges (default true when it has two).
    pub heatmap: Option<bool>,
    /// For the heat map, e.g. "fast < slow".
    pub constraint: Option<String>,
    /// Heat-map stat, default sharpe_ratio.
    pub maximize: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportOut {
    /// The HTML file.
    pub path: String,
    pub markdown: String,
    pub return_pct: f64,
    pub trades: usize,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

async fn generate_report(ctx: &Ctx, p: ReportParams) -> Result<ReportOut, ToolError> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(ctx).await?;
    let ranged = strategy
        .params
        .iter()
        .filter(|q| q.min.is_some() && q.max.is_some())
        .count();
    let want_heat = p.heatmap.unwrap_or(ranged >= 2);
    let constraint = p
        .constraint
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Constraint::parse(c, &strategy))
        .transpose()
        .map_err(|e| ToolError(e.to_string()))?;
    let maximize = p.maximize.unwrap_or_else(|| "sharpe_ratio".into());
    let values = p.params.unwrap_or_default();
    let dir = ctx
        .store
        .path()
        .parent()
        .map(|d| d.join("reports"))
        .ok_or_else(|| ToolError::new("the data folder is unknown"))?;
    let symbol = series.symbol.to_string();
    let provenance = format!(
        "{} data, as of {}",
        series.provenance.source,
        series.provenance.as_of.format("%Y-%m-%d %H:%M UTC")
    );
    let now = Utc::now();
    let cols = OwnedColumns::from_bars(&series.bars);
    let (path, md, ret, trades) = tokio::task::spawn_blocking(move || {
        let view = cols.view();
        let a = Analysis {
            strategy: &strategy,
            values,
            settings,
            in_sample_share: 0.7,
            monte_carlo_runs: 1000,
            seed: 1,
            metric: maximize.clone(),
        };
        let (outcome, robustness) = analyze(&view, &a).map_err(|e| ToolError(e.to_string()))?;
        let heatmap = if want_heat {
            let req = Request {
                strategy: &strategy,
                ranges: BTreeMap::new(),
                constraint,
                maximize,
                search: Search::Grid,
                settings,
            };
            let ctx = MarketContext::new(&view);
            req.combinations()
                .and_then(|c| optimize_combinations(&view, &ctx, &req, c, &|_| {}))
                .map_err(|e| ToolError(e.to_string()))?
                .heatmap
        } else {
            None
        };
        let name = strategy.name.clone().unwrap_or_else(|| "Strategy".into());
        let generated = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let input = ReportInput {
            symbol: &symbol,
            strategy_name: &name,
            params: &outcome.params,
            settings: &settings,
            cols: &view,
            outcome: &outcome,
            heatmap: heatmap.as_ref(),
            robustness: Some(&robustness),
            provenance: &provenance,
            generated: &generated,
        };
        let html = render(&input);
        let md = markdown(&input);
        let slug: String = format!("{symbol}-{name}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        quantdesk_store::private::create_private_dir(&dir)
            .map_err(|e| ToolError(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!(
            "{slug}-{}-{}.html",
            now.format("%Y%m%d-%H%M%S"),
            std::process::id()
        ));
        quantdesk_store::private::create_private_file(&path)
            .and_then(|()| std::fs::write(&path, html))
            .map_err(|e| ToolError(format!("cannot write {}: {e}", path.display())))?;
        Ok::<_, ToolError>((path, md, outcome.stats.return_pct, outcome.stats.trades))
    })
    .await
    .map_err(|e| ToolError(format!("the report stopped: {e}")))??;
    Ok(ReportOut {
        path: path.display().to_string(),
        markdown: md,
        return_pct: ret,
        trades,
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetJobParams {
    /// The job_id a tool returned.
    pub job_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JobOut {
    pub job_id: String,
    pub tool: String,
    /// running, done, failed or lost.
    pub status: String,
    pub done: usize,
    pub total: usize,
    pub started: Option<DateTime<Utc>>,
    /// The tool's answer, when done.
    pub result: Option<Value>,
    pub error: Option<String>,
}

async fn get_job(p: GetJobParams) -> Result<JobOut, ToolError> {
    jobs::get(p.job_id.trim())
}

/// Jobs live in this sidecar's memory only: they need nothing more, and a job whose sidecar is
/// gone says so instead of pretending.
mod jobs {
    use super::*;

    enum State {
        Running,
        Done(Value),
        Failed(String),
    }

    struct Job {
        tool: &'static str,
        started: DateTime<Utc>,
        total: usize,
        progress: Arc<AtomicUsize>,
        state: Arc<Mutex<State>>,
    }

    static JOBS: LazyLock<Mutex<HashMap<String, Job>>> = LazyLock::new(Default::default);
    static NEXT: AtomicUsize = AtomicUsize::new(1);

    pub fn start(
        tool: &'static str,
        total: usize,
        work: impl FnOnce(&AtomicUsize) -> Result<Value, ToolError> + Send + 'static,
    ) -> String {
        let id = format!(
            "job-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let progress = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(Mutex::new(State::Running));
        let job = Job {
            tool,
            started: Utc::now(),
            total,
            progress: progress.clone(),
            state: state.clone(),
        };
        if let Ok(mut jobs) = JOBS.lock() {
            jobs.insert(id.clone(), job);
        }
        tokio::task::spawn_blocking(move || {
            let result = work(&progress);
            if let Ok(mut s) = state.lock() {
                *s = match result {
                    Ok(v) => State::Done(v),
                    Err(e) => State::Failed(e.0),
                };
            }
        });
        id
    }

    pub fn get(id: &str) -> Result<JobOut, ToolError> {
        let jobs = JOBS
            .lock()
            .map_err(|_| ToolError::new("the job table is unavailable"))?;
        let Some(job) = jobs.get(id) else {
            let ours = format!("job-{}-", std::process::id());
            if id.starts_with("job-") && !id.starts_with(&ours) {
                return Ok(JobOut {
                    job_id: id.to_string(),
                    tool: String::new(),
                    status: "lost".into(),
                    done: 0,
                    total: 0,
                    started: None,
                    result: None,
                    error: Some(
                        "this job ran in a QuantDesk sidecar that has since stopped (or is another \
                         process); its result is lost — run the tool again"
                            .into(),
                    ),
                });
            }
            return Err(ToolError(format!("there is no job '{id}'")));
        };
        let (status, result, error) = match job.state.lock().as_deref() {
            Ok(State::Running) => ("running", None, None),
            Ok(State::Done(v)) => ("done", Some(v.clone()), None),
            Ok(State::Failed(e)) => ("failed", None, Some(e.clone())),
            Err(_) => ("failed", None, Some("the job crashed".to_string())),
        };
        let done = if status == "done" {
            job.total
        } else {
            job.progress.load(Ordering::Relaxed)
        };
        Ok(JobOut {
            job_id: id.to_string(),
            tool: job.tool.to_string(),
            status: status.into(),
            done,
            total: job.total,
            started: Some(job.started),
            result,
            error,
        })
    }
}
