//! Analysis tools: indicators, patterns, the screener and risk analysis — thin handlers over
//! `quantdesk_quant`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quantdesk_domain::{BarSeries, Symbol, Timeframe};
use quantdesk_market::BarsRequest;
use quantdesk_quant::indicators::{self, OwnedColumns};
use rmcp::model::Tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Ctx, Effect, define, run};
use crate::input::{ToolError, parse_time};

/// Bars returned when neither `start` nor `limit` is given: enough to read a trend, small enough
/// for a conversation.
const DEFAULT_RECENT_BARS: usize = 100;

pub fn tools() -> Vec<Tool> {
    vec![
        define::<CalculateIndicatorsParams, IndicatorsOut>(
            "calculate_indicators",
            "Technical indicators",
            "TA-Lib-compatible indicators over a symbol's bars, e.g. [{\"name\":\"rsi\",\"params\":{\"period\":14}}, \"macd\"]. Unknown names list the valid ones. Without start/limit returns the last 100 bars.",
            Effect::ReadOnly,
        ),
        define::<PatternsParams, PatternsOut>(
            "find_patterns",
            "Chart patterns",
            "Candlestick patterns with TA-Lib's signals (doji, hammer, engulfing, harami, stars, three soldiers/crows, piercing, dark cloud…), chart patterns on swing points (double top/bottom, head and shoulders, trend-line breakouts) and support/resistance levels, with the bars that form each.",
            Effect::ReadOnly,
        ),
        define::<ScreenParams, ScreenOut>(
            "screen_stocks",
            "Stock screener",
            "Filter symbols by conditions over price and indicators at the last bar, e.g. [\"rsi(14) < 30\", \"close > sma(200)\"]; also crosses_above/crosses_below, and/or/not, .output (macd.hist). Sort by an expression.",
            Effect::ReadOnly,
        ),
        define::<RiskParams, RiskOut>(
            "risk_analysis",
            "Risk analysis",
            "Volatility, historical and parametric VaR/CVaR, beta and correlation vs a benchmark (default SPX), max drawdown, Sharpe, Sortino, and for holdings concentration (largest weight, HHI).",
            Effect::ReadOnly,
        ),
    ]
}

pub async fn call(
    ctx: &Ctx,
    name: &str,
    args: Map<String, Value>,
) -> Option<Result<Value, ToolError>> {
    Some(match name {
        "calculate_indicators" => run(args, |p| calculate_indicators(ctx, p)).await,
        "find_patterns" => run(args, |p| find_patterns(ctx, p)).await,
        "screen_stocks" => run(args, |p| screen_stocks(ctx, p)).await,
        "risk_analysis" => run(args, |p| risk_analysis(ctx, p)).await,
        _ => return None,
    })
}

/// An indicator by name (`"rsi"`) or with parameters (`{"name": "rsi", "params": {"period": 14}}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IndicatorRequest {
    Name(String),
    WithParams {
        name: String,
        #[serde(default)]
        params: BTreeMap<String, f64>,
    },
}

impl IndicatorRequest {
    fn parts(&self) -> (&str, BTreeMap<String, f64>) {
        match self {
            IndicatorRequest::Name(name) => (name, BTreeMap::new()),
            IndicatorRequest::WithParams { name, params } => (name, params.clone()),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateIndicatorsParams {
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// Indicators: names or {name, params}.
    pub indicators: Vec<IndicatorRequest>,
    /// Bar length, default 1Day.
    pub timeframe: Option<Timeframe>,
    /// First bar to return, YYYY-MM-DD (earlier history is still used for warm-up).
    pub start: Option<String>,
    /// Last bar, YYYY-MM-DD.
    pub end: Option<String>,
    /// Number of most recent bars to return.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IndicatorOut {
    pub name: String,
    /// Parameters used, defaults filled in.
    pub params: BTreeMap<String, f64>,
    /// One series per output, aligned with `times`; null during warm-up.
    pub outputs: BTreeMap<String, Vec<Option<f64>>>,
    /// Each output's value at the last returned bar.
    pub latest: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IndicatorsOut {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub count: usize,
    pub times: Vec<DateTime<Utc>>,
    pub indicators: Vec<IndicatorOut>,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

/// All bars up to `end` (indicators need the history before `start` to warm up), and the index
/// range the caller asked to see.
pub(crate) async fn history(
    ctx: &Ctx,
    symbol: Symbol,
    timeframe: Option<Timeframe>,
    start: Option<&str>,
    end: Option<&str>,
    limit: Option<u32>,
) -> Result<(BarSeries, std::ops::Range<usize>), ToolError> {
    let start = start.map(|s| parse_time("start", s, false)).transpose()?;
    let end = end.map(|s| parse_time("end", s, true)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ToolError(format!("start {s} is after end {e}")));
    }
    if limit == Some(0) {
        return Err(ToolError::new("invalid 'limit': must be at least 1"));
    }
    let mut request = BarsRequest::new(symbol, timeframe.unwrap_or(Timeframe::DAY));
    request.end = end;
    let series = ctx.market.bars(&request).await?;
    let from = start.map_or(0, |s| series.bars.partition_point(|b| b.time < s));
    let n = series.bars.len();
    if from >= n {
        return Err(ToolError(format!(
            "no {} bars from the requested start",
            series.symbol
        )));
    }
    // As in get_market_data: from a start, the first `limit` bars; without one, the newest.
    let range = match (start, limit) {
        (Some(_), Some(l)) => from..(from + l as usize).min(n),
        (Some(_), None) => from..n,
        (None, l) => {
            n.saturating_sub(l.map_or(DEFAULT_RECENT_BARS, |l| l as usize))
                .max(from)..n
        }
    };
    Ok((series, range))
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

async fn calculate_indicators(
    ctx: &Ctx,
    p: CalculateIndicatorsParams,
) -> Result<IndicatorsOut, ToolError> {
    if p.indicators.is_empty() {
        return Err(ToolError::new(
            "invalid 'indicators': name at least one, e.g. [\"rsi\"]",
        ));
    }
    let (series, range) = history(
        ctx,
        p.symbol,
        p.timeframe,
        p.start.as_deref(),
        p.end.as_deref(),
        p.limit,
    )
    .await?;
    let columns = OwnedColumns::from_bars(&series.bars);
    let mut out = Vec::with_capacity(p.indicators.len());
    for request in &p.indicators {
        let (name, params) = request.parts();
        let spec = indicators::spec(name).map_err(|e| ToolError(e.to_string()))?;
        let computed = indicators::compute(name, &params, &columns.view())
            .map_err(|e| ToolError(e.to_string()))?;
        let used = spec
            .params
            .iter()
            .map(|sp| {
                (
                    sp.name.to_string(),
                    params.get(sp.name).copied().unwrap_or(sp.default),
                )
            })
            .collect();
        let mut outputs = BTreeMap::new();
        let mut latest = BTreeMap::new();
        for (output, values) in computed {
            let shown: Vec<Option<f64>> =
                values[range.clone()].iter().copied().map(finite).collect();
            latest.insert(output.to_string(), shown.last().copied().flatten());
            outputs.insert(output.to_string(), shown);
        }
        out.push(IndicatorOut {
            name: spec.name.to_string(),
            params: used,
            outputs,
            latest,
        });
    }
    let times = series.bars[range.clone()].iter().map(|b| b.time).collect();
    Ok(IndicatorsOut {
        symbol: series.symbol,
        timeframe: series.timeframe,
        count: range.len(),
        times,
        indicators: out,
        source: series.provenance.source,
        as_of: series.bars[range.end - 1].time,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenParams {
    /// Conditions that must all hold at the last bar, e.g. ["rsi(14) < 30", "close > sma(200)"].
    pub filters: Vec<String>,
    /// Symbols to screen; default every symbol the data provider knows.
    pub universe: Option<Vec<Symbol>>,
    /// Sort key expression, optionally followed by asc or desc (default desc), e.g. "rsi(14) asc".
    pub sort: Option<String>,
    /// Maximum matches returned.
    pub limit: Option<u32>,
    /// Bar length, default 1Day.
    pub timeframe: Option<Timeframe>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScreenOut {
    #[serde(flatten)]
    pub result: quantdesk_quant::screen::ScreenResult,
    pub timeframe: Timeframe,
    pub source: String,
}

/// `"rsi(14) asc"` → (`"rsi(14)"`, descending = false); descending unless told otherwise, since
/// "sort by momentum" usually means the strongest first.
fn sort_key(raw: &str) -> (&str, bool) {
    let trimmed = raw.trim();
    let lower = trimmed.to_ascii_lowercase();
    if let Some(head) = lower.strip_suffix(" asc") {
        (&trimmed[..head.len()], false)
    } else if let Some(head) = lower.strip_suffix(" desc") {
        (&trimmed[..head.len()], true)
    } else {
        (trimmed, true)
    }
}

async fn screen_stocks(ctx: &Ctx, p: ScreenParams) -> Result<ScreenOut, ToolError> {
    if p.filters.is_empty() {
        return Err(ToolError::new(
            "invalid 'filters': give at least one condition, e.g. [\"rsi(14) < 30\"]",
        ));
    }
    let timeframe = p.timeframe.unwrap_or(Timeframe::DAY);
    let universe = match p.universe {
        Some(list) if !list.is_empty() => list,
        Some(_) => {
            return Err(ToolError::new(
                "invalid 'universe': list at least one symbol, or leave it out",
            ));
        }
        None => ctx
            .market
            .symbols()
            .await?
            .into_iter()
            .map(|s| s.symbol)
            .collect(),
    };
    if universe.is_empty() {
        return Err(ToolError::new(
            "the data provider lists no symbols to screen; give a 'universe' such as [\"AAPL\", \"MSFT\"]",
        ));
    }
    let mut columns = Vec::new();
    let mut unavailable = Vec::new();
    for symbol in universe {
        match ctx
            .market
            .bars(&BarsRequest::new(symbol.clone(), timeframe))
            .await
        {
            Ok(series) => columns.push((
                series.symbol.to_string(),
                OwnedColumns::from_bars(&series.bars),
            )),
            Err(err) => unavailable.push(quantdesk_quant::screen::Skipped {
                symbol: symbol.to_string(),
                reason: err.to_string(),
            }),
        }
    }
    let filters: Vec<&str> = p.filters.iter().map(String::as_str).collect();
    let sort = p.sort.as_deref().map(sort_key);
    let mut result =
        quantdesk_quant::screen::screen(&columns, &filters, sort, p.limit.map(|l| l as usize))
            .map_err(|e| ToolError(e.to_string()))?;
    result.skipped.extend(unavailable);
    Ok(ScreenOut {
        result,
        timeframe,
        source: ctx.market.name().to_string(),
    })
}

/// A holding: a symbol and its weight (any positive scale; normalised to sum to 1).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holding {
    pub symbol: Symbol,
    pub weight: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// Symbols analysed one by one (and correlated), e.g. ["GOOG"].
    pub symbols: Option<Vec<Symbol>>,
    /// A weighted portfolio instead, e.g. [{"symbol":"GOOG","weight":0.6},{"symbol":"SPX","weight":0.4}].
    pub holdings: Option<Vec<Holding>>,
    /// Benchmark for beta/correlation, default SPX; "none" for no benchmark.
    pub benchmark: Option<String>,
    /// VaR/CVaR confidence levels, default [0.95, 0.99].
    pub confidence: Option<Vec<f64>>,
    /// Annual risk-free rate for Sharpe/Sortino, default 0.
    pub risk_free_rate: Option<f64>,
    /// First date, YYYY-MM-DD.
    pub start: Option<String>,
    /// Last date, YYYY-MM-DD.
    pub end: Option<String>,
    /// Bar length of the returns, default 1Day.
    pub timeframe: Option<Timeframe>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RiskOut {
    #[serde(flatten)]
    pub report: quantdesk_quant::risk::RiskReport,
    pub timeframe: Timeframe,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub source: String,
}

async fn risk_analysis(ctx: &Ctx, p: RiskParams) -> Result<RiskOut, ToolError> {
    let (symbols, weights): (Vec<Symbol>, Option<Vec<f64>>) = match (p.symbols, p.holdings) {
        (Some(_), Some(_)) => {
            return Err(ToolError::new(
                "give either 'symbols' or 'holdings', not both",
            ));
        }
        (Some(symbols), None) if !symbols.is_empty() => (symbols, None),
        (None, Some(holdings)) if !holdings.is_empty() => {
            let weights = holdings.iter().map(|h| h.weight).collect();
            (
                holdings.into_iter().map(|h| h.symbol).collect(),
                Some(weights),
            )
        }
        _ => {
            return Err(ToolError::new(
                "invalid input: give 'symbols' (e.g. [\"GOOG\"]) or 'holdings'",
            ));
        }
    };
    let benchmark = match p.benchmark.as_deref().map(str::trim) {
        Some(b) if b.eq_ignore_ascii_case("none") || b.is_empty() => None,
        Some(b) => {
            Some(Symbol::parse(b).map_err(|e| ToolError(format!("invalid 'benchmark': {e}")))?)
        }
        None => Some(Symbol::parse("SPX").map_err(ToolError::from)?),
    };
    let timeframe = p.timeframe.unwrap_or(Timeframe::DAY);
    let start = p
        .start
        .as_deref()
        .map(|s| parse_time("start", s, false))
        .transpose()?;
    let end = p
        .end
        .as_deref()
        .map(|s| parse_time("end", s, true))
        .transpose()?;
    let known = ctx.market.symbols().await?;
    let mut fetched = Vec::new();
    let mut all_24h = true;
    for symbol in symbols.iter().chain(benchmark.iter()) {
        let mut request = BarsRequest::new(symbol.clone(), timeframe);
        request.start = start;
        request.end = end;
        let series = ctx.market.bars(&request).await?;
        let class = known
            .iter()
            .find(|k| k.symbol == series.symbol)
            .map(|k| k.asset_class);
        all_24h &= class.is_some_and(|c| c.trades_24h()) || series.symbol.pair().is_some();
        let columns = OwnedColumns::from_bars(&series.bars);
        let points: Vec<(i64, f64)> = columns
            .time
            .iter()
            .copied()
            .zip(columns.close.iter().copied())
            .collect();
        fetched.push((series.symbol.to_string(), points));
    }
    let named: Vec<(&str, &[(i64, f64)])> = fetched
        .iter()
        .map(|(n, pts)| (n.as_str(), pts.as_slice()))
        .collect();
    let (times, matrix) = quantdesk_quant::risk::align(&named);
    if times.len() < 3 {
        return Err(ToolError(format!(
            "only {} dates common to {} in that range; risk needs at least 3",
            times.len(),
            named.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )));
    }
    let n_assets = symbols.len();
    let series: Vec<quantdesk_quant::risk::Series<'_>> = named
        .iter()
        .zip(&matrix)
        .map(|((name, _), closes)| quantdesk_quant::risk::Series { name, closes })
        .collect();
    let mut inputs = quantdesk_quant::risk::RiskInputs::new(series[..n_assets].to_vec());
    inputs.benchmark = series.get(n_assets).copied();
    inputs.weights = weights;
    inputs.times = Some(&times);
    inputs.periods_per_year = timeframe.periods_per_year(all_24h);
    inputs.risk_free_rate = p.risk_free_rate.unwrap_or(0.0);
    if let Some(conf) = p.confidence {
        inputs.confidences = conf;
    }
    let report = quantdesk_quant::risk::analyze(&inputs).map_err(|e| ToolError(e.to_string()))?;
    let at = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or_default();
    Ok(RiskOut {
        report,
        timeframe,
        start: at(times[0]),
        end: at(times[times.len() - 1]),
        source: ctx.market.name().to_string(),
    })
}

/// Bars scanned for patterns when no range is given: about a year of daily bars.
const DEFAULT_PATTERN_BARS: u32 = 250;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternsParams {
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// What to look for: "candlestick", "chart", "levels", or names such as "hammer", "engulfing", "double_top", "head_and_shoulders", "trendline_breakout". Default all.
    pub kinds: Option<Vec<String>>,
    /// Bar length, default 1Day.
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

fn select_patterns(kinds: Option<Vec<String>>) -> Result<PatternSelection, ToolError> {
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
                    return Err(ToolError(format!(
                        "invalid 'kinds': unknown pattern '{raw}'; valid: {}",
                        valid.join(", ")
                    )));
                }
            }
        }
    }
    Ok(sel)
}

async fn find_patterns(ctx: &Ctx, p: PatternsParams) -> Result<PatternsOut, ToolError> {
    use quantdesk_quant::patterns::{
        ChartConfig, scan_candles, scan_chart_patterns, support_resistance,
    };
    let selection = select_patterns(p.kinds)?;
    let limit = p.limit.or(if p.start.is_none() {
        Some(DEFAULT_PATTERN_BARS)
    } else {
        None
    });
    let (series, range) = history(
        ctx,
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
    let pattern_err = |e: quantdesk_quant::patterns::PatternError| ToolError(e.to_string());
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
