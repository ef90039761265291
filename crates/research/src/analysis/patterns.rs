//! `find_patterns`: candlestick patterns (TA-Lib's signals), chart patterns on swing points and
//! support/resistance levels, each with the bars that form it.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Symbol, Timeframe};
use quantdesk_quant::indicators::OwnedColumns;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, MarketData};

/// Bars scanned for patterns when no range is given: about a year of daily bars.
const DEFAULT_PATTERN_BARS: u32 = 250;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternsParams {
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// What to look for: "candlestick", "chart", "levels", or names such as "hammer", "engulfing", "double_top", "head_and_shoulders", "trendline_breakout". Default all.
    pub kinds: Option<Vec<String>>,
    /// Bar length (1Min..1Month), default 1Day.
    pub timeframe: Option<Timeframe>,
    /// First bar to scan, YYYY-MM-DD.
    pub start: Option<String>,
    /// Last bar to scan, YYYY-MM-DD.
    pub end: Option<String>,
    /// Bars to scan (default the last 250).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CandleOut {
    pub time: DateTime<Utc>,
    pub pattern: String,
    /// bullish, bearish or neutral.
    pub signal: String,
    /// TA-Lib's value: ±100, or ±80 for partial engulfing/harami.
    pub value: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PointOut {
    pub role: String,
    pub time: DateTime<Utc>,
    pub price: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartOut {
    pub kind: String,
    pub direction: String,
    pub confirmed: bool,
    /// The bars that form the pattern.
    pub points: Vec<PointOut>,
    /// Neckline or trend line, as its two end points.
    pub line: [PointOut; 2],
    pub breakout_time: Option<DateTime<Utc>>,
    pub breakout_price: f64,
    /// Measured-move target.
    pub target: f64,
    /// When the pattern could first be known (no hindsight before this bar).
    pub known_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LevelOut {
    pub kind: String,
    pub price: f64,
    pub low: f64,
    pub high: f64,
    pub touches: usize,
    pub first_touch: DateTime<Utc>,
    pub last_touch: DateTime<Utc>,
    pub strength: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PatternsOut {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bars_scanned: usize,
    pub candlesticks: Vec<CandleOut>,
    pub chart_patterns: Vec<ChartOut>,
    pub levels: Vec<LevelOut>,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

/// Which families and which patterns the caller asked for.
struct PatternSelection {
    candles: Option<Vec<quantdesk_quant::patterns::CandlePattern>>,
    chart: Option<Vec<quantdesk_quant::patterns::ChartPatternKind>>,
    levels: bool,
}

fn select_patterns(kinds: Option<Vec<String>>) -> Result<PatternSelection, Error> {
    use quantdesk_quant::patterns::{CandlePattern, ChartPatternKind};
    const CHART: [ChartPatternKind; 5] = [
        ChartPatternKind::DoubleTop,
        ChartPatternKind::DoubleBottom,
        ChartPatternKind::HeadAndShoulders,
        ChartPatternKind::InverseHeadAndShoulders,
        ChartPatternKind::TrendlineBreakout,
    ];
    let Some(kinds) = kinds.filter(|k| !k.is_empty()) else {
        return Ok(PatternSelection {
            candles: Some(Vec::new()),
            chart: Some(CHART.to_vec()),
            levels: true,
        });
    };
    let mut sel = PatternSelection {
        candles: None,
        chart: None,
        levels: false,
    };
    for raw in kinds {
        let name = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        match name.as_str() {
            "candlestick" | "candlesticks" | "candles" => sel.candles = Some(Vec::new()),
            "chart" | "charts" => sel.chart = Some(CHART.to_vec()),
            "levels" | "support_resistance" | "support" | "resistance" => sel.levels = true,
            _ => {
                if let Some(kind) = CHART.iter().find(|k| k.name() == name) {
                    sel.chart.get_or_insert_with(Vec::new).push(*kind);
                } else if let Some(p) = CandlePattern::from_name(&name) {
                    // An empty list means "all candlesticks"; a named one narrows only if not all.
                    match &mut sel.candles {
                        Some(list) if list.is_empty() => {}
                        Some(list) => list.push(p),
                        None => sel.candles = Some(vec![p]),
                    }
                } else {
                    let mut valid: Vec<&str> = vec!["candlestick", "chart", "levels"];
                    valid.extend(CHART.iter().map(|k| k.name()));
                    valid.extend(CandlePattern::ALL.iter().map(|p| p.name()));
                    return Err(Error::Invalid(format!(
                        "invalid 'kinds': unknown pattern '{raw}'; valid: {}",
                        valid.join(", ")
                    )));
                }
            }
        }
    }
    Ok(sel)
}

pub async fn find_patterns(
    market: &dyn MarketData,
    p: PatternsParams,
) -> Result<PatternsOut, Error> {
    use quantdesk_quant::patterns::{
        ChartConfig, scan_candles, scan_chart_patterns, support_resistance,
    };
    let selection = select_patterns(p.kinds)?;
    let limit = p.limit.or(if p.start.is_none() {
        Some(DEFAULT_PATTERN_BARS)
    } else {
        None
    });
    let (series, range) = super::history(
        market,
        p.symbol,
        p.timeframe,
        p.start.as_deref(),
        p.end.as_deref(),
        limit,
    )
    .await?;
    // Candlestick averages look back a few bars; give them the history before the window.
    let bars = &series.bars[range.start.saturating_sub(20)..range.end];
    let offset = range.start - range.start.saturating_sub(20);
    let columns = OwnedColumns::from_bars(bars);
    let view = columns.view();
    let at = |i: usize| bars.get(i).map_or(DateTime::UNIX_EPOCH, |b| b.time);
    let pattern_err = |e: quantdesk_quant::patterns::PatternError| Error::Invalid(e.to_string());
    let lower = |s: String| s.to_ascii_lowercase();

    let mut candlesticks = Vec::new();
    if let Some(kinds) = &selection.candles {
        for hit in scan_candles(&view, kinds)
            .map_err(pattern_err)?
            .into_iter()
            .filter(|h| h.index >= offset)
        {
            candlesticks.push(CandleOut {
                time: at(hit.index),
                pattern: hit.pattern.name().to_string(),
                signal: lower(format!("{:?}", hit.signal)),
                value: hit.value,
            });
        }
    }
    // Chart patterns and levels are judged on the requested window alone.
    let window = OwnedColumns::from_bars(&series.bars[range.clone()]);
    let wview = window.view();
    let wat = |i: usize| {
        series
            .bars
            .get(range.start + i)
            .map_or(DateTime::UNIX_EPOCH, |b| b.time)
    };
    let config = ChartConfig::default();
    let mut chart_patterns = Vec::new();
    if let Some(kinds) = &selection.chart {
        for cp in scan_chart_patterns(&wview, &config)
            .map_err(pattern_err)?
            .into_iter()
            .filter(|c| kinds.contains(&c.kind))
        {
            let point = |role: String, index: usize, price: f64| PointOut {
                role,
                time: wat(index),
                price,
            };
            chart_patterns.push(ChartOut {
                kind: cp.kind.name().to_string(),
                direction: lower(format!("{:?}", cp.direction)),
                confirmed: cp.confirmed,
                points: cp
                    .points
                    .iter()
                    .map(|q| point(snake(&format!("{:?}", q.role)), q.index, q.price))
                    .collect(),
                line: [
                    point(
                        "start".into(),
                        cp.neckline.start_index,
                        cp.neckline.start_price,
                    ),
                    point("end".into(), cp.neckline.end_index, cp.neckline.end_price),
                ],
                breakout_time: cp.breakout_index.map(wat),
                breakout_price: cp.breakout_price,
                target: cp.target,
                known_at: wat(cp.known_at),
            });
        }
    }
    let mut levels = Vec::new();
    if selection.levels {
        for l in support_resistance(&wview, &config).map_err(pattern_err)? {
            levels.push(LevelOut {
                kind: lower(format!("{:?}", l.kind)),
                price: l.price,
                low: l.low,
                high: l.high,
                touches: l.touches,
                first_touch: wat(l.first_touch),
                last_touch: wat(l.last_touch),
                strength: l.strength,
            });
        }
    }
    Ok(PatternsOut {
        symbol: series.symbol.clone(),
        timeframe: series.timeframe,
        from: wat(0),
        to: wat(range.len() - 1),
        bars_scanned: range.len(),
        candlesticks,
        chart_patterns,
        levels,
        source: series.provenance.source.clone(),
        as_of: wat(range.len() - 1),
    })
}

/// `LeftShoulder` → `left_shoulder`.
fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
