//! Backtesting: a bar-by-bar engine with backtesting.py's execution semantics (orders decided on
//! bar i fill at bar i+1's open, or at bar i's close with `trade_on_close`), the strategy
//! language Claude writes, the optimiser, robustness analysis and reports.
//!
//! The contract between the strategy language and the engine is [`Plan`]: per-bar entry and exit
//! signals computed from data up to and including that bar (never later), plus sizing and stop
//! rules. The engine owns every execution detail (fills, commission, stops, equity); the language
//! owns only "what would I like to do at the end of this bar".

/// What a strategy wants, bar by bar. All vectors are as long as the bar series; `true` at bar i
/// means "decided at the close of bar i" — the engine fills it at bar i+1's open (or bar i's
/// close with `trade_on_close`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// Open (or keep) a long position. With exclusive orders, closes any short first.
    pub enter_long: Vec<bool>,
    /// Close an open long position.
    pub exit_long: Vec<bool>,
    /// Open (or keep) a short position. With exclusive orders, closes any long first.
    pub enter_short: Vec<bool>,
    /// Close an open short position.
    pub exit_short: Vec<bool>,
}

/// How big a new position is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// This fraction of the equity available (backtesting.py's default is all of it:
    /// `1 - f64::EPSILON`).
    FractionOfEquity(f64),
    /// A fixed number of units.
    Quantity(f64),
    /// A fixed amount of cash.
    Cash(f64),
    /// Units such that the position's annualised volatility (from `lookback` bars of close-to-close
    /// returns, annualised with `periods_per_year`) is `annual_volatility` of equity, capped at
    /// all of the equity.
    VolatilityTarget { annual_volatility: f64, lookback: usize, periods_per_year: f64 },
}

/// A distance for a stop-loss, take-profit or trailing stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopDistance {
    /// A fraction of the entry price (0.05 = 5 %).
    Percent(f64),
    /// A multiple of ATR(`period`) (Wilder, as TA-Lib) at the bar the order was decided.
    Atr { multiple: f64, period: usize },
}

/// Protective exits attached to every new position.
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
}
