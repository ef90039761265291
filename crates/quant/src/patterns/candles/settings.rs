//! TA-Lib's "candle settings": what "long body", "short shadow", "near" and so on mean, each as
//! a factor times the average of some candle range over the previous bars. The defaults are
//! TA-Lib's (`TA_RestoreCandleDefaultSettings`), which is what makes our signals TA-Lib's.

/// Which part of a candle a setting measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeType {
    /// `|close - open|`.
    RealBody,
    /// `high - low`.
    HighLow,
    /// Upper plus lower shadow. Averages of this range are halved (TA-Lib's rule), so they
    /// compare with one shadow, not the pair.
    Shadows,
}

/// One candle setting: a value is compared with `factor` times the average `range_type` range of
/// the `avg_period` bars *before* the bar it describes. `avg_period == 0` means "this bar's own
/// range" (TA-Lib uses it so a long shadow is one longer than the candle's own body).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleSetting {
    pub range_type: RangeType,
    pub avg_period: usize,
    pub factor: f64,
}

impl CandleSetting {
    const fn new(range_type: RangeType, avg_period: usize, factor: f64) -> Self {
        Self {
            range_type,
            avg_period,
            factor,
        }
    }
}

/// The full set of TA-Lib candle settings. [`Default`] gives TA-Lib 0.8.2's values; change them
/// only knowingly, since the results then stop matching TA-Lib.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleSettings {
    /// Real body is long when longer than the average of the 10 previous real bodies.
    pub body_long: CandleSetting,
    /// Real body is very long when longer than 3 times that average (kept for completeness).
    pub body_very_long: CandleSetting,
    /// Real body is short when shorter than the average of the 10 previous real bodies.
    pub body_short: CandleSetting,
    /// Real body is a doji's when at most 10% of the average of the 10 previous high-low ranges.
    pub body_doji: CandleSetting,
    /// A shadow is long when longer than the candle's own real body.
    pub shadow_long: CandleSetting,
    /// A shadow is very long when longer than twice the candle's own real body.
    pub shadow_very_long: CandleSetting,
    /// A shadow is short when shorter than half the average of the 10 previous shadow sums.
    pub shadow_short: CandleSetting,
    /// A shadow is very short when shorter than 10% of the average of the 10 previous ranges.
    pub shadow_very_short: CandleSetting,
    /// "Near" is within 20% of the average of the 5 previous high-low ranges.
    pub near: CandleSetting,
    /// "Far" is at least 60% of the average of the 5 previous high-low ranges.
    pub far: CandleSetting,
    /// "Equal" is within 5% of the average of the 5 previous high-low ranges.
    pub equal: CandleSetting,
}

impl Default for CandleSettings {
    fn default() -> Self {
        use RangeType::{HighLow, RealBody, Shadows};
        Self {
            body_long: CandleSetting::new(RealBody, 10, 1.0),
            body_very_long: CandleSetting::new(RealBody, 10, 3.0),
            body_short: CandleSetting::new(RealBody, 10, 1.0),
            body_doji: CandleSetting::new(HighLow, 10, 0.1),
            shadow_long: CandleSetting::new(RealBody, 0, 1.0),
            shadow_very_long: CandleSetting::new(RealBody, 0, 2.0),
            shadow_short: CandleSetting::new(Shadows, 10, 1.0),
            shadow_very_short: CandleSetting::new(HighLow, 10, 0.1),
            near: CandleSetting::new(HighLow, 5, 0.2),
            far: CandleSetting::new(HighLow, 5, 0.6),
            equal: CandleSetting::new(HighLow, 5, 0.05),
        }
    }
}
