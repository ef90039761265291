//! Volume-weighted average price, session-anchored for intraday bars.

use super::{Window, check_len, check_period};
use crate::indicators::{Candle, IndicatorError, Streaming};

const SECONDS_PER_DAY: i64 = 86_400;

/// TA-Lib's typical price `(high + low + close) / 3`.
#[inline]
fn typical(h: f64, l: f64, c: f64) -> f64 {
    (h + l + c) / 3.0
}

/// A bar's `(price x volume, volume)` weight. A bar whose typical price or volume is not a finite
/// number carries no weight (TA-Lib VWAP's rule), so one bad print cannot poison the sums.
#[inline]
fn weight(h: f64, l: f64, c: f64, v: f64) -> (f64, f64) {
    let tp = typical(h, l, c);
    if tp.is_finite() && v.is_finite() {
        (tp * v, v)
    } else {
        (0.0, 0.0)
    }
}

#[inline]
fn ratio(pv: f64, v: f64) -> f64 {
    if v > 0.0 { pv / v } else { f64::NAN }
}

/// The anchored (`period == 0`) accumulator shared by batch and streaming.
#[derive(Debug, Clone, Default)]
struct Anchored {
    started: bool,
    day: i64,
    intraday: bool,
    all_pv: f64,
    all_v: f64,
    day_pv: f64,
    day_v: f64,
}

impl Anchored {
    fn update(&mut self, time: i64, pv: f64, v: f64) -> f64 {
        let day = time.div_euclid(SECONDS_PER_DAY);
        if self.started {
            if day == self.day {
                self.intraday = true;
            } else {
                self.day_pv = 0.0;
                self.day_v = 0.0;
            }
        }
        self.started = true;
        self.day = day;
        self.all_pv += pv;
        self.all_v += v;
        self.day_pv += pv;
        self.day_v += v;
        if self.intraday {
            ratio(self.day_pv, self.day_v)
        } else {
            ratio(self.all_pv, self.all_v)
        }
    }
}

/// Volume-weighted average of the typical price `(high + low + close) / 3`.
///
/// `period == 0` (default) — anchored VWAP, no warm-up:
/// - intraday bars: the sums restart at each UTC calendar day (`time` in Unix seconds), the
///   session VWAP intraday traders use. A series counts as intraday from the first bar that
///   shares its UTC day with the bar before it; until then (the series' first bar or first
///   session) it is anchored at the first bar, which for a series starting at a session's open is
///   the same thing.
/// - daily or coarser bars (no two bars on one UTC day): anchored at the first bar given, which
///   is TA-Lib VWAP exactly. Choose the anchor by choosing where the series starts.
///
/// `period == N > 0` — rolling VWAP over the last `N` bars regardless of sessions (warm-up
/// `N - 1`), for a stable daily-bar VWAP that does not depend on where the data starts.
///
/// A bar with a non-finite price or volume carries no weight (as in TA-Lib); where no volume has
/// traded in the window the value is `NaN` (TA-Lib prints its last value, or 0 before any).
/// `time` may be empty (then every bar is treated as one session).
pub fn vwap(
    time: &[i64],
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("vwap", "period", period, 0)?;
    let n = check_len("vwap", &[high.len(), low.len(), close.len(), volume.len()])?;
    if !time.is_empty() && time.len() != n {
        return Err(IndicatorError::LengthMismatch {
            indicator: "vwap".to_string(),
        });
    }
    let w = |t: usize| weight(high[t], low[t], close[t], volume[t]);
    let mut out = Vec::with_capacity(n);
    if period == 0 {
        let mut acc = Anchored::default();
        for t in 0..n {
            let (pv, v) = w(t);
            out.push(acc.update(time.get(t).copied().unwrap_or(0), pv, v));
        }
        return Ok(out);
    }
    let (mut sum_pv, mut sum_v) = (0.0, 0.0);
    for t in 0..n {
        let (pv, v) = w(t);
        sum_pv += pv;
        sum_v += v;
        if t >= period {
            let (old_pv, old_v) = w(t - period);
            sum_pv -= old_pv;
            sum_v -= old_v;
        }
        if (t + 1) % period == 0 {
            // Rebuild from the window every `period` bars so rounding left by departed bars
            // (a volume spike, say) cannot build up.
            (sum_pv, sum_v) = (0.0, 0.0);
            for j in t + 1 - period..=t {
                let (pv, v) = w(j);
                sum_pv += pv;
                sum_v += v;
            }
        }
        out.push(if t + 1 >= period {
            ratio(sum_pv, sum_v)
        } else {
            f64::NAN
        });
    }
    Ok(out)
}

/// Streaming [`vwap`]. `None` during warm-up and where no volume has traded in the window.
#[derive(Debug, Clone)]
pub struct Vwap {
    period: usize,
    anchored: Anchored,
    pv: Window,
    v: Window,
    seen: usize,
    sum_pv: f64,
    sum_v: f64,
}

impl Vwap {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("vwap", "period", period, 0)?;
        Ok(Vwap {
            period,
            anchored: Anchored::default(),
            pv: Window::new(period),
            v: Window::new(period),
            seen: 0,
            sum_pv: 0.0,
            sum_v: 0.0,
        })
    }
}

impl Streaming for Vwap {
    type Output = f64;
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let (pv, v) = weight(c.high, c.low, c.close, c.volume);
        let value = if self.period == 0 {
            self.anchored.update(c.time, pv, v)
        } else {
            self.seen += 1;
            self.sum_pv += pv;
            self.sum_v += v;
            if let Some(old) = self.pv.push(pv) {
                self.sum_pv -= old;
            }
            if let Some(old) = self.v.push(v) {
                self.sum_v -= old;
            }
            if self.seen.is_multiple_of(self.period) {
                (self.sum_pv, self.sum_v) = (0.0, 0.0);
                for (a, b) in self.pv.iter().zip(self.v.iter()) {
                    self.sum_pv += a;
                    self.sum_v += b;
                }
            }
            if self.seen < self.period {
                return None;
            }
            ratio(self.sum_pv, self.sum_v)
        };
        (!value.is_nan()).then_some(value)
    }
}
