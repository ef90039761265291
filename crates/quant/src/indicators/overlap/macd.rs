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
    let prev_signal = signal_sum / signal as f64;
    out.macd.push(macd_value);
    out.signal.push(prev_signal);
    out.hist.push(macd_value - prev_signal);
    macd_extend(
        out,
        (prev_fast, prev_slow, prev_signal),
        &input[lookback + 1..],
        (fast_k, slow_k, signal_k),
    );
    Ok(())
}

/// The powers `a, a², a³, a⁴` of an EMA's decay `a = 1 − k`.
#[inline(always)]
fn decay_powers(k: f64) -> [f64; 4] {
    let a = 1.0 - k;
    let a2 = a * a;
    [a, a2, a2 * a, a2 * a2]
}

/// Four bars of the EMA recursion `y = y·a + k·x` from `prev`, as in
/// `ma::ema_extend`: the chain advances once per four bars.
#[inline(always)]
fn ema4(prev: f64, x: [f64; 4], k: f64, p: &[f64; 4]) -> [f64; 4] {
    let t0 = k * x[0];
    let t1 = t0 * p[0] + k * x[1];
    let t2 = t1 * p[0] + k * x[2];
    let t3 = t2 * p[0] + k * x[3];
    [
        prev * p[0] + t0,
        prev * p[1] + t1,
        prev * p[2] + t2,
        prev * p[3] + t3,
    ]
}

/// Appends MACD, signal and histogram for `xs`, continuing the three EMAs from `prev`.
///
/// Why four bars per step: each EMA is one long dependency chain. Advanced four bars at a time
/// (`y[i+3] = a⁴·y[i−1] + block terms`) the chains carry one multiply-add per four bars and the
/// rest is independent work the CPU overlaps; the signal EMA's block terms depend only on this
/// block's MACD values, so the three chains never wait on each other. The values differ from
/// TA-Lib's `ema += (x − ema)·k` by a few ulps of the EMAs (the recursion is a contraction, so
/// nothing accumulates); the streaming form ([`Macd`]) keeps TA-Lib's bar-by-bar arithmetic.
fn macd_extend(
    out: &mut MacdSeries,
    (mut fast, mut slow, mut signal): (f64, f64, f64),
    xs: &[f64],
    (fast_k, slow_k, signal_k): (f64, f64, f64),
) {
    let (fp, sp, gp) = (
        decay_powers(fast_k),
        decay_powers(slow_k),
        decay_powers(signal_k),
    );
    let mut blocks = xs.chunks_exact(4);
    for x in &mut blocks {
        let x = [x[0], x[1], x[2], x[3]];
        let f = ema4(fast, x, fast_k, &fp);
        let s = ema4(slow, x, slow_k, &sp);
        let m = [f[0] - s[0], f[1] - s[1], f[2] - s[2], f[3] - s[3]];
        let g = ema4(signal, m, signal_k, &gp);
        let h = [m[0] - g[0], m[1] - g[1], m[2] - g[2], m[3] - g[3]];
        (fast, slow, signal) = (f[3], s[3], g[3]);
        out.macd.extend_from_slice(&m);
        out.signal.extend_from_slice(&g);
        out.hist.extend_from_slice(&h);
    }
    for &x in blocks.remainder() {
        fast = fast * fp[0] + fast_k * x;
        slow = slow * sp[0] + slow_k * x;
        let m = fast - slow;
        signal = signal * gp[0] + signal_k * m;
        out.macd.push(m);
        out.signal.push(signal);
        out.hist.push(m - signal);
    }
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
