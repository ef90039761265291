//! The simulated broker: backtesting.py's `_Broker` order queue, fills, stops, sizing and
//! commission.

use super::super::StopDistance;
use super::super::numeric::py_floor_div;
use super::{Settings, Trade};

#[derive(Debug, Clone, Copy)]
pub(super) struct OpenTrade {
    pub(super) id: u32,
    pub(super) size: f64,
    pub(super) entry_price: f64,
    pub(super) entry_bar: usize,
    pub(super) sl: Option<f64>,
    pub(super) tp: Option<f64>,
    pub(super) sl_order: Option<u32>,
    pub(super) tp_order: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Amount {
    /// A fraction of the margin available, resolved at the fill.
    Fraction(f64),
    Units(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
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
pub(super) struct Order {
    pub(super) id: u32,
    pub(super) kind: Kind,
    /// Signed size: positive buys. For entries with a fraction, the signed fraction.
    pub(super) size: f64,
    pub(super) stop: Option<f64>,
    pub(super) limit: Option<f64>,
}

impl Order {
    pub(super) fn is_long(&self) -> bool {
        self.size > 0.0
    }
    pub(super) fn is_contingent(&self) -> bool {
        matches!(self.kind, Kind::StopLoss { .. } | Kind::TakeProfit { .. })
    }
}

pub(super) struct Broker<'a> {
    pub(super) s: Settings,
    pub(super) leverage: f64,
    pub(super) open: &'a [f64],
    pub(super) high: &'a [f64],
    pub(super) low: &'a [f64],
    pub(super) close: &'a [f64],
    pub(super) cash: f64,
    pub(super) orders: Vec<Order>,
    pub(super) trades: Vec<OpenTrade>,
    pub(super) closed: Vec<Trade>,
    pub(super) next_id: u32,
    pub(super) scratch: Vec<u32>,
}

/// How many signals ahead the engine asks for the prices it will read there.
pub(super) const PREFETCH_EVENTS: usize = 8;

/// backtesting.py's `_FULL_EQUITY`.
pub(super) const FULL_EQUITY: f64 = 1.0 - f64::EPSILON;

impl<'a> Broker<'a> {
    pub(super) fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn commission(&self, size: f64, price: f64) -> f64 {
        self.s.commission_fixed + size.abs() * price * self.s.commission_rate
    }

    pub(super) fn position_size(&self) -> f64 {
        // Python sums int(trade.size); whole-unit sizes are already whole, and fractional ones
        // must not be truncated.
        let mut total = 0.0;
        for t in &self.trades {
            total += t.size;
        }
        total
    }

    pub(super) fn entry_value(&self) -> f64 {
        let mut entry_value = 0.0;
        for t in &self.trades {
            entry_value += t.size * t.entry_price;
        }
        entry_value
    }

    pub(super) fn equity(&self, i: usize) -> f64 {
        self.equity_at(self.close[i])
    }

    /// [`Broker::equity`] with bar i's close already at hand.
    pub(super) fn equity_at(&self, close: f64) -> f64 {
        if self.trades.is_empty() {
            return self.cash + 0.0;
        }
        self.cash + (close * self.position_size() - self.entry_value())
    }

    /// backtesting.py's `_OutOfMoneyError`: everything is closed at bar `i`'s close and equity
    /// is 0 from there on.
    pub(super) fn out_of_money(&mut self, i: usize, equity: &mut Vec<f64>) {
        while !self.trades.is_empty() {
            self.close_trade(0, self.close[i], i);
        }
        self.cash = 0.0;
        equity.truncate(i);
        equity.resize(self.close.len(), 0.0);
    }

    /// Margin available at a bar whose close is `close`.
    pub(super) fn margin_available(&self, close: f64) -> f64 {
        let mut used = 0.0;
        for t in &self.trades {
            used += t.size.abs() * close / self.leverage;
        }
        (self.equity_at(close) - used).max(0.0)
    }

    pub(super) fn remove_order(&mut self, id: u32) {
        if let Some(p) = self.orders.iter().position(|o| o.id == id) {
            self.orders.remove(p);
        }
    }

    /// `Trade.close()`: a close order at the front of the queue.
    pub(super) fn close_order(&mut self, t: usize) {
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
    pub(super) fn set_contingent(&mut self, t: usize, price: f64, is_sl: bool) {
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

    pub(super) fn new_entry(
        &mut self,
        size: f64,
        amount: Amount,
        sl: Option<f64>,
        tp: Option<f64>,
    ) {
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

    pub(super) fn open_trade(
        &mut self,
        price: f64,
        size: f64,
        sl: Option<f64>,
        tp: Option<f64>,
        bar: usize,
    ) {
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

    pub(super) fn close_trade(&mut self, t: usize, price: f64, bar: usize) {
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
    pub(super) fn reduce_trade(&mut self, t: usize, price: f64, size: f64, bar: usize) {
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

    pub(super) fn trade_index(&self, id: u32) -> Option<usize> {
        self.trades.iter().position(|t| t.id == id)
    }

    /// backtesting.py `_Broker._process_orders` at bar `i`.
    /// `open` and `close` are bar i's (the caller may have them at hand already).
    pub(super) fn process_orders(&mut self, i: usize, open: f64, close: f64) {
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
pub(super) fn stop_price(
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
