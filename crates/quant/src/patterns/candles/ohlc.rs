//! The candle arithmetic TA-Lib's pattern functions share (`ta_utility.h`'s `TA_REALBODY`,
//! `TA_CANDLERANGE`, `TA_CANDLEAVERAGE`, ...), written with the same operations in the same order
//! so the floating-point results — and therefore every threshold comparison — are identical.

use super::settings::{CandleSetting, RangeType};

/// Four equal-length price columns, oldest first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ohlc<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

impl Ohlc<'_> {
    pub fn len(&self) -> usize {
        self.close.len()
    }

    /// TA-Lib's candle colour: white (+1) when `close >= open`, black (-1) otherwise.
    #[inline]
    pub fn color(&self, i: usize) -> i32 {
        if self.close[i] >= self.open[i] { 1 } else { -1 }
    }

    #[inline]
    pub fn white(&self, i: usize) -> bool {
        self.close[i] >= self.open[i]
    }

    #[inline]
    pub fn body(&self, i: usize) -> f64 {
        (self.close[i] - self.open[i]).abs()
    }

    #[inline]
    pub fn upper_shadow(&self, i: usize) -> f64 {
        self.high[i]
            - if self.white(i) {
                self.close[i]
            } else {
                self.open[i]
            }
    }

    #[inline]
    pub fn lower_shadow(&self, i: usize) -> f64 {
        (if self.white(i) {
            self.open[i]
        } else {
            self.close[i]
        }) - self.low[i]
    }

    /// Top of the real body (`fmax(open, close)`).
    #[inline]
    pub fn body_top(&self, i: usize) -> f64 {
        self.open[i].max(self.close[i])
    }

    /// Bottom of the real body (`fmin(open, close)`).
    #[inline]
    pub fn body_bottom(&self, i: usize) -> f64 {
        self.open[i].min(self.close[i])
    }

    #[inline]
    pub fn range(&self, set: &CandleSetting, i: usize) -> f64 {
        match set.range_type {
            RangeType::RealBody => self.body(i),
            RangeType::HighLow => self.high[i] - self.low[i],
            RangeType::Shadows => self.upper_shadow(i) + self.lower_shadow(i),
        }
    }
}

/// A TA-Lib rolling "period total" for one setting, describing bar `i - offset` while the scan
/// is at bar `i`. TA-Lib seeds it at the scan's first bar with a plain left-to-right sum and
/// then adds the new range and subtracts the oldest one per bar (`total += new - old`); we do the
/// same, seeded at the same bar, because a total built any other way differs in the last bits
/// and flips comparisons that sit exactly on a threshold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avg {
    set: CandleSetting,
    offset: usize,
    total: f64,
    trailing: usize,
}

impl Avg {
    /// Seeds the total for a scan starting at bar `start`. `start` is the pattern's lookback,
    /// which is at least `offset + avg_period`, so the window never reaches before bar 0.
    pub fn new(x: &Ohlc<'_>, set: CandleSetting, offset: usize, start: usize) -> Self {
        debug_assert!(start >= offset + set.avg_period);
        let end = start.saturating_sub(offset);
        let trailing = end.saturating_sub(set.avg_period);
        let mut total = 0.0;
        for k in trailing..end {
            total += x.range(&set, k);
        }
        Self {
            set,
            offset,
            total,
            trailing,
        }
    }

    /// `TA_CANDLEAVERAGE` for bar `i - offset`.
    #[inline]
    pub fn at(&self, x: &Ohlc<'_>, i: usize) -> f64 {
        let base = if self.set.avg_period != 0 {
            self.total / self.set.avg_period as f64
        } else {
            x.range(&self.set, i - self.offset)
        };
        let halve = if self.set.range_type == RangeType::Shadows {
            2.0
        } else {
            1.0
        };
        self.set.factor * base / halve
    }

    /// Moves the window on after bar `i` has been judged.
    #[inline]
    pub fn advance(&mut self, x: &Ohlc<'_>, i: usize) {
        if self.set.avg_period != 0 {
            self.total += x.range(&self.set, i - self.offset) - x.range(&self.set, self.trailing);
        }
        self.trailing += 1;
    }
}
