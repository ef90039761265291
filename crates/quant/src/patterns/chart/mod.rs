//! Chart patterns found on swing points: support/resistance levels, double tops and bottoms,
//! head and shoulders (and inverse), and trend-line breakouts.
//!
//! Everything starts from [`swing_points`]: a swing high is a bar whose high is the highest of
//! the `swing_window` bars on each side (a swing low likewise with lows). Such a pivot is only
//! *known* `swing_window` bars after it happens, and the patterns respect that: a pattern is
//! confirmed on the first bar at or after its last pivot became known whose close breaks the
//! neckline (or trend line) by [`ChartConfig::breakout_margin`], and that decision reads no bar
//! after the confirming one. So running on more bars never changes or removes a pattern already
//! confirmed; it can only add new ones (a test checks this by replaying history bar by bar).
//!
//! Tolerances are relative (fractions of price), so the same defaults work for a $5 stock and an
//! index at 5,000 and do not need an ATR warm-up.

mod levels;
mod reversals;
mod trendlines;

pub use levels::{Level, LevelKind, support_resistance};
pub use reversals::{double_tops_bottoms, head_and_shoulders};
pub use trendlines::trendline_breakouts;

use super::PatternError;
use crate::indicators::Columns;

/// Tolerances for chart-pattern recognition. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartConfig {
    /// Bars on each side a pivot's high (low) must dominate; also how many bars late a pivot is
    /// known. Default 5 (a pivot is the extreme of an 11-bar window).
    pub swing_window: usize,
    /// Two prices are "equal" when they differ by at most this fraction of the larger one: the
    /// tops of a double top, the shoulders of a head and shoulders, pivots clustered into one
    /// support/resistance level. The head must also exceed the higher shoulder by more than
    /// this. Default 0.015 (1.5%).
    pub price_tolerance: f64,
    /// Minimum depth of the trough between double tops (peak between double bottoms), and of
    /// the head beyond the neckline, as a fraction of the pivot price. Default 0.03 (3%).
    pub min_depth: f64,
    /// A close must pass a neckline or trend line by this fraction of the line's price to count
    /// as a break, so a close a hair beyond the line is not a breakout. Default 0.005 (0.5%).
    pub breakout_margin: f64,
    /// A reversal pattern must break its neckline within this multiple of its own width (bars
    /// from its first to its last pivot) after its last pivot, or it expires. Default 1.0.
    pub max_breakout_wait: f64,
    /// Minimum pivots in a support/resistance level. Default 2.
    pub min_touches: usize,
}

impl Default for ChartConfig {
    fn default() -> Self {
        Self {
            swing_window: 5,
            price_tolerance: 0.015,
            min_depth: 0.03,
            breakout_margin: 0.005,
            max_breakout_wait: 1.0,
            min_touches: 2,
        }
    }
}

impl ChartConfig {
    /// Rejects settings that would make the scan meaningless (zero window, negative or
    /// non-finite tolerances).
    pub fn validate(&self) -> Result<(), PatternError> {
        if self.swing_window == 0 {
            return Err(PatternError::InvalidParam {
                param: "swing_window",
                expected: "at least 1 bar",
                value: 0.0,
            });
        }
        let fractions = [
            ("price_tolerance", self.price_tolerance),
            ("min_depth", self.min_depth),
            ("breakout_margin", self.breakout_margin),
        ];
        for (param, value) in fractions {
            if !value.is_finite() || value < 0.0 {
                return Err(PatternError::InvalidParam {
                    param,
                    expected: "a finite fraction >= 0",
                    value,
                });
            }
        }
        if !self.max_breakout_wait.is_finite() || self.max_breakout_wait <= 0.0 {
            return Err(PatternError::InvalidParam {
                param: "max_breakout_wait",
                expected: "a finite multiple > 0",
                value: self.max_breakout_wait,
            });
        }
        if self.min_touches == 0 {
            return Err(PatternError::InvalidParam {
                param: "min_touches",
                expected: "at least 1",
                value: 0.0,
            });
        }
        Ok(())
    }
}

/// Swing high or swing low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SwingKind {
    High,
    Low,
}

/// A pivot: the bar whose high (low) is the extreme of the window around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwingPoint {
    pub index: usize,
    pub kind: SwingKind,
    /// The bar's high for a swing high, its low for a swing low.
    pub price: f64,
    /// The bar at whose close the pivot became known: `index + swing_window`.
    pub confirmed_at: usize,
}

/// Bullish or bearish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Bullish,
    Bearish,
}

/// Which chart pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChartPatternKind {
    DoubleTop,
    DoubleBottom,
    HeadAndShoulders,
    InverseHeadAndShoulders,
    /// A close through a trend line drawn through two swing points: a falling resistance line
    /// broken upwards (bullish) or a rising support line broken downwards (bearish).
    TrendlineBreakout,
}

impl ChartPatternKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::DoubleTop => "double_top",
            Self::DoubleBottom => "double_bottom",
            Self::HeadAndShoulders => "head_and_shoulders",
            Self::InverseHeadAndShoulders => "inverse_head_and_shoulders",
            Self::TrendlineBreakout => "trendline_breakout",
        }
    }
}

/// What a point of a pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointRole {
    FirstTop,
    SecondTop,
    FirstBottom,
    SecondBottom,
    LeftShoulder,
    Head,
    RightShoulder,
    /// A trough (peak) the neckline is drawn through.
    Neckline,
    /// A swing point the trend line is drawn through.
    LinePivot,
}

/// One defining point of a pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternPoint {
    pub role: PointRole,
    pub index: usize,
    pub price: f64,
}

/// A straight line in (bar index, price) space, through two points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub start_index: usize,
    pub start_price: f64,
    pub end_index: usize,
    pub end_price: f64,
}

impl Line {
    pub(crate) fn horizontal(index: usize, price: f64) -> Self {
        Self {
            start_index: index,
            start_price: price,
            end_index: index,
            end_price: price,
        }
    }

    /// Price change per bar.
    pub fn slope(&self) -> f64 {
        if self.end_index == self.start_index {
            0.0
        } else {
            (self.end_price - self.start_price) / (self.end_index as f64 - self.start_index as f64)
        }
    }

    /// The line's price at bar `index` (extrapolated beyond its points).
    pub fn price_at(&self, index: usize) -> f64 {
        self.start_price + self.slope() * (index as f64 - self.start_index as f64)
    }
}

/// A recognised chart pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPattern {
    pub kind: ChartPatternKind,
    pub direction: Direction,
    /// The pivots and neckline points that form it, in bar order.
    pub points: Vec<PatternPoint>,
    /// The neckline (double tops/bottoms: horizontal through the trough/peak; head and
    /// shoulders: through the two troughs/peaks) or, for a breakout, the trend line.
    pub neckline: Line,
    /// The bar whose close broke the neckline or trend line, when that has happened.
    pub breakout_index: Option<usize>,
    /// The neckline's (line's) price at the breakout bar, or at the last bar if not broken yet.
    pub breakout_price: f64,
    /// Measured-move target: the pattern's height projected from the break.
    pub target: f64,
    /// Whether a close has broken the neckline (line). Unconfirmed patterns are still forming:
    /// their last pivot is known, they have not been invalidated or expired, but have not broken
    /// out either, so they may yet change.
    pub confirmed: bool,
    /// The bar at whose close the pattern is known as reported: the breakout bar when
    /// confirmed, else the bar its last pivot became known.
    pub known_at: usize,
}

/// Swing highs and lows of `columns` with a window of `window` bars each side, in bar order
/// (a bar that is both is listed as a high, then a low).
///
/// A bar is a swing high when its high is strictly above the `window` highs before it and at
/// least the `window` highs after it (so on a flat top the first bar is the pivot). Bars within
/// `window` of either end are never pivots: the window must be complete, which is what makes a
/// pivot known exactly `window` bars later and never revised afterwards.
pub fn swing_points(columns: &Columns<'_>, window: usize) -> Result<Vec<SwingPoint>, PatternError> {
    let (high, low, _) = hlc(columns)?;
    if window == 0 {
        return Err(PatternError::InvalidParam {
            param: "swing_window",
            expected: "at least 1 bar",
            value: 0.0,
        });
    }
    Ok(pivots(high, low, window))
}

pub(crate) fn pivots(high: &[f64], low: &[f64], k: usize) -> Vec<SwingPoint> {
    let n = high.len().min(low.len());
    let mut out = Vec::new();
    if n < 2 * k + 1 {
        return out;
    }
    for i in k..n - k {
        let (h, l) = (high[i], low[i]);
        let is_high =
            high[i - k..i].iter().all(|&x| h > x) && high[i + 1..=i + k].iter().all(|&x| h >= x);
        let is_low =
            low[i - k..i].iter().all(|&x| l < x) && low[i + 1..=i + k].iter().all(|&x| l <= x);
        if is_high {
            out.push(SwingPoint {
                index: i,
                kind: SwingKind::High,
                price: h,
                confirmed_at: i + k,
            });
        }
        if is_low {
            out.push(SwingPoint {
                index: i,
                kind: SwingKind::Low,
                price: l,
                confirmed_at: i + k,
            });
        }
    }
    out
}

/// High, low and close columns.
pub(crate) type Hlc<'a> = (&'a [f64], &'a [f64], &'a [f64]);

/// High, low and close columns after checking they line up (the open is not used).
pub(crate) fn hlc<'a>(columns: &Columns<'a>) -> Result<Hlc<'a>, PatternError> {
    let n = columns.close.len();
    if columns.high.len() != n || columns.low.len() != n {
        return Err(PatternError::LengthMismatch {
            open: columns.open.len(),
            high: columns.high.len(),
            low: columns.low.len(),
            close: n,
        });
    }
    Ok((columns.high, columns.low, columns.close))
}

/// `a` and `b` are equal within `tol` of the larger magnitude.
pub(crate) fn within(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs())
}

/// Every chart pattern: double tops/bottoms, head and shoulders (and inverse) and trend-line
/// breakouts, ordered by the bar they became known at, then kind.
pub fn scan_chart_patterns(
    columns: &Columns<'_>,
    config: &ChartConfig,
) -> Result<Vec<ChartPattern>, PatternError> {
    let mut all = double_tops_bottoms(columns, config)?;
    all.extend(head_and_shoulders(columns, config)?);
    all.extend(trendline_breakouts(columns, config)?);
    all.sort_by_key(|p| (p.known_at, p.kind, p.points.first().map_or(0, |q| q.index)));
    Ok(all)
}

#[cfg(test)]
mod tests;
