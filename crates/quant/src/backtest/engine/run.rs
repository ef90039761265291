//! [`run`]: the bar loop that drives the broker with a plan's decisions.

use crate::indicators::Columns;
use crate::indicators::stream_store::prefetch;
use crate::indicators::volatility::atr;

use super::super::flags::union_ones;
use super::super::{BacktestError, Plan, Sizing, StopDistance};
use super::broker::{Amount, Broker, FULL_EQUITY, PREFETCH_EVENTS, stop_price};
use super::{Run, Settings};

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
