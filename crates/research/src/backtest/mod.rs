//! Backtests: `run_backtest` and `analyze_strategy` here, parameter searches in [`optimize`],
//! HTML reports in [`report`]. Each loads its bars through the market provider and hands them
//! to `quantdesk_quant::backtest`; nothing here computes a statistic or decides a fill.

pub mod optimize;
pub mod report;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quantdesk_domain::{BarSeries, Symbol, Timeframe, untrusted};
use quantdesk_market::BarsRequest;
use quantdesk_quant::backtest::robustness::{Analysis, Robustness, analyze};
use quantdesk_quant::backtest::strategy::{EXAMPLES, Strategy, example};
use quantdesk_quant::backtest::{Settings, Stats, drawdown, run_strategy};
use quantdesk_quant::indicators::OwnedColumns;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use optimize::{OptimizeOut, OptimizeParams, optimize_parameters};
pub use report::{ReportOut, ReportParams, generate_report};

use crate::{Error, MarketData, blocking, parse_time};
use quantdesk_store::Store;

/// Points kept of the equity curve in an answer: enough to see its shape, small for a chat.
const CURVE_POINTS: usize = 120;

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
    /// Bar length (1Min..1Month), default 1Day.
    pub timeframe: Option<Timeframe>,
    /// First bar, YYYY-MM-DD.
    pub start: Option<String>,
    /// Last bar, YYYY-MM-DD.
    pub end: Option<String>,
    #[serde(flatten)]
    pub broker: BrokerParams,
}

/// A [`Subject`] made ready to run: the parsed strategy, its bars and the broker settings.
pub(crate) struct Loaded {
    pub(crate) strategy: Strategy,
    pub(crate) series: BarSeries,
    pub(crate) settings: Settings,
}

impl Subject {
    /// The strategy, its bars and settings; each `model("id")` the strategy reads is loaded from
    /// `store` and predicted walk-forward over these bars.
    pub(crate) async fn load(
        self,
        market: &dyn MarketData,
        store: &Store,
    ) -> Result<Loaded, Error> {
        let mut strategy = strategy_from(&self.strategy)?;
        let series = bars(
            market,
            self.symbol,
            self.timeframe,
            self.start.as_deref(),
            self.end.as_deref(),
        )
        .await?;
        crate::ml::attach_models(store, &mut strategy, &series.bars).await?;
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
    /// The strategy's name, in the untrusted envelope (anyone may have written it).
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
pub(crate) fn strategy_from(v: &Value) -> Result<Strategy, Error> {
    if let Value::String(s) = v
        && !s.trim_start().starts_with('{')
    {
        let text = example(s.trim()).ok_or_else(|| {
            Error::Invalid(format!(
                "invalid 'strategy': give a JSON strategy or one of the examples: {}",
                EXAMPLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let parsed: Value = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("example {s} is broken: {e}")))?;
        return Strategy::from_json(&parsed).map_err(|e| Error::Invalid(format!("invalid {e}")));
    }
    Strategy::from_json(v).map_err(|e| Error::Invalid(format!("invalid {e}")))
}

/// The bars from `start` to `end` (a backtest sees only these, as backtesting.py sees its
/// DataFrame).
pub(crate) async fn bars(
    market: &dyn MarketData,
    symbol: Symbol,
    timeframe: Option<Timeframe>,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<BarSeries, Error> {
    let start = start.map(|s| parse_time("start", s, false)).transpose()?;
    let end = end.map(|s| parse_time("end", s, true)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(Error::Invalid(format!("start {s} is after end {e}")));
    }
    let mut request = BarsRequest::new(symbol, timeframe.unwrap_or(Timeframe::DAY));
    request.start = start;
    request.end = end;
    let mut series = market.bars(&request).await?;
    if let Some(s) = start {
        series.bars.retain(|b| b.time >= s);
    }
    if series.bars.len() < 3 {
        return Err(Error::Invalid(format!(
            "only {} {} bars in that range; a backtest needs more",
            series.bars.len(),
            series.symbol
        )));
    }
    Ok(series)
}

pub(crate) fn time_of(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

pub async fn run_backtest(
    market: &dyn MarketData,
    store: &Store,
    p: RunBacktestParams,
) -> Result<RunBacktestOut, Error> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(market, store).await?;
    let values = p.params.unwrap_or_default();
    let cols = OwnedColumns::from_bars(&series.bars);
    let (out, cols) = blocking("backtest", move || {
        let out = run_strategy(&strategy, &values, &cols.view(), &settings);
        (out.map(|o| (o, strategy.name.clone())), cols)
    })
    .await?;
    let (out, name) = out.map_err(|e| Error::Invalid(e.to_string()))?;
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
        strategy: name.map(|n| untrusted::envelope("strategy", &n)),
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
    /// The strategy's name, in the untrusted envelope (anyone may have written it).
    pub strategy: Option<String>,
    pub params: BTreeMap<String, f64>,
    pub stats: Stats,
    pub robustness: Robustness,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

pub async fn analyze_strategy(
    market: &dyn MarketData,
    store: &Store,
    p: AnalyzeParams,
) -> Result<AnalyzeOut, Error> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(market, store).await?;
    let metric = p.metric.unwrap_or_else(|| "sharpe_ratio".into());
    if !Stats::KEYS.contains(&metric.as_str()) {
        return Err(Error::Invalid(format!(
            "invalid 'metric': '{metric}'; use one of {}",
            Stats::KEYS.join(", ")
        )));
    }
    let values = p.params.unwrap_or_default();
    let runs = p.monte_carlo_runs.unwrap_or(1000).min(100_000) as usize;
    let share = p.in_sample_share.unwrap_or(0.7);
    let seed = p.seed.unwrap_or(1);
    let cols = OwnedColumns::from_bars(&series.bars);
    let (full, robustness) = blocking("analysis", move || {
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
    .await?
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let ((outcome, name), robustness) = (full, robustness);
    Ok(AnalyzeOut {
        symbol: series.symbol,
        strategy: name.map(|n| untrusted::envelope("strategy", &n)),
        params: outcome.params,
        stats: outcome.stats,
        robustness,
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}
