//! Japanese candlestick patterns with TA-Lib 0.8.2's exact signals.
//!
//! Each `cdl_*` function is the batch form of the TA-Lib function of the same name: one value
//! per bar, `100`/`-100` for a bullish/bearish hit (`80`/`-80` for TA-Lib's "bodies match on one
//! end" variants of engulfing and harami), `0` otherwise and during the warm-up TA-Lib calls
//! the lookback. They use [`CandleSettings::default`], TA-Lib's own settings, so the numbers are
//! TA-Lib's; [`CandlePattern::compute_with`] takes other settings.
//!
//! Like TA-Lib's Python wrapper, bars before the first bar with all four prices present (not
//! `NaN`) are skipped and score 0, and the scan starts there.

mod ohlc;
mod recognise;
mod settings;

pub use settings::{CandleSetting, CandleSettings, RangeType};

use self::ohlc::Ohlc;
use super::PatternError;
use crate::indicators::Columns;

/// The candlestick patterns QuantDesk recognises, each one TA-Lib function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandlePattern {
    Doji,
    DojiStar,
    DragonflyDoji,
    GravestoneDoji,
    LongLeggedDoji,
    Hammer,
    InvertedHammer,
    HangingMan,
    ShootingStar,
    SpinningTop,
    Marubozu,
    Engulfing,
    Harami,
    HaramiCross,
    Piercing,
    DarkCloudCover,
    MorningStar,
    EveningStar,
    MorningDojiStar,
    EveningDojiStar,
    ThreeWhiteSoldiers,
    ThreeBlackCrows,
}

/// What a pattern says about direction, as TA-Lib documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandleSignal {
    Bullish,
    Bearish,
    /// Indecision: TA-Lib reports these with a sign (always +100 for dojis, the candle's colour
    /// for a spinning top) but documents that the sign is not a direction.
    Neutral,
}

/// TA-Lib's default penetration for the star patterns: the third candle closes at least 30% into
/// the first candle's real body.
pub const STAR_PENETRATION: f64 = 0.3;
/// TA-Lib's default penetration for dark cloud cover: the black candle closes below the white
/// candle's midpoint.
pub const DARK_CLOUD_PENETRATION: f64 = 0.5;

impl CandlePattern {
    /// Every pattern, in a stable order (the enum's).
    pub const ALL: [CandlePattern; 22] = [
        Self::Doji,
        Self::DojiStar,
        Self::DragonflyDoji,
        Self::GravestoneDoji,
        Self::LongLeggedDoji,
        Self::Hammer,
        Self::InvertedHammer,
        Self::HangingMan,
        Self::ShootingStar,
        Self::SpinningTop,
        Self::Marubozu,
        Self::Engulfing,
        Self::Harami,
        Self::HaramiCross,
        Self::Piercing,
        Self::DarkCloudCover,
        Self::MorningStar,
        Self::EveningStar,
        Self::MorningDojiStar,
        Self::EveningDojiStar,
        Self::ThreeWhiteSoldiers,
        Self::ThreeBlackCrows,
    ];

    /// Snake-case name used by QuantDesk's tools, e.g. `three_white_soldiers`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Doji => "doji",
            Self::DojiStar => "doji_star",
            Self::DragonflyDoji => "dragonfly_doji",
            Self::GravestoneDoji => "gravestone_doji",
            Self::LongLeggedDoji => "long_legged_doji",
            Self::Hammer => "hammer",
            Self::InvertedHammer => "inverted_hammer",
            Self::HangingMan => "hanging_man",
            Self::ShootingStar => "shooting_star",
            Self::SpinningTop => "spinning_top",
            Self::Marubozu => "marubozu",
            Self::Engulfing => "engulfing",
            Self::Harami => "harami",
            Self::HaramiCross => "harami_cross",
            Self::Piercing => "piercing",
            Self::DarkCloudCover => "dark_cloud_cover",
            Self::MorningStar => "morning_star",
            Self::EveningStar => "evening_star",
            Self::MorningDojiStar => "morning_doji_star",
            Self::EveningDojiStar => "evening_doji_star",
            Self::ThreeWhiteSoldiers => "three_white_soldiers",
            Self::ThreeBlackCrows => "three_black_crows",
        }
    }

    /// The TA-Lib function computing it, e.g. `CDL3WHITESOLDIERS`.
    pub fn ta_lib_name(self) -> &'static str {
        match self {
            Self::Doji => "CDLDOJI",
            Self::DojiStar => "CDLDOJISTAR",
            Self::DragonflyDoji => "CDLDRAGONFLYDOJI",
            Self::GravestoneDoji => "CDLGRAVESTONEDOJI",
            Self::LongLeggedDoji => "CDLLONGLEGGEDDOJI",
            Self::Hammer => "CDLHAMMER",
            Self::InvertedHammer => "CDLINVERTEDHAMMER",
            Self::HangingMan => "CDLHANGINGMAN",
            Self::ShootingStar => "CDLSHOOTINGSTAR",
            Self::SpinningTop => "CDLSPINNINGTOP",
            Self::Marubozu => "CDLMARUBOZU",
            Self::Engulfing => "CDLENGULFING",
            Self::Harami => "CDLHARAMI",
            Self::HaramiCross => "CDLHARAMICROSS",
            Self::Piercing => "CDLPIERCING",
            Self::DarkCloudCover => "CDLDARKCLOUDCOVER",
            Self::MorningStar => "CDLMORNINGSTAR",
            Self::EveningStar => "CDLEVENINGSTAR",
            Self::MorningDojiStar => "CDLMORNINGDOJISTAR",
            Self::EveningDojiStar => "CDLEVENINGDOJISTAR",
            Self::ThreeWhiteSoldiers => "CDL3WHITESOLDIERS",
            Self::ThreeBlackCrows => "CDL3BLACKCROWS",
        }
    }

    /// One-sentence definition in TA-Lib's terms ("long" and "short" are relative to the
    /// average of the previous bars, see [`CandleSettings`]).
    pub fn description(self) -> &'static str {
        match self {
            Self::Doji => {
                "Open and close nearly equal (body at most 10% of the average range): indecision."
            }
            Self::DojiStar => {
                "A long candle followed by a doji whose body gaps away from it: a possible reversal."
            }
            Self::DragonflyDoji => {
                "Doji with a long lower shadow and almost no upper shadow: sellers were rejected."
            }
            Self::GravestoneDoji => {
                "Doji with a long upper shadow and almost no lower shadow: buyers were rejected."
            }
            Self::LongLeggedDoji => {
                "Doji with at least one long shadow: wide swings that ended where they began."
            }
            Self::Hammer => {
                "Small body near the prior low with a long lower shadow and almost no upper shadow: bullish after a decline."
            }
            Self::InvertedHammer => {
                "Small body gapping down with a long upper shadow and almost no lower shadow: bullish after a decline."
            }
            Self::HangingMan => {
                "Small body near the prior high with a long lower shadow and almost no upper shadow: bearish after a rise."
            }
            Self::ShootingStar => {
                "Small body gapping up with a long upper shadow and almost no lower shadow: bearish after a rise."
            }
            Self::SpinningTop => {
                "Small body with shadows longer than the body on both sides: indecision."
            }
            Self::Marubozu => {
                "Long body with almost no shadows: one side controlled the whole session."
            }
            Self::Engulfing => {
                "A real body that engulfs the previous opposite-coloured body: reversal in its colour's direction."
            }
            Self::Harami => {
                "A short body inside the previous long opposite body: the move is losing force."
            }
            Self::HaramiCross => "A doji inside the previous long body: a stronger harami.",
            Self::Piercing => {
                "A long black candle, then a long white one opening below its low and closing above its midpoint: bullish."
            }
            Self::DarkCloudCover => {
                "A long white candle, then a black one opening above its high and closing below its midpoint: bearish."
            }
            Self::MorningStar => {
                "Long black candle, a short body gapping down, then a white candle closing well into the first body: bullish."
            }
            Self::EveningStar => {
                "Long white candle, a short body gapping up, then a black candle closing well into the first body: bearish."
            }
            Self::MorningDojiStar => "A morning star whose middle candle is a doji: bullish.",
            Self::EveningDojiStar => "An evening star whose middle candle is a doji: bearish.",
            Self::ThreeWhiteSoldiers => {
                "Three white candles with higher closes, each opening within the previous body, short upper shadows: bullish."
            }
            Self::ThreeBlackCrows => {
                "After a white candle, three black candles with lower closes, each opening within the previous body: bearish."
            }
        }
    }

    /// Bars the pattern spans, ending at the bar its signal is reported on.
    pub fn bars(self) -> usize {
        match self {
            Self::Doji
            | Self::DragonflyDoji
            | Self::GravestoneDoji
            | Self::LongLeggedDoji
            | Self::Hammer
            | Self::InvertedHammer
            | Self::HangingMan
            | Self::ShootingStar
            | Self::SpinningTop
            | Self::Marubozu => 1,
            Self::DojiStar
            | Self::Engulfing
            | Self::Harami
            | Self::HaramiCross
            | Self::Piercing
            | Self::DarkCloudCover => 2,
            Self::MorningStar
            | Self::EveningStar
            | Self::MorningDojiStar
            | Self::EveningDojiStar
            | Self::ThreeWhiteSoldiers => 3,
            Self::ThreeBlackCrows => 4,
        }
    }

    /// Whether TA-Lib documents the sign of this pattern's value as not being a direction.
    pub fn is_neutral(self) -> bool {
        matches!(
            self,
            Self::Doji
                | Self::DragonflyDoji
                | Self::GravestoneDoji
                | Self::LongLeggedDoji
                | Self::SpinningTop
        )
    }

    /// Finds a pattern by [`name`](Self::name) or [`ta_lib_name`](Self::ta_lib_name), any case.
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.trim();
        Self::ALL.into_iter().find(|p| {
            p.name().eq_ignore_ascii_case(wanted) || p.ta_lib_name().eq_ignore_ascii_case(wanted)
        })
    }

    /// TA-Lib's values over `columns` with TA-Lib's settings and default penetrations.
    pub fn compute(self, columns: &Columns<'_>) -> Result<Vec<i32>, PatternError> {
        self.compute_with(columns, &CandleSettings::default())
    }

    /// As [`compute`](Self::compute) with other candle settings.
    pub fn compute_with(
        self,
        columns: &Columns<'_>,
        settings: &CandleSettings,
    ) -> Result<Vec<i32>, PatternError> {
        let s = settings;
        run(columns, |x| match self {
            Self::Doji => recognise::doji(x, s),
            Self::DojiStar => recognise::doji_star(x, s),
            Self::DragonflyDoji => recognise::dragonfly_doji(x, s),
            Self::GravestoneDoji => recognise::gravestone_doji(x, s),
            Self::LongLeggedDoji => recognise::long_legged_doji(x, s),
            Self::Hammer => recognise::hammer(x, s),
            Self::InvertedHammer => recognise::inverted_hammer(x, s),
            Self::HangingMan => recognise::hanging_man(x, s),
            Self::ShootingStar => recognise::shooting_star(x, s),
            Self::SpinningTop => recognise::spinning_top(x, s),
            Self::Marubozu => recognise::marubozu(x, s),
            Self::Engulfing => recognise::engulfing(x),
            Self::Harami => recognise::harami(x, s),
            Self::HaramiCross => recognise::harami_cross(x, s),
            Self::Piercing => recognise::piercing(x, s),
            Self::DarkCloudCover => recognise::dark_cloud_cover(x, s, DARK_CLOUD_PENETRATION),
            Self::MorningStar => recognise::morning_star(x, s, STAR_PENETRATION),
            Self::EveningStar => recognise::evening_star(x, s, STAR_PENETRATION),
            Self::MorningDojiStar => recognise::morning_doji_star(x, s, STAR_PENETRATION),
            Self::EveningDojiStar => recognise::evening_doji_star(x, s, STAR_PENETRATION),
            Self::ThreeWhiteSoldiers => recognise::three_white_soldiers(x, s),
            Self::ThreeBlackCrows => recognise::three_black_crows(x, s),
        })
    }
}

impl std::fmt::Display for CandlePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One recognised candlestick pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleHit {
    /// The bar the pattern completes on (its last candle), the bar TA-Lib reports it on.
    pub index: usize,
    pub pattern: CandlePattern,
    pub signal: CandleSignal,
    /// TA-Lib's raw value: ±100, or ±80 for the partial engulfing/harami variants.
    pub value: i32,
    /// `|value| / 100`: 1.0 for a full pattern, 0.8 for TA-Lib's one-end-matching variants.
    pub strength: f64,
}

/// Every hit of the `kinds` patterns (all of them when `kinds` is empty) over `columns`, ordered
/// by bar and then by pattern, with TA-Lib's settings and default penetrations.
pub fn scan_candles(
    columns: &Columns<'_>,
    kinds: &[CandlePattern],
) -> Result<Vec<CandleHit>, PatternError> {
    let kinds: &[CandlePattern] = if kinds.is_empty() {
        &CandlePattern::ALL
    } else {
        kinds
    };
    let mut hits = Vec::new();
    for &pattern in kinds {
        let values = pattern.compute(columns)?;
        for (index, &value) in values.iter().enumerate().filter(|(_, v)| **v != 0) {
            let signal = if pattern.is_neutral() {
                CandleSignal::Neutral
            } else if value > 0 {
                CandleSignal::Bullish
            } else {
                CandleSignal::Bearish
            };
            hits.push(CandleHit {
                index,
                pattern,
                signal,
                value,
                strength: f64::from(value.unsigned_abs()) / 100.0,
            });
        }
    }
    hits.sort_by_key(|h| (h.index, h.pattern));
    hits.dedup_by_key(|h| (h.index, h.pattern));
    Ok(hits)
}

/// Checks the columns, skips leading bars with a missing price (as TA-Lib's Python wrapper
/// does) and runs `f` on the rest.
fn run(
    columns: &Columns<'_>,
    f: impl FnOnce(&Ohlc<'_>) -> Vec<i32>,
) -> Result<Vec<i32>, PatternError> {
    let (open, high, low, close) = (columns.open, columns.high, columns.low, columns.close);
    let n = close.len();
    if open.len() != n || high.len() != n || low.len() != n {
        return Err(PatternError::LengthMismatch {
            open: open.len(),
            high: high.len(),
            low: low.len(),
            close: n,
        });
    }
    let mut out = vec![0; n];
    let first = (0..n)
        .find(|&i| !(open[i].is_nan() || high[i].is_nan() || low[i].is_nan() || close[i].is_nan()));
    if let Some(b) = first {
        let x = Ohlc {
            open: &open[b..],
            high: &high[b..],
            low: &low[b..],
            close: &close[b..],
        };
        out[b..].copy_from_slice(&f(&x));
    }
    Ok(out)
}

fn check_penetration(penetration: f64) -> Result<(), PatternError> {
    // TA-Lib rejects negative penetrations (TA_BAD_PARAM); NaN would silently never match.
    if penetration.is_nan() || penetration < 0.0 {
        return Err(PatternError::InvalidParam {
            param: "penetration",
            expected: "a number >= 0",
            value: penetration,
        });
    }
    Ok(())
}

macro_rules! batch {
    ($(#[$doc:meta])* $name:ident => $variant:ident) => {
        $(#[$doc])*
        pub fn $name(columns: &Columns<'_>) -> Result<Vec<i32>, PatternError> {
            CandlePattern::$variant.compute(columns)
        }
    };
}

batch!(/// TA-Lib `CDLDOJI`: 100 on a doji.
    cdl_doji => Doji);
batch!(/// TA-Lib `CDLDOJISTAR`: ±100 (against the first candle's colour).
    cdl_doji_star => DojiStar);
batch!(/// TA-Lib `CDLDRAGONFLYDOJI`: 100.
    cdl_dragonfly_doji => DragonflyDoji);
batch!(/// TA-Lib `CDLGRAVESTONEDOJI`: 100.
    cdl_gravestone_doji => GravestoneDoji);
batch!(/// TA-Lib `CDLLONGLEGGEDDOJI`: 100.
    cdl_long_legged_doji => LongLeggedDoji);
batch!(/// TA-Lib `CDLHAMMER`: 100.
    cdl_hammer => Hammer);
batch!(/// TA-Lib `CDLINVERTEDHAMMER`: 100.
    cdl_inverted_hammer => InvertedHammer);
batch!(/// TA-Lib `CDLHANGINGMAN`: -100.
    cdl_hanging_man => HangingMan);
batch!(/// TA-Lib `CDLSHOOTINGSTAR`: -100.
    cdl_shooting_star => ShootingStar);
batch!(/// TA-Lib `CDLSPINNINGTOP`: ±100 by candle colour.
    cdl_spinning_top => SpinningTop);
batch!(/// TA-Lib `CDLMARUBOZU`: ±100 by candle colour.
    cdl_marubozu => Marubozu);
batch!(/// TA-Lib `CDLENGULFING`: ±100, or ±80 when the bodies share one end.
    cdl_engulfing => Engulfing);
batch!(/// TA-Lib `CDLHARAMI`: ±100, or ±80 when the bodies share one end.
    cdl_harami => Harami);
batch!(/// TA-Lib `CDLHARAMICROSS`: ±100, or ±80 when the bodies share one end.
    cdl_harami_cross => HaramiCross);
batch!(/// TA-Lib `CDLPIERCING`: 100.
    cdl_piercing => Piercing);
batch!(/// TA-Lib `CDL3WHITESOLDIERS`: 100.
    cdl_three_white_soldiers => ThreeWhiteSoldiers);
batch!(/// TA-Lib `CDL3BLACKCROWS`: -100.
    cdl_three_black_crows => ThreeBlackCrows);

/// Runs a penetration pattern after checking the parameter.
fn with_penetration(
    columns: &Columns<'_>,
    penetration: f64,
    f: fn(&Ohlc<'_>, &CandleSettings, f64) -> Vec<i32>,
) -> Result<Vec<i32>, PatternError> {
    check_penetration(penetration)?;
    let settings = CandleSettings::default();
    run(columns, |x| f(x, &settings, penetration))
}

/// TA-Lib `CDLDARKCLOUDCOVER`: -100. TA-Lib's default penetration is
/// [`DARK_CLOUD_PENETRATION`] (0.5).
pub fn cdl_dark_cloud_cover(
    columns: &Columns<'_>,
    penetration: f64,
) -> Result<Vec<i32>, PatternError> {
    with_penetration(columns, penetration, recognise::dark_cloud_cover)
}

/// TA-Lib `CDLMORNINGSTAR`: 100. TA-Lib's default penetration is [`STAR_PENETRATION`] (0.3).
pub fn cdl_morning_star(columns: &Columns<'_>, penetration: f64) -> Result<Vec<i32>, PatternError> {
    with_penetration(columns, penetration, recognise::morning_star)
}

/// TA-Lib `CDLEVENINGSTAR`: -100. TA-Lib's default penetration is [`STAR_PENETRATION`] (0.3).
pub fn cdl_evening_star(columns: &Columns<'_>, penetration: f64) -> Result<Vec<i32>, PatternError> {
    with_penetration(columns, penetration, recognise::evening_star)
}

/// TA-Lib `CDLMORNINGDOJISTAR`: 100. Default penetration [`STAR_PENETRATION`] (0.3).
pub fn cdl_morning_doji_star(
    columns: &Columns<'_>,
    penetration: f64,
) -> Result<Vec<i32>, PatternError> {
    with_penetration(columns, penetration, recognise::morning_doji_star)
}

/// TA-Lib `CDLEVENINGDOJISTAR`: -100. Default penetration [`STAR_PENETRATION`] (0.3).
pub fn cdl_evening_doji_star(
    columns: &Columns<'_>,
    penetration: f64,
) -> Result<Vec<i32>, PatternError> {
    with_penetration(columns, penetration, recognise::evening_doji_star)
}

#[cfg(test)]
mod tests;
