//! The bar-by-bar engine: a broker that processes orders the way backtesting.py 0.6.6's
//! `_Broker` does (same order queue, same fill prices, same sizing and commission arithmetic),
//! driven by a [`Plan`]'s signals.
//!
//! At bar i the broker first fills what was decided at bar i-1 (at bar i's open, or at bar i-1's
//! close with `trade_on_close`), checks stop-loss and take-profit orders against bar i's high and
//! low, records equity at bar i's close, and only then is the plan asked what it decided at bar
//! i. Nothing here may read a signal or a price beyond the current bar.

use crate::indicators::Columns;
use crate::indicators::volatility::atr;

use super::flags::union_ones;
use super::numeric::py_floor_div;
use super::{BacktestError, Plan, Sizing, StopDistance};
use crate::indicators::stream_store::prefetch;

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

#[derive(Debug, Clone, Copy)]
struct OpenTrade {
    id: u32,
    size: f64,
    entry_price: f64,
    entry_bar: usize,
    sl: Option<f64>,
    tp: Option<f64>,
    sl_order: Option<u32>,
    tp_order: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Amount {
    /// A fraction of the margin available, resolved at the fill.
    Fraction(f64),
    Units(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Entry {
        amount: Amount,
        sl: Option<f64>,
        tp: Option<f64>,
    },
    /// `Trade.close()`: a market order against one trade.
    Close {
        trade: u32,
    },
    StopLoss {
        trade: u32,
    },
    TakeProfit {
        trade: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Order {
    id: u32,
    kind: Kind,
    /// Signed size: positive buys. For entries with a fraction, the signed fraction.
    size: f64,
    stop: Option<f64>,
    limit: Option<f64>,
}

impl Order {
    fn is_long(&self) -> bool {
        self.size > 0.0
    }
    fn is_contingent(&self) -> bool {
        matches!(self.kind, Kind::StopLoss { .. } | Kind::TakeProfit { .. })
    }
}

struct Broker<'a> {
    s: Settings,
    leverage: f64,
    open: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    cash: f64,
    orders: Vec<Order>,
    trades: Vec<OpenTrade>,
    closed: Vec<Trade>,
    next_id: u32,
    scratch: Vec<u32>,
}

/// How many signals ahead the engine asks for the prices it will read there.
const PREFETCH_EVENTS: usize = 8;

/// backtesting.py's `_FULL_EQUITY`.
const FULL_EQUITY: f64 = 1.0 - f64::EPSILON;

impl<'a> Broker<'a> {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn commission(&self, size: f64, price: f64) -> f64 {
        self.s.commission_fixed + size.abs() * price * self.s.commission_rate
    }

    fn position_size(&self) -> f64 {
        // Python sums int(trade.size); whole-unit sizes are already whole, and fractional ones
        // must not be truncated.
        let mut total = 0.0;
        for t in &self.trades {
            total += t.size;
        }
        total
    }

    fn entry_value(&self) -> f64 {
        let mut entry_value = 0.0;
        for t in &self.trades {
            entry_value += t.size * t.entry_price;
        }
        entry_value
    }

    fn equity(&self, i: usize) -> f64 {
        self.equity_at(self.close[i])
    }

    /// [`Broker::equity`] with bar i's close already at hand.
    fn equity_at(&self, close: f64) -> f64 {
        if self.trades.is_empty() {
            return self.cash + 0.0;
        }
        self.cash + (close * self.position_size() - self.entry_value())
    }

    /// backtesting.py's `_OutOfMoneyError`: everything is closed at bar `i`'s close and equity
    /// is 0 from there on.
    fn out_of_money(&mut self, i: usize, equity: &mut Vec<f64>) {
        while !self.trades.is_empty() {
            self.close_trade(0, self.close[i], i);
        }
        self.cash = 0.0;
        equity.truncate(i);
        equity.resize(self.close.len(), 0.0);
    }

    /// Margin available at a bar whose close is `close`.
    fn margin_available(&self, close: f64) -> f64 {
        let mut used = 0.0;
        for t in &self.trades {
            used += t.size.abs() * close / self.leverage;
        }
        (self.equity_at(close) - used).max(0.0)
    }

    fn remove_order(&mut self, id: u32) {
        if let Some(p) = self.orders.iter().position(|o| o.id == id) {
            self.orders.remove(p);
        }
    }

    /// `Trade.close()`: a close order at the front of the queue.
    fn close_order(&mut self, t: usize) {
        let trade = self.trades[t];
        let id = self.id();
        self.orders.insert(
            0,
            Order {
                id,
                kind: Kind::Close { trade: trade.id },
                size: -trade.size,
                stop: None,
                limit: None,
            },
        );
    }

    /// `trade.sl = price` / `trade.tp = price`: replaces the contingent order (stop-losses go to
    /// the front of the queue, take-profits to the back, as backtesting.py).
    fn set_contingent(&mut self, t: usize, price: f64, is_sl: bool) {
        let old = if is_sl {
            self.trades[t].sl_order
        } else {
            self.trades[t].tp_order
        };
        if let Some(old) = old {
            self.remove_order(old);
        }
        let id = self.id();
        let trade = self.trades[t];
        let order = Order {
            id,
            kind: if is_sl {
                Kind::StopLoss { trade: trade.id }
            } else {
                Kind::TakeProfit { trade: trade.id }
            },
            size: -trade.size,
            stop: is_sl.then_some(price),
            limit: (!is_sl).then_some(price),
        };
        if is_sl {
            self.orders.insert(0, order);
            self.trades[t].sl_order = Some(id);
            self.trades[t].sl = Some(price);
        } else {
            self.orders.push(order);
            self.trades[t].tp_order = Some(id);
            self.trades[t].tp = Some(price);
        }
    }

    fn new_entry(&mut self, size: f64, amount: Amount, sl: Option<f64>, tp: Option<f64>) {
        if self.s.exclusive_orders {
            self.orders.retain(|o| o.is_contingent());
            for t in 0..self.trades.len() {
                self.close_order(t);
            }
        }
        let id = self.id();
        self.orders.push(Order {
            id,
            kind: Kind::Entry { amount, sl, tp },
            size,
            stop: None,
            limit: None,
        });
    }

    fn open_trade(&mut self, price: f64, size: f64, sl: Option<f64>, tp: Option<f64>, bar: usize) {
        let id = self.id();
        self.trades.push(OpenTrade {
            id,
            size,
            entry_price: price,
            entry_bar: bar,
            sl: None,
            tp: None,
            sl_order: None,
            tp_order: None,
        });
        self.cash -= self.commission(size, price);
        let t = self.trades.len() - 1;
        if let Some(tp) = tp {
            self.set_contingent(t, tp, false);
        }
        if let Some(sl) = sl {
            self.set_contingent(t, sl, true);
        }
    }

    fn close_trade(&mut self, t: usize, price: f64, bar: usize) {
        let trade = self.trades.remove(t);
        if let Some(o) = trade.sl_order {
            self.remove_order(o);
        }
        if let Some(o) = trade.tp_order {
            self.remove_order(o);
        }
        let commission = self.commission(trade.size, price);
        self.cash += trade.size * (price - trade.entry_price) - commission;
        let commissions = commission + self.commission(trade.size, trade.entry_price);
        let pnl = trade.size * (price - trade.entry_price) - commissions;
        let gross = 1.0_f64.copysign(trade.size) * (price / trade.entry_price - 1.0);
        let return_pct = gross - commissions / (trade.size.abs() * trade.entry_price);
        self.closed.push(Trade {
            size: trade.size,
            entry_bar: trade.entry_bar,
            exit_bar: bar,
            entry_price: trade.entry_price,
            exit_price: price,
            sl: trade.sl,
            tp: trade.tp,
            pnl,
            commission: commissions,
            return_pct,
        });
    }

    /// backtesting.py `_reduce_trade`: close `size` (opposite sign) of trade `t`.
    fn reduce_trade(&mut self, t: usize, price: f64, size: f64, bar: usize) {
        let size_left = self.trades[t].size + size;
        if size_left == 0.0 {
            self.close_trade(t, price, bar);
            return;
        }
        self.trades[t].size = size_left;
        for o in [self.trades[t].sl_order, self.trades[t].tp_order]
            .into_iter()
            .flatten()
        {
            if let Some(order) = self.orders.iter_mut().find(|x| x.id == o) {
                order.size = -size_left;
            }
        }
        let mut copy = self.trades[t];
        copy.size = -size;
        copy.sl = None;
        copy.tp = None;
        copy.sl_order = None;
        copy.tp_order = None;
        copy.id = self.id();
        self.trades.push(copy);
        let last = self.trades.len() - 1;
        self.close_trade(last, price, bar);
    }

    fn trade_index(&self, id: u32) -> Option<usize> {
        self.trades.iter().position(|t| t.id == id)
    }

    /// backtesting.py `_Broker._process_orders` at bar `i`.
    /// `open` and `close` are bar i's (the caller may have them at hand already).
    fn process_orders(&mut self, i: usize, open: f64, close: f64) {
        // High and low are read only for stop and limit orders: on long series a bar's prices
        // are rarely in cache, and a market order needs only the open.
        let (high, low) = (|| self.high[i], || self.low[i]);
        let mut reprocess = false;
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        ids.extend(self.orders.iter().map(|o| o.id));
        for &id in &ids {
            let Some(pos) = self.orders.iter().position(|o| o.id == id) else {
                continue;
            };
            let order = self.orders[pos];
            let is_long = order.is_long();
            let contingent = order.is_contingent();
            let stop_price = order.stop;
            if let Some(stop) = stop_price {
                let hit = if is_long {
                    high() >= stop
                } else {
                    low() <= stop
                };
                if !hit {
                    continue;
                }
                // A triggered stop becomes a market (or limit) order.
                self.orders[pos].stop = None;
            }
            let price = if let Some(limit) = order.limit {
                let hit = if is_long {
                    low() <= limit
                } else {
                    high() >= limit
                };
                let before_stop = hit
                    && if is_long {
                        limit <= stop_price.unwrap_or(f64::NEG_INFINITY)
                    } else {
                        limit >= stop_price.unwrap_or(f64::INFINITY)
                    };
                if !hit || before_stop {
                    continue;
                }
                if is_long {
                    stop_price.unwrap_or(open).min(limit)
                } else {
                    stop_price.unwrap_or(open).max(limit)
                }
            } else {
                let base = if self.s.trade_on_close && !contingent && i > 0 {
                    self.close[i - 1]
                } else {
                    open
                };
                match stop_price {
                    Some(stop) if is_long => base.max(stop),
                    Some(stop) => base.min(stop),
                    None => base,
                }
            };
            let is_market = order.limit.is_none() && stop_price.is_none();
            let bar = if is_market && self.s.trade_on_close && !contingent && i > 0 {
                i - 1
            } else {
                i
            };

            let parent = match order.kind {
                Kind::Close { trade } | Kind::StopLoss { trade } | Kind::TakeProfit { trade } => {
                    Some(trade)
                }
                Kind::Entry { .. } => None,
            };
            if let Some(trade_id) = parent {
                if let Some(t) = self.trade_index(trade_id) {
                    let prev = self.trades[t].size;
                    let size = prev.abs().min(order.size.abs()).copysign(order.size);
                    self.reduce_trade(t, price, size, bar);
                }
                // Contingent orders went with their trade; a close order is done.
                if !contingent {
                    self.remove_order(id);
                }
                continue;
            }

            let Kind::Entry { amount, sl, tp } = order.kind else {
                continue;
            };
            let spread = self.s.spread.copysign(order.size);
            let adjusted = price * (1.0 + spread);
            let commission = self.commission(order.size, price);
            let adjusted_plus_commission = adjusted + commission / order.size.abs();
            let mut need = match amount {
                Amount::Units(u) => u,
                Amount::Fraction(f) => {
                    let budget = self.margin_available(close) * self.leverage * f.abs();
                    let units = if self.s.fractional {
                        budget / adjusted_plus_commission
                    } else if (0.0..adjusted).contains(&budget) && commission >= 0.0 {
                        // Not one whole unit: the divisor is at least `adjusted` (a
                        // non-negative commission only adds to it), so the quotient is below
                        // 1 and its floor 0, without waiting on the division.
                        0.0
                    } else {
                        py_floor_div(budget, adjusted_plus_commission)
                    };
                    units.copysign(f)
                }
            };
            if need == 0.0 || !need.is_finite() {
                self.remove_order(id);
                continue;
            }
            // Not hedging: an order first closes opposite trades, oldest first, at the
            // unadjusted price.
            let mut t = 0;
            while t < self.trades.len() {
                let trade = self.trades[t];
                if (trade.size > 0.0) == is_long {
                    t += 1;
                    continue;
                }
                if need.abs() >= trade.size.abs() {
                    self.close_trade(t, price, bar);
                    need += trade.size;
                } else {
                    self.reduce_trade(t, price, need, bar);
                    need = 0.0;
                }
                if need == 0.0 {
                    break;
                }
            }
            if need.abs() * adjusted_plus_commission > self.margin_available(close) * self.leverage
            {
                // Not enough margin: the broker cancels the order.
                self.remove_order(id);
                continue;
            }
            if need != 0.0 {
                self.open_trade(adjusted, need, sl, tp, bar);
                if (sl.is_some() || tp.is_some()) && is_market {
                    // A stop may be hit within the bar the trade opened in.
                    reprocess = true;
                }
            }
            self.remove_order(id);
        }
        self.scratch = ids;
        if reprocess {
            self.process_orders(i, open, close);
        }
    }
}

/// Price a stop `d` away from `price` on the side `sign` (+1 above, -1 below).
fn stop_price(
    d: Option<StopDistance>,
    price: f64,
    atr: &[Vec<f64>],
    sign: f64,
    i: usize,
) -> Option<f64> {
    let p = match d? {
        StopDistance::Percent(f) => price * (1.0 + sign * f),
        StopDistance::Atr { multiple, .. } => {
            let a = atr.first().and_then(|v| v.get(i).copied())?;
            price + sign * a * multiple
        }
    };
    (p.is_finite() && p > 0.0).then_some(p)
}

/// Runs `plan` over `columns` with `settings`.
pub fn run(columns: &Columns<'_>, plan: &Plan, settings: &Settings) -> Result<Run, BacktestError> {
    settings.check()?;
    let n = columns.len();
    if n == 0 {
        return Err(BacktestError::NoBars);
    }
    let sig = &plan.signals;
    for (name, v) in [
        ("enter_long", &sig.enter_long),
        ("exit_long", &sig.exit_long),
        ("enter_short", &sig.enter_short),
        ("exit_short", &sig.exit_short),
    ] {
        if !v.is_empty() && v.len() != n {
            return Err(BacktestError::SignalLength {
                name,
                got: v.len(),
                bars: n,
            });
        }
    }

    // ATR series for stops (one period per run; the language allows one ATR period).
    let atr_period = [
        plan.stops.stop_loss,
        plan.stops.take_profit,
        plan.stops.trailing_stop,
    ]
    .into_iter()
    .flatten()
    .find_map(|d| match d {
        StopDistance::Atr { period, .. } => Some(period),
        StopDistance::Percent(_) => None,
    });
    let atr_series: Vec<Vec<f64>> = match atr_period {
        Some(p) => vec![atr(columns.high, columns.low, columns.close, p)?],
        None => Vec::new(),
    };
    let vol = match plan.sizing {
        Sizing::VolatilityTarget {
            lookback,
            periods_per_year,
            ..
        } => Some(realised_volatility(
            columns.close,
            lookback,
            periods_per_year,
        )),
        _ => None,
    };

    let mut b = Broker {
        s: *settings,
        leverage: 1.0 / settings.margin,
        open: columns.open,
        high: columns.high,
        low: columns.low,
        close: columns.close,
        cash: settings.cash,
        orders: Vec::new(),
        trades: Vec::new(),
        closed: Vec::new(),
        next_id: 0,
        scratch: Vec::new(),
    };
    let start = 1 + plan.warmup;
    // Bars before the first decision hold cash; they are back-filled below.
    let mut equity: Vec<f64> = Vec::with_capacity(n);
    equity.resize(start.min(n), settings.cash);
    let mut out_of_money = false;
    // Every bar with a signal.
    let events = union_ones(
        &[
            &sig.enter_long,
            &sig.exit_long,
            &sig.enter_short,
            &sig.exit_short,
        ],
        start,
        n,
    );
    // The first event at or after bar i.
    let mut ev = 0usize;
    let mut i = start;
    'bars: while i < n {
        while ev < events.len() && events[ev] < i {
            ev += 1;
        }
        // Fast path: with no order pending and no trailing stop to move, nothing can happen
        // until the next bar with a signal, so the bars up to it are only marked to market, in
        // a loop over plain slices (same arithmetic as `Broker::equity`, so the same bits).
        if b.orders.is_empty() && (plan.stops.trailing_stop.is_none() || b.trades.is_empty()) {
            let next = events.get(ev).copied().unwrap_or(n);
            // On long series the prices of a signal bar and the bar after it (where what it
            // decides fills) are rarely in cache: asked for a few signals ahead, the reads
            // overlap with this work instead of each stalling a fill.
            if let Some(&s) = events.get(ev + PREFETCH_EVENTS) {
                prefetch(b.close, s);
                prefetch(b.open, s + 1);
            }
            let from = equity.len();
            let gone = if b.trades.is_empty() {
                // Flat: the same equity on every bar, checked once.
                let e = b.cash + 0.0;
                equity.resize(next, e);
                (e <= 0.0 && next > from).then_some(0)
            } else {
                let (cash, pos, entry_value) = (b.cash, b.position_size(), b.entry_value());
                equity.extend(
                    b.close[i..next]
                        .iter()
                        .map(|&c| cash + (c * pos - entry_value)),
                );
                first_not_positive(&equity[from..])
            };
            if let Some(k) = gone {
                // Ran out of money at bar i + k (its equity is recorded).
                b.out_of_money(i + k, &mut equity);
                out_of_money = true;
                break 'bars;
            }
            i = next;
            if i >= n {
                break 'bars;
            }
        }
        let close = b.close[i];
        if !b.orders.is_empty() {
            b.process_orders(i, b.open[i], close);
        }
        let e = b.equity_at(close);
        equity.push(e);
        if e <= 0.0 {
            b.out_of_money(i, &mut equity);
            out_of_money = true;
            break;
        }
        decide(&mut b, plan, &atr_series, vol.as_deref(), i, close);
        i += 1;
    }
    if !out_of_money && settings.finalize_trades && start < n {
        for t in (0..b.trades.len()).rev() {
            b.close_order(t);
        }
        // backtesting.py re-runs the broker on the last bar to fill those closes.
        b.process_orders(n - 1, b.open[n - 1], b.close[n - 1]);
        let e = b.equity(n - 1);
        equity[n - 1] = e;
        if e <= 0.0 {
            while !b.trades.is_empty() {
                b.close_trade(0, b.close[n - 1], n - 1);
            }
            b.cash = 0.0;
            equity[n - 1] = 0.0;
        }
    }
    // Before the first decision there is only cash (backtesting.py back-fills).
    let first = if start < n { equity[start] } else { b.cash };
    for x in equity.iter_mut().take(start.min(n)) {
        *x = first;
    }
    Ok(Run {
        open_trades: b.trades.len(),
        trades: b.closed,
        equity,
    })
}

/// Index of the first value that is zero or below (equity gone), if any; checked a block at a
/// time.
fn first_not_positive(v: &[f64]) -> Option<usize> {
    const BLOCK: usize = 16;
    let mut base = 0;
    for c in v.chunks(BLOCK) {
        if c.iter().fold(false, |a, &e| a | (e <= 0.0)) {
            return c.iter().position(|&e| e <= 0.0).map(|k| base + k);
        }
        base += c.len();
    }
    None
}

/// One `Strategy.next()` at bar `i`.
fn decide(
    b: &mut Broker<'_>,
    plan: &Plan,
    atr: &[Vec<f64>],
    vol: Option<&[f64]>,
    i: usize,
    close: f64,
) {
    if let Some(trail) = plan.stops.trailing_stop {
        for t in 0..b.trades.len() {
            let long = b.trades[t].size > 0.0;
            let Some(p) = stop_price(Some(trail), close, atr, if long { -1.0 } else { 1.0 }, i)
            else {
                continue;
            };
            let new = match (b.trades[t].sl, long) {
                (Some(sl), true) => sl.max(p),
                (Some(sl), false) => sl.min(p),
                (None, _) => p,
            };
            b.set_contingent(t, new, true);
        }
    }
    let sig = &plan.signals;
    let pos = b.position_size();
    if (pos > 0.0 && sig.exit_long.get(i)) || (pos < 0.0 && sig.exit_short.get(i)) {
        for t in 0..b.trades.len() {
            b.close_order(t);
        }
    }
    let side = if sig.enter_long.get(i) && pos <= 0.0 {
        1.0
    } else if sig.enter_short.get(i) && pos >= 0.0 {
        -1.0
    } else {
        return;
    };
    let amount = match plan.sizing {
        Sizing::FractionOfEquity(f) => Amount::Fraction(f.min(FULL_EQUITY)),
        Sizing::Quantity(q) => Amount::Units(q),
        Sizing::Cash(c) => {
            let units = c / close;
            Amount::Units(if b.s.fractional { units } else { units.floor() })
        }
        Sizing::VolatilityTarget {
            annual_volatility, ..
        } => {
            let v = vol.and_then(|v| v.get(i).copied()).unwrap_or(f64::NAN);
            Amount::Fraction((annual_volatility / v).min(FULL_EQUITY))
        }
    };
    let (size, amount) = match amount {
        Amount::Fraction(f) if f > 0.0 && f.is_finite() => (f * side, Amount::Fraction(f * side)),
        Amount::Units(u) if u > 0.0 && u.is_finite() => (u * side, Amount::Units(u * side)),
        _ => return,
    };
    let sl = stop_price(plan.stops.stop_loss, close, atr, -side, i);
    let tp = stop_price(plan.stops.take_profit, close, atr, side, i);
    b.new_entry(size, amount, sl, tp);
}

/// Annualised sample standard deviation of the last `lookback` close-to-close returns.
fn realised_volatility(close: &[f64], lookback: usize, periods_per_year: f64) -> Vec<f64> {
    let n = close.len();
    let mut out = vec![f64::NAN; n];
    if lookback < 2 {
        return out;
    }
    let r: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                f64::NAN
            } else {
                close[i] / close[i - 1] - 1.0
            }
        })
        .collect();
    for i in lookback..n {
        let w = &r[i + 1 - lookback..=i];
        let m = w.iter().sum::<f64>() / lookback as f64;
        let v = w.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (lookback - 1) as f64;
        out[i] = (v * periods_per_year).sqrt();
    }
    out
}
