//! Keltner channels as TA-Lib 0.8's `KC`: EMA of the typical price ± multiplier × Wilder ATR.
//!
//! The ATR here is private on purpose: inside KC both legs are seeded on the windows that end at
//! the channel's first bar (like MACD's fast EMA), so it is not the standalone ATR series.

use super::bands::{BandSeries, Bands};
use super::{TA_REAL_LIMIT, check_len, check_period, check_real};
use crate::indicators::{Candle, IndicatorError, Streaming};

fn check_keltner(
    period: usize,
    atr_period: usize,
    multiplier: f64,
) -> Result<(usize, usize, f64), IndicatorError> {
    Ok((
        check_period("keltner", "period", period, 2)?,
        check_period("keltner", "atr_period", atr_period, 1)?,
        check_real(
            "keltner",
            "multiplier",
            multiplier,
            -TA_REAL_LIMIT,
            TA_REAL_LIMIT,
        )?,
    ))
}

/// TA-Lib's typical price `(high + low + close) / 3`.
#[inline]
fn typical(h: f64, l: f64, c: f64) -> f64 {
    (h + l + c) / 3.0
}

/// TA-Lib's true range: the bar's range widened to yesterday's close.
#[inline]
fn true_range(h: f64, l: f64, prev_close: f64) -> f64 {
    let mut greatest = h - l;
    let v2 = (prev_close - h).abs();
    if v2 > greatest {
        greatest = v2;
    }
    let v3 = (prev_close - l).abs();
    if v3 > greatest {
        greatest = v3;
    }
    greatest
}

/// Wilder smoothing weights as TA-Lib 0.8's ATR derives them: `beta = (n - 1) / n`, then
/// `alpha = 1 - beta`; one step is `atr * beta + alpha * tr`.
fn wilder_weights(n: usize) -> (f64, f64) {
    let beta = (n - 1) as f64 / n as f64;
    (1.0 - beta, beta)
}

/// Keltner channels: middle = EMA(`period`) of the typical price, bands = middle ± `multiplier`
/// × ATR(`atr_period`) with Wilder smoothing.
///
/// TA-Lib KC: lookback `max(period - 1, atr_period)`; the EMA and the ATR are each seeded with
/// the mean over their own window ending at that first bar (so with the defaults the ATR seed is
/// the true ranges of bars 10..=19, not 1..=10); ATR period 1 is the true range itself.
pub fn keltner(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    atr_period: usize,
    multiplier: f64,
) -> Result<BandSeries, IndicatorError> {
    let (period, atr_period, mult) = check_keltner(period, atr_period, multiplier)?;
    let n = check_len("keltner", &[high.len(), low.len(), close.len()])?;
    let first = (period - 1).max(atr_period);
    if n <= first {
        return Ok(BandSeries::nan(n));
    }
    let tr = |t: usize| true_range(high[t], low[t], close[t - 1]);
    let tp = |t: usize| typical(high[t], low[t], close[t]);

    let mut ema_sum = 0.0;
    for t in first + 1 - period..=first {
        ema_sum += tp(t);
    }
    let mut ema = ema_sum / period as f64;
    let k = 2.0 / (period + 1) as f64;
    let (alpha, beta) = wilder_weights(atr_period);
    let mut atr = if atr_period == 1 {
        tr(first)
    } else {
        let mut s = 0.0;
        for t in first + 1 - atr_period..=first {
            s += tr(t);
        }
        s / atr_period as f64
    };

    let mut out = BandSeries {
        upper: Vec::with_capacity(n),
        middle: Vec::with_capacity(n),
        lower: Vec::with_capacity(n),
    };
    out.upper.resize(first, f64::NAN);
    out.middle.resize(first, f64::NAN);
    out.lower.resize(first, f64::NAN);
    for t in first..n {
        if t > first {
            ema = (tp(t) - ema) * k + ema;
            atr = if atr_period == 1 {
                tr(t)
            } else {
                atr * beta + alpha * tr(t)
            };
        }
        let w = atr * mult;
        out.upper.push(ema + w);
        out.middle.push(ema);
        out.lower.push(ema - w);
    }
    Ok(out)
}

/// Streaming [`keltner`].
#[derive(Debug, Clone)]
pub struct Keltner {
    period: usize,
    atr_period: usize,
    mult: f64,
    first: usize,
    k: f64,
    alpha: f64,
    beta: f64,
    seen: usize,
    prev_close: f64,
    ema_sum: f64,
    ema: f64,
    atr_sum: f64,
    atr: f64,
}

impl Keltner {
    pub fn new(period: usize, atr_period: usize, multiplier: f64) -> Result<Self, IndicatorError> {
        let (period, atr_period, mult) = check_keltner(period, atr_period, multiplier)?;
        let (alpha, beta) = wilder_weights(atr_period);
        Ok(Keltner {
            period,
            atr_period,
            mult,
            first: (period - 1).max(atr_period),
            k: 2.0 / (period + 1) as f64,
            alpha,
            beta,
            seen: 0,
            prev_close: f64::NAN,
            ema_sum: 0.0,
            ema: 0.0,
            atr_sum: 0.0,
            atr: 0.0,
        })
    }
}

impl Streaming for Keltner {
    type Output = Bands;
    fn update(&mut self, c: &Candle) -> Option<Bands> {
        let t = self.seen;
        self.seen += 1;
        let tp = typical(c.high, c.low, c.close);
        let tr = true_range(c.high, c.low, self.prev_close);
        self.prev_close = c.close;
        let first = self.first;
        if t + self.period > first {
            if t <= first {
                self.ema_sum += tp;
                if t == first {
                    self.ema = self.ema_sum / self.period as f64;
                }
            } else {
                self.ema = (tp - self.ema) * self.k + self.ema;
            }
        }
        if self.atr_period == 1 {
            self.atr = tr;
        } else if t + self.atr_period > first {
            if t <= first {
                self.atr_sum += tr;
                if t == first {
                    self.atr = self.atr_sum / self.atr_period as f64;
                }
            } else {
                self.atr = self.atr * self.beta + self.alpha * tr;
            }
        }
        if t < first {
            return None;
        }
        let w = self.atr * self.mult;
        Some(Bands {
            upper: self.ema + w,
            middle: self.ema,
            lower: self.ema - w,
        })
    }
}
