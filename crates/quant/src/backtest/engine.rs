//! The bar-by-bar engine: a broker that processes orders the way backtesting.py 0.6.6's
//! `_Broker` does (same order queue, same fill prices, same sizing and commission arithmetic),
//! driven by a [`Plan`](super::Plan)'s signals.
//!
//! At bar i the broker first fills what was decided at bar i-1 (at bar i's open, or at bar i-1's
//! close with `trade_on_close`), checks stop-loss and take-profit orders against bar i's high and
//! low, records equity at bar i's close, and only then is the plan asked what it decided at bar
//! i. Nothing here may read a signal or a price beyond the current bar.

mod broker;
mod run;

pub use run::run;

use super::BacktestError;

/// How the simulated broker behaves. The defaults are backtesting.py's example settings used by
/// the reference fixtures: 10 000 cash, no commission, exclusive orders, open trades closed at the
/// end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub cash: f64,
    /// Commission as a fraction of traded value, charged on entry and on exit.
    pub commission_rate: f64,
    /// Fixed commission per fill, charged on entry and on exit.
    pub commission_fixed: f64,
    /// Bid-ask spread as a fraction of price: longs enter that much higher, shorts lower.
    pub spread: f64,
    /// Required margin (1 = no leverage, 0.5 = 2×).
    pub margin: f64,
    /// Fill market orders at the deciding bar's close instead of the next bar's open.
    pub trade_on_close: bool,
    /// Each new entry first closes every open trade (backtesting.py `exclusive_orders`).
    pub exclusive_orders: bool,
    /// Close trades still open after the last bar so they count in the statistics.
    pub finalize_trades: bool,
    /// Allow fractional units (otherwise sizes are whole units, as backtesting.py).
    pub fractional: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cash: 10_000.0,
            commission_rate: 0.0,
            commission_fixed: 0.0,
            spread: 0.0,
            margin: 1.0,
            trade_on_close: false,
            exclusive_orders: true,
            finalize_trades: true,
            fractional: false,
        }
    }
}

impl Settings {
    fn check(&self) -> Result<(), BacktestError> {
        let bad = |name, expected, value| {
            Err(BacktestError::Setting {
                name,
                expected,
                value,
            })
        };
        if !(self.cash.is_finite() && self.cash > 0.0) {
            return bad("cash", "a positive amount", self.cash);
        }
        if !(-0.1..0.1).contains(&self.commission_rate) {
            return bad(
                "commission",
                "a rate between -0.1 and 0.1 (0.002 = 0.2 %)",
                self.commission_rate,
            );
        }
        if !(self.commission_fixed.is_finite() && self.commission_fixed >= 0.0) {
            return bad(
                "commission_fixed",
                "a non-negative amount",
                self.commission_fixed,
            );
        }
        if !(0.0..0.1).contains(&self.spread) {
            return bad("spread", "a fraction from 0 to 0.1", self.spread);
        }
        if !(self.margin > 0.0 && self.margin <= 1.0) {
            return bad("margin", "a fraction in (0, 1]", self.margin);
        }
        Ok(())
    }
}

/// A closed trade, as backtesting.py's trade list reports it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Trade {
    /// Units; negative for a short.
    pub size: f64,
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_price: f64,
    pub exit_price: f64,
    pub sl: Option<f64>,
    pub tp: Option<f64>,
    /// Profit or loss after both commissions.
    pub pnl: f64,
    /// Entry plus exit commission.
    pub commission: f64,
    /// Return as a fraction of the entry value, net of commission.
    pub return_pct: f64,
}

/// The outcome of one run: closed trades in closing order, equity at every bar's close, and the
/// trades still open at the end (none when `finalize_trades`).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub trades: Vec<Trade>,
    pub equity: Vec<f64>,
    pub open_trades: usize,
}
