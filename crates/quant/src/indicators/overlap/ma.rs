//! Moving averages: SMA, EMA, WMA, DEMA, TEMA and KAMA, with TA-Lib's warm-up, seeding and
//! arithmetic order.

use super::{Window, check_period};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec, stream_store};

mod dema;
mod kama;

pub use dema::{Dema, Tema, dema, tema};
pub use kama::{Kama, kama};

/// `NaN` for the first `lookback` bars, room for the rest: the batch forms push their values
/// after it, so the output is written once.
fn warmup(n: usize, lookback: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    out.resize(lookback.min(n), f64::NAN);
    out
}

/// [`warmup`] into a reused buffer; an input too short for any value gets all `NaN`s.
pub(super) fn start(out: &mut Vec<f64>, n: usize, lookback: usize) {
    out.clear();
    out.reserve(n);
    out.resize(if n <= lookback { n } else { lookback }, f64::NAN);
}

/// TA-Lib's EMA smoothing factor `2 / (period + 1)`.
fn ema_k(period: usize) -> f64 {
    2.0 / (period + 1) as f64
}

// ---------------------------------------------------------------------------------------------
// SMA

/// Simple moving average over `period` bars.
///
/// TA-Lib SMA: lookback `period - 1`; one running total (add the new bar, divide, subtract the
/// bar leaving), so the value is TA-Lib's to the last bit.
pub fn sma(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = Vec::new();
    sma_into(input, period, &mut out)?;
    Ok(out)
}

/// [`sma`] into a caller-owned buffer (cleared first), so a hot loop reuses its allocation.
pub fn sma_into(input: &[f64], period: usize, out: &mut Vec<f64>) -> Result<(), IndicatorError> {
    let period = check_period("sma", "period", period, 1)?;
    let n = input.len();
    let lookback = period - 1;
    start(out, n, lookback);
    if n <= lookback {
        return Ok(());
    }
    let p = period as f64;
    let mut total = 0.0;
    for &x in &input[..lookback] {
        total += x;
    }
    let step = |total: &mut f64, x: f64, old: f64| {
        *total += x;
        let t = *total;
        *total -= old;
        t / p
    };
    let (mut xs, mut olds) = (&input[lookback..], &input[..n - lookback]);
    // Long outputs are appended four values at a time with streaming stores (see
    // `stream_store`), which need a 16-byte aligned write position: one value first if not.
    if out.len() % 2 == 1 && !xs.is_empty() {
        let v = step(&mut total, xs[0], olds[0]);
        out.push(v);
        (xs, olds) = (&xs[1..], &olds[1..]);
    }
    let (x4, x_rest) = xs.as_chunks::<4>();
    let (o4, o_rest) = olds.as_chunks::<4>();
    stream_store::extend_blocks(
        out,
        x4.iter().zip(o4).map(|(x, o)| {
            let mut y = [0.0; 4];
            for j in 0..4 {
                y[j] = step(&mut total, x[j], o[j]);
            }
            y
        }),
    );
    for (&x, &old) in x_rest.iter().zip(o_rest) {
        let v = step(&mut total, x, old);
        out.push(v);
    }
    Ok(())
}

/// [`sma`] of two periods over one input in one pass, each series the same bits as [`sma`]
/// alone (its own running total, the same additions in the same order).
///
/// Why: an SMA's cost is its running total, two dependent additions per bar, so the processor
/// mostly waits on that chain; a second, independent chain in the same loop runs in those
/// waits, and two SMAs (a moving-average cross, an optimiser's grid) cost about one.
pub fn sma_pair(input: &[f64], a: usize, b: usize) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    let a = check_period("sma", "period", a, 1)?;
    let b = check_period("sma", "period", b, 1)?;
    let n = input.len();
    let (la, lb) = (a - 1, b - 1);
    let both = la.max(lb);
    let (mut oa, mut ob) = (Vec::new(), Vec::new());
    if n <= both {
        sma_into(input, a, &mut oa)?;
        sma_into(input, b, &mut ob)?;
        return Ok((oa, ob));
    }
    start(&mut oa, n, la);
    start(&mut ob, n, lb);
    #[inline(always)]
    fn step(total: &mut f64, x: f64, old: f64, p: f64) -> f64 {
        *total += x;
        let t = *total;
        *total -= old;
        t / p
    }
    // Each running total alone until both have their first value, then both per bar.
    let (pa, pb) = (a as f64, b as f64);
    let (mut ta, mut tb) = (0.0, 0.0);
    for &x in &input[..la] {
        ta += x;
    }
    for (&x, &old) in input[la..both].iter().zip(input) {
        oa.push(step(&mut ta, x, old, pa));
    }
    for &x in &input[..lb] {
        tb += x;
    }
    for (&x, &old) in input[lb..both].iter().zip(input) {
        ob.push(step(&mut tb, x, old, pb));
    }
    let xs = &input[both..];
    let (olds_a, olds_b) = (&input[both - la..], &input[both - lb..]);
    for ((&x, &old_a), &old_b) in xs.iter().zip(olds_a).zip(olds_b) {
        oa.push(step(&mut ta, x, old_a, pa));
        ob.push(step(&mut tb, x, old_b, pb));
    }
    Ok((oa, ob))
}

/// Streaming [`sma`].
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Window,
    total: f64,
}

impl Sma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("sma", "period", period, 1)?;
        Ok(Sma {
            period,
            window: Window::new(period),
            total: 0.0,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        self.total += x;
        self.window.push(x);
        if self.window.len() < self.period {
            return None;
        }
        let t = self.total;
        self.total -= self.window.pop_front();
        Some(t / self.period as f64)
    }
}

impl Streaming for Sma {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}

// ---------------------------------------------------------------------------------------------
// EMA

/// Exponential moving average, `k = 2 / (period + 1)`.
///
/// TA-Lib EMA: lookback `period - 1`; seeded with the SMA of the first `period` values, then
/// `ema += (x - ema) * k` (TA-Lib fuses that into one FMA; the batch form here runs the same
/// recursion four bars per step, see [`ema_extend`], and agrees to a few ulps).
pub fn ema(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = Vec::new();
    ema_into(input, period, &mut out)?;
    Ok(out)
}

/// [`ema`] into a caller-owned buffer (cleared first), so a hot loop reuses its allocation.
pub fn ema_into(input: &[f64], period: usize, out: &mut Vec<f64>) -> Result<(), IndicatorError> {
    let period = check_period("ema", "period", period, 1)?;
    let n = input.len();
    let lookback = period - 1;
    start(out, n, lookback);
    if n <= lookback {
        return Ok(());
    }
    let k = ema_k(period);
    let mut sum = 0.0;
    for &x in &input[..period] {
        sum += x;
    }
    let seed = sum / period as f64;
    out.push(seed);
    ema_extend(out, seed, &input[period..], k);
    Ok(())
}

/// Appends the EMA of `xs` continuing from `prev` and returns the last value.
///
/// Why four bars per step: the recursion `y = y·(1−k) + k·x` is one long dependency chain
/// (multiply, then add, per bar) — TA-Lib's build runs it as a fused multiply-add, which plain
/// Rust cannot emit without target flags. Unrolled, `y[i+3] = (1−k)⁴·y[i−1] + (block terms)`
/// leaves one multiply-add on the chain per four bars and the rest is independent work the CPU
/// overlaps. Being a contraction, the recursion does not accumulate the few-ulp differences.
#[inline(always)]
pub(super) fn ema_extend(out: &mut Vec<f64>, mut prev: f64, xs: &[f64], k: f64) -> f64 {
    let a = 1.0 - k;
    let a2 = a * a;
    let a3 = a2 * a;
    let a4 = a2 * a2;
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        let t0 = k * c[0];
        let t1 = t0 * a + k * c[1];
        let t2 = t1 * a + k * c[2];
        let t3 = t2 * a + k * c[3];
        let y0 = prev * a + t0;
        let y1 = prev * a2 + t1;
        let y2 = prev * a3 + t2;
        let y3 = prev * a4 + t3;
        out.extend_from_slice(&[y0, y1, y2, y3]);
        prev = y3;
    }
    for &x in chunks.remainder() {
        prev = prev * a + k * x;
        out.push(prev);
    }
    prev
}

/// The EMA recursion shared by the streaming EMA-based indicators: seeded with the mean of the
/// first `period` inputs, summed from `0.0` in input order exactly as TA-Lib's batch loops do.
#[derive(Debug, Clone)]
pub(super) struct EmaCore {
    period: usize,
    k: f64,
    seen: usize,
    sum: f64,
    prev: f64,
}

impl EmaCore {
    pub(super) fn new(period: usize) -> Self {
        EmaCore {
            period,
            k: ema_k(period),
            seen: 0,
            sum: 0.0,
            prev: 0.0,
        }
    }

    pub(super) fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen < self.period {
            self.sum += x;
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
            self.prev = self.sum / self.period as f64;
        } else {
            self.prev = (x - self.prev) * self.k + self.prev;
        }
        Some(self.prev)
    }
}

/// Streaming [`ema`].
#[derive(Debug, Clone)]
pub struct Ema {
    core: EmaCore,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("ema", "period", period, 1)?;
        Ok(Ema {
            core: EmaCore::new(period),
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        self.core.update(x)
    }
}

impl Streaming for Ema {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core.update(candle.close)
    }
}

// ---------------------------------------------------------------------------------------------
// WMA

/// Linearly weighted moving average: weights 1 (oldest) to `period` (newest), divided by
/// `period * (period + 1) / 2`.
///
/// TA-Lib WMA: lookback `period - 1`; period 1 copies the input; otherwise TA-Lib's O(1) update
/// (a running weighted sum corrected by the running plain sum) with its re-anchoring: both sums
/// are rebuilt from the window every `8 * period` bars so rounding cannot build up.
pub fn wma(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("wma", "period", period, 1)?;
    let n = input.len();
    if period == 1 {
        return Ok(input.to_vec());
    }
    let lookback = period - 1;
    if n <= lookback {
        return Ok(nan_vec(n));
    }
    let p = period as f64;
    let divider = wma_divider(period);
    let (mut sub, mut sum) = wma_sums(&input[..lookback]);
    let reseed_every = 8 * period;
    let mut bars = reseed_every;
    let mut trailing = 0.0;
    let mut out = warmup(n, lookback);
    for t in lookback..n {
        let x = input[t];
        sub += x;
        sub -= trailing;
        sum += x * p;
        bars -= 1;
        if bars == 0 {
            bars = reseed_every;
            (sub, sum) = wma_sums(&input[t - lookback..=t]);
        }
        trailing = input[t - lookback];
        out.push(sum / divider);
        sum -= sub;
    }
    Ok(out)
}

/// TA-Lib's WMA denominator `period * (period + 1) / 2`, in floating point.
fn wma_divider(period: usize) -> f64 {
    period as f64 * (period + 1) as f64 / 2.0
}

/// Plain and weighted sums of a window given oldest first, weights counting up from 1 — the
/// priming scan's order, so a re-anchored bar equals a fresh start there.
fn wma_sums(values: &[f64]) -> (f64, f64) {
    let mut sub = 0.0;
    let mut sum = 0.0;
    for (i, &x) in values.iter().enumerate() {
        sub += x;
        sum += x * (i + 1) as f64;
    }
    (sub, sum)
}

/// Streaming [`wma`].
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    divider: f64,
    window: Window,
    /// The window as a contiguous slice for re-anchoring (allocated once).
    scratch: Vec<f64>,
    sub: f64,
    sum: f64,
    trailing: f64,
    bars: usize,
}

impl Wma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("wma", "period", period, 1)?;
        Ok(Wma {
            period,
            divider: wma_divider(period),
            window: Window::new(period),
            scratch: Vec::with_capacity(period),
            sub: 0.0,
            sum: 0.0,
            trailing: 0.0,
            bars: 8 * period,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        if self.period == 1 {
            return Some(x);
        }
        let filled = self.window.len();
        if filled < self.period - 1 {
            self.sub += x;
            self.sum += x * (filled + 1) as f64;
            self.window.push(x);
            return None;
        }
        self.sub += x;
        self.sub -= self.trailing;
        self.sum += x * self.period as f64;
        self.window.push(x);
        self.bars -= 1;
        if self.bars == 0 {
            self.bars = 8 * self.period;
            self.scratch.clear();
            self.scratch.extend(self.window.iter());
            (self.sub, self.sum) = wma_sums(&self.scratch);
        }
        self.trailing = self.window.pop_front();
        let out = self.sum / self.divider;
        self.sum -= self.sub;
        Some(out)
    }
}

impl Streaming for Wma {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}
