//! Stochastics: STOCH and STOCHRSI.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{Extremes, RunningSma, check_lengths, check_period, is_zero_scaled};
use super::rsi::RsiCore;

/// Fast %K as TA-Lib 0.8.1 computes it: `(close − lowest) / (highest − lowest) × 100`, 0 when
/// the window is flat relative to its own prices. (Older TA-Lib divided by `range / 100`; the
/// order matters to the last bit, and the SMA of %K keeps TA-Lib's rounding only if %K does.)
#[inline(always)]
fn fast_k(close: f64, highest: f64, lowest: f64) -> f64 {
    let range = highest - lowest;
    if is_zero_scaled(range, highest.abs() + lowest.abs()) {
        0.0
    } else {
        (close - lowest) / range * 100.0
    }
}

#[derive(Debug, Clone)]
struct StochCore {
    window: Extremes,
    slow_k: RunningSma,
    slow_d: RunningSma,
}

impl StochCore {
    fn new(fastk: usize, slowk: usize, slowd: usize) -> Self {
        Self {
            window: Extremes::new(fastk),
            slow_k: RunningSma::new(slowk),
            slow_d: RunningSma::new(slowd),
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<(f64, f64)> {
        let (highest, lowest) = self.window.push(high, low)?;
        let k = self.slow_k.push(fast_k(close, highest, lowest))?;
        let d = self.slow_d.push(k)?;
        Some((k, d))
    }
}

fn check_stoch(fastk: usize, slowk: usize, slowd: usize) -> Result<(), IndicatorError> {
    check_period("stoch", "fastk_period", fastk, 1)?;
    check_period("stoch", "slowk_period", slowk, 1)?;
    check_period("stoch", "slowd_period", slowd, 1)?;
    Ok(())
}

/// Slow stochastic (TA-Lib `STOCH` with SMA smoothing): fast %K over `fastk` bars, smoothed by an
/// SMA of `slowk` into %K, and %K smoothed by an SMA of `slowd` into %D. TA-Lib convention: both
/// outputs start together at index `fastk + slowk + slowd − 3` (TA-Lib trims %K to %D's start).
///
/// Returns `(k, d)`.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    check_stoch(fastk, slowk, slowd)?;
    let len = check_lengths("stoch", &[high.len(), low.len(), close.len()])?;
    let mut core = StochCore::new(fastk, slowk, slowd);
    let mut k = Vec::with_capacity(len);
    let mut d = Vec::with_capacity(len);
    for i in 0..len {
        let (kv, dv) = core
            .step(high[i], low[i], close[i])
            .unwrap_or((f64::NAN, f64::NAN));
        k.push(kv);
        d.push(dv);
    }
    Ok((k, d))
}

/// Streaming [`stoch`]: `(k, d)` once both exist.
#[derive(Debug, Clone)]
pub struct Stoch {
    core: StochCore,
}

impl Stoch {
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        check_stoch(fastk, slowk, slowd)?;
        Ok(Self {
            core: StochCore::new(fastk, slowk, slowd),
        })
    }
}

impl Streaming for Stoch {
    type Output = (f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64)> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}

#[derive(Debug, Clone)]
struct StochRsiCore {
    rsi: RsiCore,
    window: Extremes,
    fast_d: RunningSma,
}

impl StochRsiCore {
    fn new(period: usize, fastk: usize, fastd: usize) -> Self {
        Self {
            rsi: RsiCore::new(period),
            window: Extremes::new(fastk),
            fast_d: RunningSma::new(fastd),
        }
    }

    #[inline(always)]
    fn step(&mut self, close: f64) -> Option<(f64, f64)> {
        let rsi = self.rsi.step(close)?;
        let (highest, lowest) = self.window.push(rsi, rsi)?;
        let k = fast_k(rsi, highest, lowest);
        let d = self.fast_d.push(k)?;
        Some((k, d))
    }
}

fn check_stochrsi(period: usize, fastk: usize, fastd: usize) -> Result<(), IndicatorError> {
    check_period("stochrsi", "period", period, 2)?;
    check_period("stochrsi", "fastk_period", fastk, 1)?;
    check_period("stochrsi", "fastd_period", fastd, 1)?;
    Ok(())
}

/// Stochastic RSI (TA-Lib `STOCHRSI` with SMA %D): TA-Lib's *fast* stochastic (`STOCHF`) applied
/// to RSI(`period`) — fast %K over `fastk` RSI values, %D an SMA of `fastd` of it. TA-Lib
/// convention: both outputs start at index `period + fastk + fastd − 2`.
///
/// Returns `(k, d)`. Bar-by-bar like [`StochRsi`] (not [`rsi`]'s blocked loop): %K divides by
/// the RSI's range over a few bars, which would magnify the blocked loop's ulps.
pub fn stochrsi(
    close: &[f64],
    period: usize,
    fastk: usize,
    fastd: usize,
) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    check_stochrsi(period, fastk, fastd)?;
    let mut core = StochRsiCore::new(period, fastk, fastd);
    let mut k = Vec::with_capacity(close.len());
    let mut d = Vec::with_capacity(close.len());
    for &c in close {
        let (kv, dv) = core.step(c).unwrap_or((f64::NAN, f64::NAN));
        k.push(kv);
        d.push(dv);
    }
    Ok((k, d))
}

/// Streaming [`stochrsi`] over closes: `(k, d)` once both exist.
#[derive(Debug, Clone)]
pub struct StochRsi {
    core: StochRsiCore,
}

impl StochRsi {
    pub fn new(period: usize, fastk: usize, fastd: usize) -> Result<Self, IndicatorError> {
        check_stochrsi(period, fastk, fastd)?;
        Ok(Self {
            core: StochRsiCore::new(period, fastk, fastd),
        })
    }
}

impl Streaming for StochRsi {
    type Output = (f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64)> {
        self.core.step(candle.close)
    }
}
