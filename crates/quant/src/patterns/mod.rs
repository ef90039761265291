//! Pattern recognition over OHLC bars: Japanese candlestick patterns with TA-Lib's exact signals,
//! and chart patterns (swing points, support/resistance, double tops/bottoms, head and shoulders,
//! trend-line breakouts) found on swing points.
//!
//! Candlesticks copy TA-Lib 0.8.2 (PyPI `ta-lib` with its bundled C library) bar for bar — the same candle settings, the
//! same rolling-sum arithmetic, the same lookbacks — so a signal QuantDesk shows is the signal a
//! quant's `talib.CDL*` call shows; `tests/talib_patterns.rs` checks every bar against TA-Lib's
//! own output. Chart patterns have no such reference implementation, so every tolerance is a
//! documented parameter with a default, and nothing uses a bar that was not yet closed when the
//! pattern is reported: a swing point is only known `swing_window` bars after it (see
//! [`swing_points`]), and a pattern counts as confirmed on the bar whose close breaks it.

mod candles;
mod chart;
mod error;

pub use candles::{
    CandleHit, CandlePattern, CandleSetting, CandleSettings, CandleSignal, DARK_CLOUD_PENETRATION,
    RangeType, STAR_PENETRATION, cdl_dark_cloud_cover, cdl_doji, cdl_doji_star, cdl_dragonfly_doji,
    cdl_engulfing, cdl_evening_doji_star, cdl_evening_star, cdl_gravestone_doji, cdl_hammer,
    cdl_hanging_man, cdl_harami, cdl_harami_cross, cdl_inverted_hammer, cdl_long_legged_doji,
    cdl_marubozu, cdl_morning_doji_star, cdl_morning_star, cdl_piercing, cdl_shooting_star,
    cdl_spinning_top, cdl_three_black_crows, cdl_three_white_soldiers, scan_candles,
};
pub use chart::{
    ChartConfig, ChartPattern, ChartPatternKind, Direction, Level, LevelKind, Line, PatternPoint,
    PointRole, SwingKind, SwingPoint, double_tops_bottoms, head_and_shoulders, scan_chart_patterns,
    support_resistance, swing_points, trendline_breakouts,
};
pub use error::PatternError;
