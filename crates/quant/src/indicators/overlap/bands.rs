//! Bollinger Bands and standard deviation over TA-Lib 0.8's cancellation-free rolling variance.
//!
//! TA-Lib 0.8 no longer takes the variance as `E[x²] - mean²` of raw prices (which loses every
//! digit on a low-volatility, high-priced series): it keeps running sums of deviations from a
//! *shift* near the window mean and rebuilds them with a fresh two-pass sum ("reseed") when the
//! variance has shrunk below 1e-6 of the scale it is extracted from, and at least every
//! `32 * period` bars. This module reproduces that schedule so values match TA-Lib's, including
//! its one dead zone: a variance under 1e-12 of the reseeded mean square is reported as 0.

use super::ma::start;
use super::{TA_REAL_LIMIT, Window, check_period, check_real};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

/// Upper, middle and lower band of one bar (Bollinger, Keltner, Donchian).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

/// Whole band columns, `NaN` during warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct BandSeries {
    pub upper: Vec<f64>,
    pub middle: Vec<f64>,
    pub lower: Vec<f64>,
}

impl BandSeries {
    pub(super) fn nan(n: usize) -> Self {
        BandSeries {
            upper: nan_vec(n),
            middle: nan_vec(n),
            lower: nan_vec(n),
        }
    }
}

/// Reseed trigger: the variance is below this fraction of the mean square it is taken from.
const RESEED_RATIO: f64 = 0.000001;
/// Dead zone after a reseed: a variance below this fraction of the mean square is noise, so 0.
const FLOOR_RATIO: f64 = 0.000000000001;

/// Sum of deviations from `shift` and of their squares, oldest first.
fn shifted_sums(values: impl Iterator<Item = f64>, shift: f64) -> (f64, f64) {
    let mut t1 = 0.0;
    let mut t2 = 0.0;
    for x in values {
        let d = x - shift;
        t1 += d;
        t2 += d * d;
    }
    (t1, t2)
}

/// TA-Lib's reseed over the current window (oldest first, `newest` last): shift to the window
/// mean and rebuild the sums; if that still cancels (every deviation the same rounding residue),
/// shift to the newest value instead. Returns `(shift, sum, sum of squares, variance)`.
fn reseed(
    window: impl Iterator<Item = f64> + Clone,
    inv: f64,
    newest: f64,
) -> (f64, f64, f64, f64) {
    let mut s = 0.0;
    for x in window.clone() {
        s += x;
    }
    let mut shift = s * inv;
    let (mut t1, mut t2) = shifted_sums(window.clone(), shift);
    let mut m1 = t1 * inv;
    let mut var = t2 * inv - m1 * m1;
    if var < RESEED_RATIO * (t2 * inv) {
        shift = newest;
        (t1, t2) = shifted_sums(window, shift);
        m1 = t1 * inv;
        var = t2 * inv - m1 * m1;
    }
    (shift, t1, t2, var)
}

/// Bars per tile of the batch pass: the serial variance recursion fills a tile, then the band
/// arithmetic (divide, square root, the three outputs) runs over it while it is still in L1.
/// Small on purpose: the recursion is a latency chain that leaves the divider idle, and with a
/// short tile the out-of-order core overlaps one tile's divides and square roots with the next
/// tile's recursion. With 256-bar tiles the two phases ran one after the other; measured on
/// 1,000,000 bars (BBANDS, same process as TA-Lib's C, loaded machine, best of 40): 256-bar
/// tiles with separate divide / square-root / copy passes 7.3-7.9 ms, 64-bar tiles with one
/// fused pass 5.6-6.0 ms, TA-Lib 7.4-8.3 ms.
const TILE: usize = 64;

/// The rolling population variance over `period` bars (and, when `MA`, the running plain sum the
/// SMA middle band divides), handed to `emit` a tile at a time, bar `period - 1` first.
fn variance_tiles<const MA: bool>(
    input: &[f64],
    period: usize,
    mut emit: impl FnMut(&[f64], &[f64]),
) {
    let n = input.len();
    let lb = period - 1;
    if n <= lb {
        return;
    }
    let inv = 1.0 / period as f64;
    let mut shift = input[0];
    let mut ma = 0.0;
    let mut t1 = 0.0;
    let mut t2 = 0.0;
    for &x in &input[..lb] {
        if MA {
            ma += x;
        }
        let d = x - shift;
        t1 += d;
        t2 += d * d;
    }
    // TA-Lib triggers a reseed when `var < 1e-6 * (peak * inv)`, `peak` the largest sum of
    // squares since the last reseed. Rounding is monotonic, so that threshold is the running
    // maximum of `1e-6 * (t2 * inv)` — and `t2 * inv` is already needed for the variance.
    let mut threshold = RESEED_RATIO * (t2 * inv);
    let reseed_every = 32 * period;
    let mut bars = reseed_every;
    let mut var_tile = [0.0; TILE];
    let mut ma_tile = [0.0; TILE];
    let mut i = lb;
    while i < n {
        let end = (i + TILE).min(n);
        let len = end - i;
        let rows = input[i..end]
            .iter()
            .zip(&input[i - lb..end - lb])
            .zip(var_tile[..len].iter_mut().zip(&mut ma_tile[..len]))
            .enumerate();
        for (j, ((&x, &old), (var_slot, ma_slot))) in rows {
            if MA {
                ma += x;
            }
            let d = x - shift;
            t1 += d;
            t2 += d * d;
            let mean_sq = t2 * inv;
            let candidate = RESEED_RATIO * mean_sq;
            threshold = if candidate > threshold {
                candidate
            } else {
                threshold
            };
            let m1 = t1 * inv;
            let mut var = mean_sq - m1 * m1;
            if MA {
                *ma_slot = ma;
                ma -= old;
            }
            let d = old - shift;
            t1 -= d;
            t2 -= d * d;
            bars -= 1;
            if var < threshold || bars == 0 {
                bars = reseed_every;
                let slot = i + j;
                (shift, t1, t2, var) = reseed(input[slot - lb..=slot].iter().copied(), inv, x);
                threshold = RESEED_RATIO * (t2 * inv);
                if var < FLOOR_RATIO * (t2 * inv) {
                    var = 0.0;
                }
                let d = old - shift;
                t1 -= d;
                t2 -= d * d;
            }
            *var_slot = var;
        }
        emit(&var_tile[..len], &ma_tile[..len]);
        i = end;
    }
}

/// The streaming twin of [`variance_tiles`]: same operations in the same order.
#[derive(Debug, Clone)]
struct VarianceCore {
    period: usize,
    inv: f64,
    window: Window,
    started: bool,
    shift: f64,
    ma: f64,
    t1: f64,
    t2: f64,
    peak: f64,
    bars: usize,
}

impl VarianceCore {
    fn new(period: usize) -> Self {
        VarianceCore {
            period,
            inv: 1.0 / period as f64,
            window: Window::new(period),
            started: false,
            shift: 0.0,
            ma: 0.0,
            t1: 0.0,
            t2: 0.0,
            peak: 0.0,
            bars: 32 * period,
        }
    }

    /// Returns `(variance, running sum)` once `period` values have arrived.
    fn update(&mut self, x: f64) -> Option<(f64, f64)> {
        if !self.started {
            self.started = true;
            self.shift = x;
        }
        self.ma += x;
        let d = x - self.shift;
        self.t1 += d;
        self.t2 += d * d;
        if self.window.len() < self.period - 1 {
            self.window.push(x);
            self.peak = self.t2;
            return None;
        }
        self.peak = if self.t2 > self.peak {
            self.t2
        } else {
            self.peak
        };
        let inv = self.inv;
        let m1 = self.t1 * inv;
        let mut var = self.t2 * inv - m1 * m1;
        let ma = self.ma;
        self.window.push(x);
        let old = self.window.get(0);
        self.ma -= old;
        let d = old - self.shift;
        self.t1 -= d;
        self.t2 -= d * d;
        self.bars -= 1;
        if var < RESEED_RATIO * (self.peak * inv) || self.bars == 0 {
            self.bars = 32 * self.period;
            (self.shift, self.t1, self.t2, var) = reseed(self.window.iter(), inv, x);
            self.peak = self.t2;
            if var < FLOOR_RATIO * (self.t2 * inv) {
                var = 0.0;
            }
            let d = old - self.shift;
            self.t1 -= d;
            self.t2 -= d * d;
        }
        self.window.pop_front();
        Some((var, ma))
    }
}

/// The band arithmetic of TA-Lib BBANDS (one multiply when both widths are equal).
#[inline]
fn bollinger(mid: f64, var: f64, up: f64, dn: f64) -> Bands {
    let sd = var.sqrt();
    if up == dn {
        let w = sd * up;
        Bands {
            upper: mid + w,
            middle: mid,
            lower: mid - w,
        }
    } else {
        Bands {
            upper: mid + sd * up,
            middle: mid,
            lower: mid - sd * dn,
        }
    }
}

fn check_bbands(
    period: usize,
    nbdev_up: f64,
    nbdev_dn: f64,
) -> Result<(usize, f64, f64), IndicatorError> {
    Ok((
        check_period("bbands", "period", period, 2)?,
        check_real(
            "bbands",
            "nbdev_up",
            nbdev_up,
            -TA_REAL_LIMIT,
            TA_REAL_LIMIT,
        )?,
        check_real(
            "bbands",
            "nbdev_dn",
            nbdev_dn,
            -TA_REAL_LIMIT,
            TA_REAL_LIMIT,
        )?,
    ))
}

/// Bollinger Bands: SMA(`period`) ± `nbdev` population standard deviations of `input`.
///
/// TA-Lib BBANDS (MA type SMA): lookback `period - 1`; middle = SMA; deviation from TA-Lib 0.8's
/// shifted, reseeded rolling variance (see the module docs). Negative multipliers are accepted,
/// as TA-Lib accepts them.
pub fn bbands(
    input: &[f64],
    period: usize,
    nbdev_up: f64,
    nbdev_dn: f64,
) -> Result<BandSeries, IndicatorError> {
    let mut out = BandSeries {
        upper: Vec::new(),
        middle: Vec::new(),
        lower: Vec::new(),
    };
    bbands_into(input, period, nbdev_up, nbdev_dn, &mut out)?;
    Ok(out)
}

/// [`bbands`] into caller-owned buffers (cleared first), so a hot loop reuses its allocations.
pub fn bbands_into(
    input: &[f64],
    period: usize,
    nbdev_up: f64,
    nbdev_dn: f64,
    out: &mut BandSeries,
) -> Result<(), IndicatorError> {
    let (period, up, dn) = check_bbands(period, nbdev_up, nbdev_dn)?;
    let n = input.len();
    let lb = period - 1;
    start(&mut out.upper, n, lb);
    start(&mut out.middle, n, lb);
    start(&mut out.lower, n, lb);
    if n <= lb {
        return Ok(());
    }
    let pf = period as f64;
    let mut mid_t = [0.0; TILE];
    let mut w_t = [0.0; TILE];
    variance_tiles::<true>(input, period, |var, sums| {
        let len = var.len();
        let (mid, w) = (&mut mid_t[..len], &mut w_t[..len]);
        // One pass for the divide and the square root (one per bar, the width scaled once when
        // both multipliers are equal, as `bollinger` does), then the three columns are appended
        // from the L1-resident tile.
        let scale = if up == dn { up } else { 1.0 };
        for (((m, w), &v), &s) in mid.iter_mut().zip(w.iter_mut()).zip(var).zip(sums) {
            *m = s / pf;
            *w = v.sqrt() * scale;
        }
        if up == dn {
            out.upper
                .extend(mid.iter().zip(w.iter()).map(|(&m, &w)| m + w));
            out.lower
                .extend(mid.iter().zip(w.iter()).map(|(&m, &w)| m - w));
        } else {
            out.upper
                .extend(mid.iter().zip(w.iter()).map(|(&m, &d)| m + d * up));
            out.lower
                .extend(mid.iter().zip(w.iter()).map(|(&m, &d)| m - d * dn));
        }
        out.middle.extend_from_slice(mid);
    });
    Ok(())
}

/// `out[i] = sqrt(values[i]) * scale` (exact when `scale` is 1). Out of line on purpose: with
/// the slices as its own arguments they are known not to alias and the loop compiles to packed
/// square roots.
#[inline(never)]
fn scaled_sqrt(values: &[f64], scale: f64, out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = v.sqrt() * scale;
    }
}

/// Streaming [`bbands`].
#[derive(Debug, Clone)]
pub struct Bbands {
    core: VarianceCore,
    up: f64,
    dn: f64,
}

impl Bbands {
    pub fn new(period: usize, nbdev_up: f64, nbdev_dn: f64) -> Result<Self, IndicatorError> {
        let (period, up, dn) = check_bbands(period, nbdev_up, nbdev_dn)?;
        Ok(Bbands {
            core: VarianceCore::new(period),
            up,
            dn,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<Bands> {
        let (var, sum) = self.core.update(x)?;
        Some(bollinger(
            sum / self.core.period as f64,
            var,
            self.up,
            self.dn,
        ))
    }
}

impl Streaming for Bbands {
    type Output = Bands;
    fn update(&mut self, candle: &Candle) -> Option<Bands> {
        self.update_value(candle.close)
    }
}

fn check_stddev(period: usize, nbdev: f64) -> Result<(usize, f64), IndicatorError> {
    Ok((
        check_period("stddev", "period", period, 2)?,
        check_real("stddev", "nbdev", nbdev, -TA_REAL_LIMIT, TA_REAL_LIMIT)?,
    ))
}

/// Rolling population standard deviation of `input` over `period` bars, times `nbdev`.
///
/// TA-Lib STDDEV: lookback `period - 1`; `sqrt(VAR) * nbdev` over TA-Lib 0.8's shifted,
/// reseeded rolling variance (see the module docs).
pub fn stddev(input: &[f64], period: usize, nbdev: f64) -> Result<Vec<f64>, IndicatorError> {
    let mut out = Vec::new();
    stddev_into(input, period, nbdev, &mut out)?;
    Ok(out)
}

/// [`stddev`] into a caller-owned buffer (cleared first), so a hot loop reuses its allocation.
pub fn stddev_into(
    input: &[f64],
    period: usize,
    nbdev: f64,
    out: &mut Vec<f64>,
) -> Result<(), IndicatorError> {
    let (period, nbdev) = check_stddev(period, nbdev)?;
    let n = input.len();
    let lb = period - 1;
    start(out, n, lb);
    if n <= lb {
        return Ok(());
    }
    let mut sd_t = [0.0; TILE];
    variance_tiles::<false>(input, period, |var, _| {
        let sd = &mut sd_t[..var.len()];
        scaled_sqrt(var, nbdev, sd);
        out.extend_from_slice(sd);
    });
    Ok(())
}

/// Streaming [`stddev`].
#[derive(Debug, Clone)]
pub struct StdDev {
    core: VarianceCore,
    nbdev: f64,
}

impl StdDev {
    pub fn new(period: usize, nbdev: f64) -> Result<Self, IndicatorError> {
        let (period, nbdev) = check_stddev(period, nbdev)?;
        Ok(StdDev {
            core: VarianceCore::new(period),
            nbdev,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        let (var, _) = self.core.update(x)?;
        Some(var.sqrt() * self.nbdev)
    }
}

impl Streaming for StdDev {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}
