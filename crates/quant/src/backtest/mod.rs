//! Backtesting: a bar-by-bar engine with backtesting.py 0.6.6's execution semantics (orders
//! decided on bar i fill at bar i+1's open, or at bar i's close with `trade_on_close`), its
//! statistics, the strategy language Claude writes, and the optimiser.
//!
//! The contract between the strategy language and the engine is [`Plan`]: per-bar entry and exit
//! signals computed from data up to and including that bar (never later), plus sizing and stop
//! rules. The engine owns every execution detail (fills, commission, stops, equity); the language
//! owns only "what would I like to do at the end of this bar".
//!
//! This module must never do I/O or read the clock, and must never let a signal see a bar after
//! the one it is decided on: the engine only reads bar i+1 to fill what bar i decided.
//! Analytics are `f64`, computed in the same arithmetic order as backtesting.py so results agree
//! to ~1e-12 relative (the fixtures under `tests/fixtures/` pin this down).

mod engine;
mod flags;
mod numeric;
pub mod optimize;
pub mod overfit;
pub mod report;
pub mod robustness;
pub mod search;
mod stats;
pub mod strategy;
mod walk_forward;

pub use engine::{Run, Settings, Trade, run};
pub use flags::Flags;
pub use stats::{MarketContext, Stats, compute_stats, drawdown};

use thiserror::Error;

/// What a strategy wants, bar by bar. Each signal is as long as the bar series, or empty where
/// the strategy has no such rule; set at bar i means "decided at the close of bar i" — the
/// engine fills it at bar i+1's open (or bar i's close with `trade_on_close`).
///
/// Decisions at a bar, in this order (one `Strategy.next()` in backtesting.py terms): trailing
/// stops move; a long position with `exit_long` (or a short with `exit_short`) is closed; then
/// `enter_long` buys unless already long, else `enter_short` sells unless already short.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// Open a long position (unless already long). With exclusive orders, closes any short first.
    pub enter_long: Flags,
    /// Close an open long position.
    pub exit_long: Flags,
    /// Open a short position (unless already short). With exclusive orders, closes any long
    /// first.
    pub enter_short: Flags,
    /// Close an open short position.
    pub exit_short: Flags,
}

/// How big a new position is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// This fraction (0 < f ≤ 1) of the margin available at the fill, sized at the fill price
    /// with commission and spread (backtesting.py's `size=f`; 1 means its default
    /// `1 - f64::EPSILON`).
    FractionOfEquity(f64),
    /// A fixed number of units.
    Quantity(f64),
    /// As many units as this amount of cash buys at the decision bar's close.
    Cash(f64),
    /// The fraction of equity that makes the position's annualised volatility (from `lookback`
    /// bars of close-to-close returns, sample standard deviation, annualised with
    /// `periods_per_year`) equal `annual_volatility` of equity, capped at all of the equity.
    VolatilityTarget {
        annual_volatility: f64,
        lookback: usize,
        periods_per_year: f64,
    },
}

/// A distance for a stop-loss, take-profit or trailing stop, measured from the close of the bar
/// the decision was made on (the last price known then; the fill price is not known yet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopDistance {
    /// A fraction of the price (0.05 = 5 %).
    Percent(f64),
    /// A multiple of ATR(`period`) (Wilder, as TA-Lib) at the decision bar.
    Atr { multiple: f64, period: usize },
}

/// Protective exits attached to every new position. Stop-loss and take-profit are fixed at
/// entry; the trailing stop moves the stop-loss every bar towards the price, never away
/// (backtesting.py's `TrailingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StopRules {
    pub stop_loss: Option<StopDistance>,
    pub take_profit: Option<StopDistance>,
    pub trailing_stop: Option<StopDistance>,
}

/// A complete, executable strategy for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub signals: Signals,
    pub sizing: Sizing,
    pub stops: StopRules,
    /// Index of the first bar where every indicator the strategy reads has a value
    /// (backtesting.py's warm-up). Decisions start one bar later, so a crossing always has a
    /// previous bar; buy-and-hold is measured from this bar's close.
    pub warmup: usize,
}

/// Why a backtest could not run. Messages say what to change.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BacktestError {
    #[error("no bars to test")]
    NoBars,
    #[error("signal '{name}' has {got} values for {bars} bars")]
    SignalLength {
        name: &'static str,
        got: usize,
        bars: usize,
    },
    #[error("invalid setting '{name}': {expected}, got {value}")]
    Setting {
        name: &'static str,
        expected: &'static str,
        value: f64,
    },
    #[error("{0}")]
    Indicator(#[from] crate::indicators::IndicatorError),
    #[error("{0}")]
    Strategy(#[from] strategy::StrategyError),
}

/// Everything one backtest produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Parameter values used (defaults filled in).
    pub params: std::collections::BTreeMap<String, f64>,
    pub warmup: usize,
    pub trades: Vec<Trade>,
    pub equity: Vec<f64>,
    pub open_trades: usize,
    pub stats: Stats,
}

/// Series at least this long split one run's independent passes across cores.
pub(crate) const PARALLEL_BARS: usize = 1 << 16;

/// Runs `strategy` with parameter `values` (missing ones take their defaults) over `columns`.
/// On long series what the statistics need from the bars alone ([`MarketContext`]) is worked
/// out on another core while the strategy runs (on short ones waking a thread costs more than
/// it saves); several indicators are first computed on all cores.
pub fn run_strategy(
    strategy: &strategy::Strategy,
    values: &std::collections::BTreeMap<String, f64>,
    columns: &crate::indicators::Columns<'_>,
    settings: &Settings,
) -> Result<Outcome, BacktestError> {
    let params = strategy.values(values)?;
    let bound = strategy.bind(&params)?;
    let long = columns.len() >= PARALLEL_BARS;
    let mut cache = strategy::IndicatorCache::new();
    if long && bound.distinct_calls() > 1 {
        // Several indicators: they share the cores first (the market context would otherwise
        // hold one core while they queue on the other), then the context is worked out on one
        // core while the strategy runs on the other.
        cache.prepare(&bound, columns)?;
    }
    let mut strategy_run = move || -> Result<_, BacktestError> {
        let plan = bound.plan(columns, &mut cache)?;
        let run = run(columns, &plan, settings)?;
        Ok((plan, run))
    };
    let (ctx, ran) = if long {
        rayon::join(|| MarketContext::new(columns), strategy_run)
    } else {
        (MarketContext::new(columns), strategy_run())
    };
    let (plan, run) = ran?;
    let stats = compute_stats(&run.trades, &run.equity, &ctx, plan.warmup);
    Ok(Outcome {
        params,
        warmup: plan.warmup,
        trades: run.trades,
        equity: run.equity,
        open_trades: run.open_trades,
        stats,
    })
}
