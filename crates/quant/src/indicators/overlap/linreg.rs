//! Linear-regression slope with TA-Lib 0.8's O(1) sliding sums and re-anchoring.

use super::{Window, check_period};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

/// Period-only constants of the least-squares fit, with `x` counting bars back from the newest
/// (0 = newest), as TA-Lib sets them up.
#[derive(Debug, Clone, Copy)]
struct Fit {
    p: f64,
    sum_x: f64,
    divisor: f64,
}

impl Fit {
    fn new(period: usize) -> Self {
        let p = period as f64;
        let sum_x = p * (period - 1) as f64 * 0.5;
        let sum_x_sqr = p * (period - 1) as f64 * (2 * period - 1) as f64 / 6.0;
        Fit {
            p,
            sum_x,
            divisor: sum_x * sum_x - p * sum_x_sqr,
        }
    }

    #[inline]
    fn slope(&self, sum_xy: f64, sum_y: f64) -> f64 {
        (self.p * sum_xy - self.sum_x * sum_y) / self.divisor
    }
}

/// Fresh sums over a window given oldest first: `(sum y, sum x*y, sum |y|)` with weights
/// `period - 1` down to 0 — the priming scan's order, so a rebuilt bar equals a fresh start.
fn window_sums(values: impl Iterator<Item = f64>, period: usize) -> (f64, f64, f64) {
    let mut sum_y = 0.0;
    let mut sum_xy = 0.0;
    let mut sum_abs = 0.0;
    let mut w = (period - 1) as f64;
    for y in values {
        sum_y += y;
        sum_xy += w * y;
        sum_abs += y.abs();
        w -= 1.0;
    }
    (sum_y, sum_xy, sum_abs)
}

/// Whether the sliding sums must be rebuilt: every `32 * period` bars, or when the value leaving
/// outweighs everything left (its rounding residue would swamp the window) — TA-Lib's triggers.
#[inline]
fn must_reseed(bars: usize, weighted_trailing: f64, sum_abs: f64) -> bool {
    bars == 0 || weighted_trailing.abs() > 100.0 * sum_abs
}

/// Slope per bar of the least-squares line through the last `period` values.
///
/// TA-Lib LINEARREG_SLOPE: lookback `period - 1`; `(n*Σxy - Σx*Σy) / (Σx² - n*Σx²)` with `x`
/// counting back from the newest bar; sums slid in O(1) and rebuilt every `32 * period` bars or
/// when a large value leaves the window.
pub fn linreg_slope(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("linreg_slope", "period", period, 2)?;
    let n = input.len();
    let lb = period - 1;
    if n <= lb {
        return Ok(nan_vec(n));
    }
    let fit = Fit::new(period);
    let (mut sum_y, mut sum_xy, mut sum_abs) = window_sums(input[..period].iter().copied(), period);
    let mut out = Vec::with_capacity(n);
    out.resize(lb, f64::NAN);
    out.push(fit.slope(sum_xy, sum_y));
    let reseed_every = 32 * period;
    let mut bars = reseed_every;
    for today in period..n {
        let trailing = input[today - period];
        let x = input[today];
        let weighted_trailing = fit.p * trailing;
        sum_xy = sum_xy + sum_y - weighted_trailing;
        sum_y = sum_y - trailing + x;
        sum_abs = sum_abs - trailing.abs() + x.abs();
        bars -= 1;
        if must_reseed(bars, weighted_trailing, sum_abs) {
            bars = reseed_every;
            (sum_y, sum_xy, sum_abs) =
                window_sums(input[today - lb..=today].iter().copied(), period);
        }
        out.push(fit.slope(sum_xy, sum_y));
    }
    Ok(out)
}

/// Streaming [`linreg_slope`].
#[derive(Debug, Clone)]
pub struct LinRegSlope {
    period: usize,
    fit: Fit,
    window: Window,
    primed: bool,
    sum_y: f64,
    sum_xy: f64,
    sum_abs: f64,
    bars: usize,
}

impl LinRegSlope {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("linreg_slope", "period", period, 2)?;
        Ok(LinRegSlope {
            period,
            fit: Fit::new(period),
            window: Window::new(period),
            primed: false,
            sum_y: 0.0,
            sum_xy: 0.0,
            sum_abs: 0.0,
            bars: 32 * period,
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        let leaving = self.window.push(x);
        if !self.primed {
            if self.window.len() < self.period {
                return None;
            }
            self.primed = true;
            (self.sum_y, self.sum_xy, self.sum_abs) = window_sums(self.window.iter(), self.period);
            return Some(self.fit.slope(self.sum_xy, self.sum_y));
        }
        let trailing = leaving.unwrap_or(f64::NAN);
        let weighted_trailing = self.fit.p * trailing;
        self.sum_xy = self.sum_xy + self.sum_y - weighted_trailing;
        self.sum_y = self.sum_y - trailing + x;
        self.sum_abs = self.sum_abs - trailing.abs() + x.abs();
        self.bars -= 1;
        if must_reseed(self.bars, weighted_trailing, self.sum_abs) {
            self.bars = 32 * self.period;
            (self.sum_y, self.sum_xy, self.sum_abs) = window_sums(self.window.iter(), self.period);
        }
        Some(self.fit.slope(self.sum_xy, self.sum_y))
    }
}

impl Streaming for LinRegSlope {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}
