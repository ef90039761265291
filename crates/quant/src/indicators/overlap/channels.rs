//! Price channels from rolling highs and lows: Donchian channels and the Ichimoku cloud.

use super::bands::{BandSeries, Bands};
use super::{RollingExtreme, Window, check_len, check_period};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

/// Midpoint of a rolling high and low, `(hh + ll) / 2`.
#[inline]
fn mid(hh: f64, ll: f64) -> f64 {
    (hh + ll) / 2.0
}

/// Rolling highest high and lowest low of one period, with its warm-up.
#[derive(Debug, Clone)]
struct HighLow {
    period: usize,
    seen: usize,
    hi: RollingExtreme,
    lo: RollingExtreme,
}

impl HighLow {
    fn new(period: usize) -> Self {
        HighLow {
            period,
            seen: 0,
            hi: RollingExtreme::new(period, true),
            lo: RollingExtreme::new(period, false),
        }
    }

    /// `(highest high, lowest low)` of the last `period` bars once that many have arrived.
    fn update(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        self.seen += 1;
        let hh = self.hi.push(high);
        let ll = self.lo.push(low);
        (self.seen >= self.period).then_some((hh, ll))
    }
}

// ---------------------------------------------------------------------------------------------
// Donchian

/// Donchian channels: highest high and lowest low of the last `period` bars (current bar
/// included) and their midpoint.
///
/// TA-Lib DONCHIAN: lookback `period - 1`, period at least 2. A breakout test "close above the
/// upper band" must compare with the previous bar's band, since the current bar is inside it.
pub fn donchian(high: &[f64], low: &[f64], period: usize) -> Result<BandSeries, IndicatorError> {
    let period = check_period("donchian", "period", period, 2)?;
    let n = check_len("donchian", &[high.len(), low.len()])?;
    let mut out = BandSeries::nan(n);
    let mut hl = HighLow::new(period);
    for t in 0..n {
        if let Some((hh, ll)) = hl.update(high[t], low[t]) {
            out.upper[t] = hh;
            out.middle[t] = mid(hh, ll);
            out.lower[t] = ll;
        }
    }
    Ok(out)
}

/// Streaming [`donchian`].
#[derive(Debug, Clone)]
pub struct Donchian {
    hl: HighLow,
}

impl Donchian {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("donchian", "period", period, 2)?;
        Ok(Donchian {
            hl: HighLow::new(period),
        })
    }
}

impl Streaming for Donchian {
    type Output = Bands;
    fn update(&mut self, c: &Candle) -> Option<Bands> {
        let (hh, ll) = self.hl.update(c.high, c.low)?;
        Some(Bands {
            upper: hh,
            middle: mid(hh, ll),
            lower: ll,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Ichimoku

/// One bar of Ichimoku; a field is `NaN` until its own warm-up is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IchimokuValue {
    pub tenkan: f64,
    pub kijun: f64,
    pub senkou_a: f64,
    pub senkou_b: f64,
    pub chikou: f64,
}

/// Whole Ichimoku columns.
#[derive(Debug, Clone, PartialEq)]
pub struct IchimokuSeries {
    pub tenkan: Vec<f64>,
    pub kijun: Vec<f64>,
    pub senkou_a: Vec<f64>,
    pub senkou_b: Vec<f64>,
    pub chikou: Vec<f64>,
}

fn check_ichimoku(
    tenkan: usize,
    kijun: usize,
    senkou_b: usize,
    displacement: usize,
) -> Result<(usize, usize, usize, usize), IndicatorError> {
    Ok((
        check_period("ichimoku", "tenkan_period", tenkan, 1)?,
        check_period("ichimoku", "kijun_period", kijun, 1)?,
        check_period("ichimoku", "senkou_b_period", senkou_b, 1)?,
        check_period("ichimoku", "displacement", displacement, 0)?,
    ))
}

/// Ichimoku Kinko Hyo, in a form a backtest can use bar by bar without look-ahead (Ichimoku is
/// not in TA-Lib; these are Hosoda's standard definitions, defaults 9/26/52/26).
///
/// On a chart two lines are displaced: the cloud is drawn `displacement` bars *ahead* of the bar
/// it is computed on, and the lagging span `displacement` bars *behind*. Here every output at
/// index `t` uses only bars `..= t`:
/// - `tenkan[t]` = midpoint of the highest high and lowest low of the last `tenkan` bars
///   (warm-up `tenkan - 1`); `kijun[t]` likewise over `kijun` bars (warm-up `kijun - 1`).
/// - `senkou_a[t]`, `senkou_b[t]` = the cloud *as drawn over bar `t`*: `(tenkan + kijun) / 2`
///   and the `senkou_b`-bar midpoint computed at bar `t - displacement`. So "price above the
///   cloud" is `close[t] > max(senkou_a[t], senkou_b[t])` with no shifting. Warm-up
///   `max(tenkan, kijun) - 1 + displacement` and `senkou_b - 1 + displacement`. (The cloud the
///   chart shows *ahead* of the last bar is this series `displacement` bars in the future.)
/// - `chikou[t]` = `close[t]`, the lagging span's value computed at `t`; a chart draws it at
///   `t - displacement`, so "lagging span above price" is `chikou[t] > close[t - displacement]`.
pub fn ichimoku(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    tenkan: usize,
    kijun: usize,
    senkou_b: usize,
    displacement: usize,
) -> Result<IchimokuSeries, IndicatorError> {
    let (tenkan, kijun, senkou_b, d) = check_ichimoku(tenkan, kijun, senkou_b, displacement)?;
    let n = check_len("ichimoku", &[high.len(), low.len(), close.len()])?;
    let mut out = IchimokuSeries {
        tenkan: nan_vec(n),
        kijun: nan_vec(n),
        senkou_a: nan_vec(n),
        senkou_b: nan_vec(n),
        chikou: close.to_vec(),
    };
    let mut t_hl = HighLow::new(tenkan);
    let mut k_hl = HighLow::new(kijun);
    let mut b_hl = HighLow::new(senkou_b);
    for t in 0..n {
        let (h, l) = (high[t], low[t]);
        let tv = t_hl.update(h, l).map(|(a, b)| mid(a, b));
        let kv = k_hl.update(h, l).map(|(a, b)| mid(a, b));
        let bv = b_hl.update(h, l).map(|(a, b)| mid(a, b));
        if let Some(v) = tv {
            out.tenkan[t] = v;
        }
        if let Some(v) = kv {
            out.kijun[t] = v;
        }
        if t + d < n {
            if let (Some(a), Some(b)) = (tv, kv) {
                out.senkou_a[t + d] = (a + b) / 2.0;
            }
            if let Some(v) = bv {
                out.senkou_b[t + d] = v;
            }
        }
    }
    Ok(out)
}

/// Streaming [`ichimoku`]. Answers from the first bar (the lagging span has no warm-up); fields
/// still warming up are `NaN`, exactly where the batch columns are.
#[derive(Debug, Clone)]
pub struct Ichimoku {
    t_hl: HighLow,
    k_hl: HighLow,
    b_hl: HighLow,
    /// Cloud values computed on the last `displacement + 1` bars, oldest first.
    span_a: Window,
    span_b: Window,
    displacement: usize,
}

impl Ichimoku {
    pub fn new(
        tenkan: usize,
        kijun: usize,
        senkou_b: usize,
        displacement: usize,
    ) -> Result<Self, IndicatorError> {
        let (tenkan, kijun, senkou_b, d) = check_ichimoku(tenkan, kijun, senkou_b, displacement)?;
        Ok(Ichimoku {
            t_hl: HighLow::new(tenkan),
            k_hl: HighLow::new(kijun),
            b_hl: HighLow::new(senkou_b),
            span_a: Window::new(d + 1),
            span_b: Window::new(d + 1),
            displacement: d,
        })
    }
}

impl Streaming for Ichimoku {
    type Output = IchimokuValue;
    fn update(&mut self, c: &Candle) -> Option<IchimokuValue> {
        let (h, l) = (c.high, c.low);
        let tenkan = self.t_hl.update(h, l).map_or(f64::NAN, |(a, b)| mid(a, b));
        let kijun = self.k_hl.update(h, l).map_or(f64::NAN, |(a, b)| mid(a, b));
        let span_b = self.b_hl.update(h, l).map_or(f64::NAN, |(a, b)| mid(a, b));
        let span_a = if tenkan.is_nan() || kijun.is_nan() {
            f64::NAN
        } else {
            (tenkan + kijun) / 2.0
        };
        self.span_a.push(span_a);
        self.span_b.push(span_b);
        let (senkou_a, senkou_b) = if self.span_a.len() > self.displacement {
            (self.span_a.get(0), self.span_b.get(0))
        } else {
            (f64::NAN, f64::NAN)
        };
        Some(IchimokuValue {
            tenkan,
            kijun,
            senkou_a,
            senkou_b,
            chikou: c.close,
        })
    }
}
