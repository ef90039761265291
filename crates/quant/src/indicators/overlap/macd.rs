//! MACD with TA-Lib's alignment and single-pass arithmetic.

use super::check_period;
use super::ma::start;
use crate::indicators::{Candle, IndicatorError, Streaming};

/// One bar of MACD: the MACD line, its signal line and the histogram (`macd - signal`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    pub macd: f64,
    pub signal: f64,
    pub hist: f64,
}

/// Whole MACD columns, `NaN` during warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct MacdSeries {
    pub macd: Vec<f64>,
    pub signal: Vec<f64>,
    pub hist: Vec<f64>,
}

/// Validated periods, with TA-Lib's swap when `slow < fast`.
fn periods(
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<(usize, usize, usize), IndicatorError> {
    let fast = check_period("macd", "fast_period", fast, 2)?;
    let slow = check_period("macd", "slow_period", slow, 2)?;
    let signal = check_period("macd", "signal_period", signal, 1)?;
    Ok(if slow < fast {
        (slow, fast, signal)
    } else {
        (fast, slow, signal)
    })
}

/// Moving average convergence/divergence of `input`.
///
/// TA-Lib MACD: lookback `(slow - 1) + (signal - 1)`, all three outputs start together; the fast
/// EMA is seeded with the SMA of the `fast` values ending where the slow EMA's seed window ends
/// (bar `slow - 1`), not at the series start — TA-Lib's alignment, which this reproduces. The
/// signal EMA is seeded with the mean of the first `signal` MACD values. A `slow` smaller than
/// `fast` is swapped, as TA-Lib does.
pub fn macd(
    input: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<MacdSeries, IndicatorError> {
    let mut out = MacdSeries {
        macd: Vec::new(),
        signal: Vec::new(),
        hist: Vec::new(),
    };
    macd_into(input, fast, slow, signal, &mut out)?;
    Ok(out)
}

/// [`macd`] into caller-owned buffers (cleared first), so a hot loop reuses its allocations.
pub fn macd_into(
    input: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
    out: &mut MacdSeries,
) -> Result<(), IndicatorError> {
    let (fast, slow, signal) = periods(fast, slow, signal)?;
    let n = input.len();
    let lookback = (slow - 1) + (signal - 1);
    start(&mut out.macd, n, lookback);
    start(&mut out.signal, n, lookback);
    start(&mut out.hist, n, lookback);
    if n <= lookback {
        return Ok(());
    }
    let fast_k = 2.0 / (fast + 1) as f64;
    let slow_k = 2.0 / (slow + 1) as f64;
    let signal_k = 2.0 / (signal + 1) as f64;

    // Seeds: the slow window is bars 0..slow, the fast window its last `fast` bars.
    let mut slow_sum = 0.0;
    for &x in &input[..slow - fast] {
        slow_sum += x;
    }
    let mut fast_sum = 0.0;
    for &x in &input[slow - fast..slow] {
        fast_sum += x;
        slow_sum += x;
    }
    let mut prev_slow = slow_sum / slow as f64;
    let mut prev_fast = fast_sum / fast as f64;
    let mut macd_value = prev_fast - prev_slow;
    let mut signal_sum = 0.0;
    signal_sum += macd_value;
    for &x in &input[slow..=lookback] {
        prev_fast = (x - prev_fast) * fast_k + prev_fast;
        prev_slow = (x - prev_slow) * slow_k + prev_slow;
        macd_value = prev_fast - prev_slow;
        signal_sum += macd_value;
    }
    let mut prev_signal = signal_sum / signal as f64;
    out.macd.push(macd_value);
    out.signal.push(prev_signal);
    out.hist.push(macd_value - prev_signal);
    for &x in &input[lookback + 1..] {
        prev_fast = (x - prev_fast) * fast_k + prev_fast;
        prev_slow = (x - prev_slow) * slow_k + prev_slow;
        let m = prev_fast - prev_slow;
        prev_signal = (m - prev_signal) * signal_k + prev_signal;
        out.macd.push(m);
        out.signal.push(prev_signal);
        out.hist.push(m - prev_signal);
    }
    Ok(())
}

/// Streaming [`macd`]: the same sums and recursions, one bar at a time.
#[derive(Debug, Clone)]
pub struct Macd {
    fast: usize,
    slow: usize,
    signal: usize,
    fast_k: f64,
    slow_k: f64,
    signal_k: f64,
    seen: usize,
    fast_sum: f64,
    slow_sum: f64,
    signal_sum: f64,
    prev_fast: f64,
    prev_slow: f64,
    prev_signal: f64,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        let (fast, slow, signal) = periods(fast, slow, signal)?;
        Ok(Macd {
            fast,
            slow,
            signal,
            fast_k: 2.0 / (fast + 1) as f64,
            slow_k: 2.0 / (slow + 1) as f64,
            signal_k: 2.0 / (signal + 1) as f64,
            seen: 0,
            fast_sum: 0.0,
            slow_sum: 0.0,
            signal_sum: 0.0,
            prev_fast: 0.0,
            prev_slow: 0.0,
            prev_signal: 0.0,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<MacdValue> {
        let t = self.seen;
        self.seen += 1;
        let seed_end = self.slow - 1;
        let lookback = seed_end + (self.signal - 1);
        let m = if t <= seed_end {
            if t >= self.slow - self.fast {
                self.fast_sum += x;
            }
            self.slow_sum += x;
            if t < seed_end {
                return None;
            }
            self.prev_slow = self.slow_sum / self.slow as f64;
            self.prev_fast = self.fast_sum / self.fast as f64;
            self.prev_fast - self.prev_slow
        } else {
            self.prev_fast = (x - self.prev_fast) * self.fast_k + self.prev_fast;
            self.prev_slow = (x - self.prev_slow) * self.slow_k + self.prev_slow;
            self.prev_fast - self.prev_slow
        };
        if t < lookback {
            self.signal_sum += m;
            return None;
        }
        if t == lookback {
            self.signal_sum += m;
            self.prev_signal = self.signal_sum / self.signal as f64;
        } else {
            self.prev_signal = (m - self.prev_signal) * self.signal_k + self.prev_signal;
        }
        Some(MacdValue {
            macd: m,
            signal: self.prev_signal,
            hist: m - self.prev_signal,
        })
    }
}

impl Streaming for Macd {
    type Output = MacdValue;
    fn update(&mut self, candle: &Candle) -> Option<MacdValue> {
        self.update_value(candle.close)
    }
}
