//! Overlap studies: indicators drawn on the price axis — moving averages (SMA, EMA, WMA, DEMA,
//! TEMA, KAMA), MACD, Bollinger Bands and standard deviation, linear-regression slope, Parabolic
//! SAR, Keltner and Donchian channels, Ichimoku and VWAP.
//!
//! Every TA-Lib-backed indicator follows TA-Lib 0.8.2 (the C library inside PyPI `ta-lib`
//! 0.8.2): the same warm-up (lookback), the same seeding and the same arithmetic order, so values
//! agree to ~1e-15 relative (bit-for-bit where TA-Lib does not use fused multiply-adds). The
//! fixtures under `tests/fixtures/talib/overlap/` pin this down. Keltner channels, Donchian
//! channels and VWAP also exist in that TA-Lib release (`KC`, `DONCHIAN`, `VWAP`) and match it;
//! Ichimoku is not in TA-Lib and is documented on [`ichimoku`].
//!
//! Each indicator has a batch function (slices in, one `Vec<f64>` per output as long as the input,
//! `NaN` during warm-up) and a streaming struct implementing [`Streaming`](super::Streaming)
//! that returns `None` during warm-up and then exactly the batch values (the property tests in
//! this module check bar-by-bar agreement). Single-input streaming indicators read
//! [`Candle::close`](super::Candle) and also offer `update_value(x)` to run over any series.

mod bands;
mod channels;
mod keltner;
mod linreg;
mod ma;
mod macd;
mod psar;
mod vwap;

#[cfg(test)]
mod tests;

pub use bands::{BandSeries, Bands, Bbands, StdDev, bbands, bbands_into, stddev, stddev_into};
pub use channels::{Donchian, Ichimoku, IchimokuSeries, IchimokuValue, donchian, ichimoku};
pub use keltner::{Keltner, keltner};
pub use linreg::{LinRegSlope, linreg_slope};
pub use ma::{
    Dema, Ema, Kama, Sma, Tema, Wma, dema, ema, ema_into, kama, sma, sma_into, sma_pair, tema, wma,
};
pub use macd::{Macd, MacdSeries, MacdValue, macd, macd_into};
pub use psar::{Psar, psar};
pub use vwap::{Vwap, vwap};

use super::registry::period_param;
use super::{Columns, IndicatorError, IndicatorSpec, OutputSpec, ParamSpec};

/// Validates a whole-number parameter already held as `usize` with the catalogue's rules (from
/// `min` to 100000), so a direct caller gets the same error as one going through
/// [`compute`](super::compute).
fn check_period(
    indicator: &str,
    param: &str,
    value: usize,
    min: usize,
) -> Result<usize, IndicatorError> {
    // Beyond 2^53 the f64 round trip is inexact, but such values are rejected either way.
    period_param(indicator, param, value as f64, min)
}

/// Validates a real-valued parameter: finite and within `[min, max]`.
fn check_real(
    indicator: &str,
    param: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<f64, IndicatorError> {
    if value.is_finite() && value >= min && value <= max {
        Ok(value)
    } else {
        Err(IndicatorError::InvalidParam {
            indicator: indicator.to_string(),
            param: param.to_string(),
            expected: format!("a number from {min} to {max}"),
            value,
        })
    }
}

/// The common length of a multi-column input, or an error when the columns disagree.
fn check_len(indicator: &str, lens: &[usize]) -> Result<usize, IndicatorError> {
    let n = lens.first().copied().unwrap_or(0);
    if lens.iter().all(|&l| l == n) {
        Ok(n)
    } else {
        Err(IndicatorError::LengthMismatch {
            indicator: indicator.to_string(),
        })
    }
}

/// TA-Lib's bound on real parameters (`TA_REAL_MIN`/`TA_REAL_MAX` in its range checks).
const TA_REAL_LIMIT: f64 = 3.0e37;

/// The `i`-th resolved parameter, or `default` when a direct caller passed fewer (the registry
/// always passes them all; this keeps a short slice from panicking).
fn arg(params: &[f64], i: usize, default: f64) -> f64 {
    params.get(i).copied().unwrap_or(default)
}

/// Converts a whole-number catalogue parameter to `usize` (validated by `period_param`).
fn period_arg(
    indicator: &str,
    param: &str,
    params: &[f64],
    i: usize,
    default: f64,
    min: usize,
) -> Result<usize, IndicatorError> {
    period_param(indicator, param, arg(params, i, default), min)
}

/// A fixed-capacity FIFO of the latest values, allocated once: the streaming forms keep the bars
/// a window still needs (the value leaving an SMA, a reseed's window) without per-bar allocation.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    buf: Vec<f64>,
    head: usize,
    len: usize,
}

impl Window {
    pub(crate) fn new(capacity: usize) -> Self {
        Window {
            buf: vec![0.0; capacity.max(1)],
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, i: usize) -> usize {
        let j = self.head + i;
        if j >= self.buf.len() {
            j - self.buf.len()
        } else {
            j
        }
    }

    /// Appends `x`; when the window is full the oldest value is dropped and returned.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        if self.len < self.buf.len() {
            let s = self.slot(self.len);
            self.buf[s] = x;
            self.len += 1;
            None
        } else {
            let old = self.buf[self.head];
            self.buf[self.head] = x;
            self.head = self.slot(1);
            Some(old)
        }
    }

    /// Removes and returns the oldest value (`NaN` when empty, which the callers never do).
    pub(crate) fn pop_front(&mut self) -> f64 {
        if self.len == 0 {
            return f64::NAN;
        }
        let old = self.buf[self.head];
        self.head = self.slot(1);
        self.len -= 1;
        old
    }

    /// The `i`-th value, oldest first.
    pub(crate) fn get(&self, i: usize) -> f64 {
        self.buf[self.slot(i)]
    }

    /// The values, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + Clone + '_ {
        (0..self.len).map(move |i| self.get(i))
    }
}

/// Rolling maximum (or minimum) of the last `period` values with a monotonic deque: amortised
/// O(1) per bar on any input, where TA-Lib's rescan-on-expiry is O(period) on a falling market.
/// The values (not the positions) are what Donchian and Ichimoku need, so ties do not matter.
#[derive(Debug, Clone)]
pub(crate) struct RollingExtreme {
    period: usize,
    max: bool,
    /// Bar numbers and values of the deque, oldest first, in a ring of `period` slots.
    idx: Vec<usize>,
    val: Vec<f64>,
    head: usize,
    len: usize,
    count: usize,
}

impl RollingExtreme {
    pub(crate) fn new(period: usize, max: bool) -> Self {
        let cap = period.max(1);
        RollingExtreme {
            period: cap,
            max,
            idx: vec![0; cap],
            val: vec![0.0; cap],
            head: 0,
            len: 0,
            count: 0,
        }
    }

    fn slot(&self, i: usize) -> usize {
        let j = self.head + i;
        if j >= self.period { j - self.period } else { j }
    }

    /// Feeds the next value; returns the extreme of the last `period` values (fewer while the
    /// window fills).
    pub(crate) fn push(&mut self, x: f64) -> f64 {
        let t = self.count;
        self.count += 1;
        // Drop the front when it leaves the window.
        if self.len > 0 && self.idx[self.head] + self.period <= t {
            self.head = self.slot(1);
            self.len -= 1;
        }
        // Drop dominated values from the back.
        while self.len > 0 {
            let back = self.slot(self.len - 1);
            let dominated = if self.max {
                self.val[back] <= x
            } else {
                self.val[back] >= x
            };
            if dominated {
                self.len -= 1;
            } else {
                break;
            }
        }
        if self.len == self.period {
            // Only reachable with NaN in the window (NaN is never dominated); make room.
            self.head = self.slot(1);
            self.len -= 1;
        }
        let s = self.slot(self.len);
        self.idx[s] = t;
        self.val[s] = x;
        self.len += 1;
        self.val[self.head]
    }
}

fn param(name: &'static str, default: f64, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        default,
        description,
    }
}

fn outputs(names: &[&'static str]) -> Vec<OutputSpec> {
    names.iter().map(|&name| OutputSpec { name }).collect()
}

fn batch_sma(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("sma", "period", p, 0, 30.0, 1)?;
    Ok(vec![sma(c.close, period)?])
}

fn batch_ema(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("ema", "period", p, 0, 30.0, 1)?;
    Ok(vec![ema(c.close, period)?])
}

fn batch_wma(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("wma", "period", p, 0, 30.0, 1)?;
    Ok(vec![wma(c.close, period)?])
}

fn batch_dema(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("dema", "period", p, 0, 30.0, 1)?;
    Ok(vec![dema(c.close, period)?])
}

fn batch_tema(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("tema", "period", p, 0, 30.0, 1)?;
    Ok(vec![tema(c.close, period)?])
}

fn batch_kama(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("kama", "period", p, 0, 30.0, 1)?;
    Ok(vec![kama(c.close, period)?])
}

fn batch_macd(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let fast = period_arg("macd", "fast_period", p, 0, 12.0, 2)?;
    let slow = period_arg("macd", "slow_period", p, 1, 26.0, 2)?;
    let signal = period_arg("macd", "signal_period", p, 2, 9.0, 1)?;
    let m = macd(c.close, fast, slow, signal)?;
    Ok(vec![m.macd, m.signal, m.hist])
}

fn batch_bbands(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("bbands", "period", p, 0, 20.0, 2)?;
    let b = bbands(c.close, period, arg(p, 1, 2.0), arg(p, 2, 2.0))?;
    Ok(vec![b.upper, b.middle, b.lower])
}

fn batch_stddev(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("stddev", "period", p, 0, 5.0, 2)?;
    Ok(vec![stddev(c.close, period, arg(p, 1, 1.0))?])
}

fn batch_linreg_slope(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("linreg_slope", "period", p, 0, 14.0, 2)?;
    Ok(vec![linreg_slope(c.close, period)?])
}

fn batch_psar(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    Ok(vec![psar(c.high, c.low, arg(p, 0, 0.02), arg(p, 1, 0.2))?])
}

fn batch_keltner(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("keltner", "period", p, 0, 20.0, 2)?;
    let atr_period = period_arg("keltner", "atr_period", p, 1, 10.0, 1)?;
    let b = keltner(c.high, c.low, c.close, period, atr_period, arg(p, 2, 2.0))?;
    Ok(vec![b.upper, b.middle, b.lower])
}

fn batch_donchian(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("donchian", "period", p, 0, 20.0, 2)?;
    let b = donchian(c.high, c.low, period)?;
    Ok(vec![b.upper, b.middle, b.lower])
}

fn batch_ichimoku(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let tenkan = period_arg("ichimoku", "tenkan_period", p, 0, 9.0, 1)?;
    let kijun = period_arg("ichimoku", "kijun_period", p, 1, 26.0, 1)?;
    let senkou_b = period_arg("ichimoku", "senkou_b_period", p, 2, 52.0, 1)?;
    let displacement = period_arg("ichimoku", "displacement", p, 3, 26.0, 0)?;
    let s = ichimoku(
        c.high,
        c.low,
        c.close,
        tenkan,
        kijun,
        senkou_b,
        displacement,
    )?;
    Ok(vec![s.tenkan, s.kijun, s.senkou_a, s.senkou_b, s.chikou])
}

fn batch_vwap(c: &Columns<'_>, p: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_arg("vwap", "period", p, 0, 0.0, 0)?;
    Ok(vec![vwap(
        c.time, c.high, c.low, c.close, c.volume, period,
    )?])
}

/// The catalogue entries of this family (registered by `catalog()`).
pub(crate) fn specs() -> Vec<IndicatorSpec> {
    vec![
        IndicatorSpec {
            name: "sma",
            description: "Simple moving average of the close (TA-Lib SMA).",
            params: vec![param("period", 30.0, "bars averaged (1 to 100000)")],
            outputs: outputs(&["sma"]),
            batch: batch_sma,
        },
        IndicatorSpec {
            name: "ema",
            description: "Exponential moving average of the close, k = 2/(period+1), seeded with \
                          the SMA of the first `period` closes (TA-Lib EMA).",
            params: vec![param("period", 30.0, "EMA period (1 to 100000)")],
            outputs: outputs(&["ema"]),
            batch: batch_ema,
        },
        IndicatorSpec {
            name: "wma",
            description: "Linearly weighted moving average of the close, newest bar weighted \
                          `period` (TA-Lib WMA).",
            params: vec![param("period", 30.0, "bars averaged (1 to 100000)")],
            outputs: outputs(&["wma"]),
            batch: batch_wma,
        },
        IndicatorSpec {
            name: "dema",
            description: "Double EMA, 2*EMA - EMA(EMA), less lag than an EMA (TA-Lib DEMA).",
            params: vec![param("period", 30.0, "EMA period (1 to 100000)")],
            outputs: outputs(&["dema"]),
            batch: batch_dema,
        },
        IndicatorSpec {
            name: "tema",
            description: "Triple EMA, 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA)) (TA-Lib TEMA).",
            params: vec![param("period", 30.0, "EMA period (1 to 100000)")],
            outputs: outputs(&["tema"]),
            batch: batch_tema,
        },
        IndicatorSpec {
            name: "kama",
            description: "Kaufman adaptive moving average: smoothing between EMA(2) and EMA(30) \
                          driven by the efficiency ratio over `period` bars (TA-Lib KAMA).",
            params: vec![param(
                "period",
                30.0,
                "efficiency-ratio lookback in bars (1 to 100000)",
            )],
            outputs: outputs(&["kama"]),
            batch: batch_kama,
        },
        IndicatorSpec {
            name: "macd",
            description: "MACD: EMA(fast) - EMA(slow) of the close, its EMA(signal), and their \
                          difference; first value after slow+signal-2 bars (TA-Lib MACD).",
            params: vec![
                param("fast_period", 12.0, "fast EMA period (2 to 100000)"),
                param(
                    "slow_period",
                    26.0,
                    "slow EMA period (2 to 100000; swapped with fast if smaller)",
                ),
                param("signal_period", 9.0, "signal EMA period (1 to 100000)"),
            ],
            outputs: outputs(&["macd", "signal", "hist"]),
            batch: batch_macd,
        },
        IndicatorSpec {
            name: "bbands",
            description: "Bollinger Bands: SMA(period) of the close plus/minus nbdev population \
                          standard deviations (TA-Lib BBANDS with MA type SMA).",
            params: vec![
                param(
                    "period",
                    20.0,
                    "bars in the SMA and deviation (2 to 100000)",
                ),
                param("nbdev_up", 2.0, "standard deviations above the middle band"),
                param("nbdev_dn", 2.0, "standard deviations below the middle band"),
            ],
            outputs: outputs(&["upper", "middle", "lower"]),
            batch: batch_bbands,
        },
        IndicatorSpec {
            name: "stddev",
            description: "Population standard deviation of the close over `period` bars, times \
                          nbdev (TA-Lib STDDEV).",
            params: vec![
                param("period", 5.0, "bars (2 to 100000)"),
                param("nbdev", 1.0, "multiplier applied to the deviation"),
            ],
            outputs: outputs(&["stddev"]),
            batch: batch_stddev,
        },
        IndicatorSpec {
            name: "linreg_slope",
            description: "Slope per bar of the least-squares line through the last `period` \
                          closes (TA-Lib LINEARREG_SLOPE).",
            params: vec![param(
                "period",
                14.0,
                "bars in the regression (2 to 100000)",
            )],
            outputs: outputs(&["slope"]),
            batch: batch_linreg_slope,
        },
        IndicatorSpec {
            name: "psar",
            description: "Parabolic SAR (stop and reverse) from highs and lows; first value on \
                          the second bar (TA-Lib SAR).",
            params: vec![
                param(
                    "acceleration",
                    0.02,
                    "acceleration factor step and start (>= 0; capped at maximum)",
                ),
                param("maximum", 0.2, "acceleration factor ceiling (>= 0)"),
            ],
            outputs: outputs(&["psar"]),
            batch: batch_psar,
        },
        IndicatorSpec {
            name: "keltner",
            description: "Keltner channels: EMA(period) of the typical price plus/minus \
                          multiplier x Wilder ATR(atr_period) (TA-Lib KC).",
            params: vec![
                param(
                    "period",
                    20.0,
                    "EMA period of the middle line (2 to 100000)",
                ),
                param("atr_period", 10.0, "ATR period (1 to 100000)"),
                param(
                    "multiplier",
                    2.0,
                    "ATRs between the middle line and each band",
                ),
            ],
            outputs: outputs(&["upper", "middle", "lower"]),
            batch: batch_keltner,
        },
        IndicatorSpec {
            name: "donchian",
            description: "Donchian channels: highest high and lowest low over `period` bars and \
                          their midpoint (TA-Lib DONCHIAN).",
            params: vec![param("period", 20.0, "bars (2 to 100000)")],
            outputs: outputs(&["upper", "middle", "lower"]),
            batch: batch_donchian,
        },
        IndicatorSpec {
            name: "ichimoku",
            description: "Ichimoku cloud. tenkan, kijun and chikou are aligned to the bar they \
                          are computed on; senkou_a/senkou_b are the cloud drawn over each bar \
                          (computed `displacement` bars earlier), so nothing looks ahead.",
            params: vec![
                param("tenkan_period", 9.0, "conversion-line period (1 to 100000)"),
                param("kijun_period", 26.0, "base-line period (1 to 100000)"),
                param(
                    "senkou_b_period",
                    52.0,
                    "leading-span-B period (1 to 100000)",
                ),
                param(
                    "displacement",
                    26.0,
                    "bars the cloud is shifted forward (0 to 100000)",
                ),
            ],
            outputs: outputs(&["tenkan", "kijun", "senkou_a", "senkou_b", "chikou"]),
            batch: batch_ichimoku,
        },
        IndicatorSpec {
            name: "vwap",
            description: "Volume-weighted average typical price. period 0: anchored, reset at \
                          each UTC day for intraday bars, from the first bar for daily bars \
                          (TA-Lib VWAP); period N: rolling over the last N bars.",
            params: vec![param(
                "period",
                0.0,
                "0 = session/anchored VWAP; N = rolling N-bar VWAP (0 to 100000)",
            )],
            outputs: outputs(&["vwap"]),
            batch: batch_vwap,
        },
    ]
}
