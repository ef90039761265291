//! KAMA: Kaufman's adaptive moving average.

use super::super::{Window, check_period};
use super::warmup;
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

/// Slowest and fastest KAMA smoothing: EMA(30) and EMA(2) factors, as TA-Lib hard-codes them.
const KAMA_CONST_MAX: f64 = 2.0 / (30.0 + 1.0);
fn kama_const_diff() -> f64 {
    2.0 / (2.0 + 1.0) - KAMA_CONST_MAX
}

/// TA-Lib's `TA_IS_ZERO` band (`TA_EPSILON`, 1e-14 in TA-Lib 0.8).
const TA_EPSILON: f64 = 1e-14;

/// The KAMA smoothing constant for one bar: `(er * (fast - slow) + slow)^2`, where the efficiency
/// ratio `er = |net change| / sum |bar changes|` is taken as 1 when the path length is zero or not
/// above the (signed) net change, exactly as TA-Lib tests it.
#[inline]
fn kama_sc(sum_roc1: f64, period_roc: f64, const_diff: f64) -> f64 {
    let er = if sum_roc1 <= period_roc || (-TA_EPSILON < sum_roc1 && sum_roc1 < TA_EPSILON) {
        1.0
    } else {
        (period_roc / sum_roc1).abs()
    };
    let sc = er * const_diff + KAMA_CONST_MAX;
    sc * sc
}

/// Kaufman adaptive moving average.
///
/// TA-Lib KAMA: lookback `period`; seeded with the previous bar's value; efficiency ratio over
/// `period` bar-to-bar changes; smoothing between EMA(2) and EMA(30); period 1 copies the input.
pub fn kama(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("kama", "period", period, 1)?;
    let n = input.len();
    if period == 1 {
        return Ok(input.to_vec());
    }
    if n <= period {
        return Ok(nan_vec(n));
    }
    let const_diff = kama_const_diff();
    let mut sum_roc1 = 0.0;
    for w in input[..=period].windows(2) {
        sum_roc1 += (w[0] - w[1]).abs();
    }
    let mut prev = input[period - 1];
    let x = input[period];
    let period_roc = x - input[0];
    let mut trailing = input[0];
    let sc = kama_sc(sum_roc1, period_roc, const_diff);
    prev = (x - prev) * sc + prev;
    let mut out = warmup(n, period);
    out.push(prev);
    for t in period + 1..n {
        let x = input[t];
        let t2 = input[t - period];
        let period_roc = x - t2;
        sum_roc1 -= (trailing - t2).abs();
        sum_roc1 += (x - input[t - 1]).abs();
        trailing = t2;
        let sc = kama_sc(sum_roc1, period_roc, const_diff);
        prev = (x - prev) * sc + prev;
        out.push(prev);
    }
    Ok(out)
}

/// Streaming [`kama`].
#[derive(Debug, Clone)]
pub struct Kama {
    period: usize,
    const_diff: f64,
    window: Window,
    seen: usize,
    sum_roc1: f64,
    prev: f64,
    trailing: f64,
    last: f64,
}

impl Kama {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("kama", "period", period, 1)?;
        Ok(Kama {
            period,
            const_diff: kama_const_diff(),
            window: Window::new(period + 1),
            seen: 0,
            sum_roc1: 0.0,
            prev: 0.0,
            trailing: 0.0,
            last: 0.0,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        if self.period == 1 {
            return Some(x);
        }
        let t = self.seen;
        self.seen += 1;
        self.window.push(x);
        if t < self.period {
            if t >= 1 {
                self.sum_roc1 += (self.last - x).abs();
            }
            self.last = x;
            return None;
        }
        // The window now holds bars t - period ..= t.
        let t2 = self.window.get(0);
        let period_roc = x - t2;
        if t == self.period {
            self.sum_roc1 += (self.last - x).abs();
            self.prev = self.last;
        } else {
            self.sum_roc1 -= (self.trailing - t2).abs();
            self.sum_roc1 += (x - self.last).abs();
        }
        self.trailing = t2;
        let sc = kama_sc(self.sum_roc1, period_roc, self.const_diff);
        self.prev = (x - self.prev) * sc + self.prev;
        self.last = x;
        Some(self.prev)
    }
}

impl Streaming for Kama {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}
