//! ADX with +DI and -DI.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{check_lengths, check_period, is_zero};

use super::super::volatility::true_range;

#[derive(Debug, Clone)]
struct AdxCore {
    period: usize,
    alpha: f64,
    beta: f64,
    prev: Option<(f64, f64, f64)>,
    bars: usize,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    sum_dx: f64,
    adx: f64,
}

impl AdxCore {
    fn new(period: usize) -> Self {
        let beta = (period - 1) as f64 / period as f64;
        Self {
            period,
            alpha: 1.0 - beta,
            beta,
            prev: None,
            bars: 0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            sum_dx: 0.0,
            adx: f64::NAN,
        }
    }

    /// `(adx, plus_di, minus_di)`; `adx` is `NaN` until its own, longer warm-up is over.
    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<(f64, f64, f64)> {
        let (prev_high, prev_low, prev_close) = self.prev.replace((high, low, close))?;
        self.bars += 1;
        let diff_p = high - prev_high;
        let diff_m = prev_low - low;
        // The larger move outside yesterday's range counts; a tie counts for neither.
        let plus1 = if diff_p > 0.0 && diff_p > diff_m {
            diff_p
        } else {
            0.0
        };
        let minus1 = if diff_m > 0.0 && diff_m > diff_p {
            diff_m
        } else {
            0.0
        };
        let tr1 = true_range(high, low, prev_close);
        let n = self.period;
        if self.bars < n {
            self.plus_dm += plus1;
            self.minus_dm += minus1;
            self.tr += tr1;
            return None;
        }
        self.plus_dm = self.plus_dm * self.beta + plus1;
        self.minus_dm = self.minus_dm * self.beta + minus1;
        self.tr = self.tr * self.beta + tr1;
        // The true-range sum is non-negative and only ever added to: test it exactly. The DIs
        // are ratios, so TA-Lib's fixed band on their sum is scale-free and kept.
        let (plus_di, minus_di, dx) = if self.tr > 0.0 {
            let minus_di = 100.0 * (self.minus_dm / self.tr);
            let plus_di = 100.0 * (self.plus_dm / self.tr);
            let sum = minus_di + plus_di;
            let dx = if is_zero(sum) {
                None
            } else {
                Some(100.0 * ((minus_di - plus_di).abs() / sum))
            };
            (plus_di, minus_di, dx)
        } else {
            (0.0, 0.0, None)
        };
        let first_adx = 2 * n - 1;
        if self.bars <= first_adx {
            if let Some(dx) = dx {
                self.sum_dx += dx;
            }
            if self.bars == first_adx {
                self.adx = self.sum_dx / n as f64;
            }
        } else if let Some(dx) = dx {
            self.adx = self.adx * self.beta + dx * self.alpha;
        }
        Some((self.adx, plus_di, minus_di))
    }
}

/// The three lines of [`adx`], each as long as the input, `NaN` during its own warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct AdxSeries {
    pub adx: Vec<f64>,
    pub plus_di: Vec<f64>,
    pub minus_di: Vec<f64>,
}

/// Average Directional Index with the directional indicators (TA-Lib `ADX`, `PLUS_DI`,
/// `MINUS_DI`): Wilder sums of +DM, −DM and true range; DI = 100·DM/TR; DX =
/// 100·|+DI − −DI|/(+DI + −DI); ADX = Wilder average of DX seeded with the mean of the first
/// `period` DX. TA-Lib convention: ±DI start at index `period`, ADX at `2·period − 1`.
///
/// Each line has its own warm-up.
pub fn adx(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<AdxSeries, IndicatorError> {
    check_period("adx", "period", period, 2)?;
    let len = check_lengths("adx", &[high.len(), low.len(), close.len()])?;
    let mut core = AdxCore::new(period);
    let mut adx = Vec::with_capacity(len);
    let mut plus = Vec::with_capacity(len);
    let mut minus = Vec::with_capacity(len);
    for i in 0..len {
        let (a, p, m) =
            core.step(high[i], low[i], close[i])
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        adx.push(a);
        plus.push(p);
        minus.push(m);
    }
    Ok(AdxSeries {
        adx,
        plus_di: plus,
        minus_di: minus,
    })
}

/// Streaming [`adx`]: `(adx, plus_di, minus_di)` from bar `period` on, with `adx` `NaN` until
/// bar `2·period − 1` — the same rows the batch form gives.
#[derive(Debug, Clone)]
pub struct Adx {
    core: AdxCore,
}

impl Adx {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("adx", "period", period, 2)?;
        Ok(Self {
            core: AdxCore::new(period),
        })
    }
}

impl Streaming for Adx {
    type Output = (f64, f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64, f64)> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}
