//! Analysis: indicators and the screener here, risk in [`risk`], patterns in [`patterns`] —
//! bars from the market provider handed to `quantdesk_quant`, answers shaped for a chat.

pub mod patterns;
pub mod risk;

pub use patterns::{PatternsOut, PatternsParams, find_patterns};
pub use risk::{RiskOut, RiskParams, risk_analysis};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quantdesk_domain::{BarSeries, Symbol, Timeframe};
use quantdesk_market::BarsRequest;
use quantdesk_quant::indicators::{self, OwnedColumns};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, MarketData, parse_time};

/// Bars returned when neither `start` nor `limit` is given: enough to read a trend, small enough
/// for a conversation.
const DEFAULT_RECENT_BARS: usize = 100;

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
    /// Bar length (1Min..1Month), default 1Day.
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
    market: &dyn MarketData,
    symbol: Symbol,
    timeframe: Option<Timeframe>,
    start: Option<&str>,
    end: Option<&str>,
    limit: Option<u32>,
) -> Result<(BarSeries, std::ops::Range<usize>), Error> {
    let start = start.map(|s| parse_time("start", s, false)).transpose()?;
    let end = end.map(|s| parse_time("end", s, true)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(Error::Invalid(format!("start {s} is after end {e}")));
    }
    if limit == Some(0) {
        return Err(Error::invalid("invalid 'limit': must be at least 1"));
    }
    let mut request = BarsRequest::new(symbol, timeframe.unwrap_or(Timeframe::DAY));
    request.end = end;
    let series = market.bars(&request).await?;
    let from = start.map_or(0, |s| series.bars.partition_point(|b| b.time < s));
    let n = series.bars.len();
    if from >= n {
        return Err(Error::Invalid(format!(
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

pub async fn calculate_indicators(
    market: &dyn MarketData,
    p: CalculateIndicatorsParams,
) -> Result<IndicatorsOut, Error> {
    if p.indicators.is_empty() {
        return Err(Error::invalid(
            "invalid 'indicators': name at least one, e.g. [\"rsi\"]",
        ));
    }
    let (series, range) = history(
        market,
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
        let spec = indicators::spec(name).map_err(|e| Error::Invalid(e.to_string()))?;
        let computed = indicators::compute(name, &params, &columns.view())
            .map_err(|e| Error::Invalid(e.to_string()))?;
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
    /// Bar length (1Min..1Month), default 1Day.
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

pub async fn screen_stocks(market: &dyn MarketData, p: ScreenParams) -> Result<ScreenOut, Error> {
    if p.filters.is_empty() {
        return Err(Error::invalid(
            "invalid 'filters': give at least one condition, e.g. [\"rsi(14) < 30\"]",
        ));
    }
    let timeframe = p.timeframe.unwrap_or(Timeframe::DAY);
    let universe = match p.universe {
        Some(list) if !list.is_empty() => list,
        Some(_) => {
            return Err(Error::invalid(
                "invalid 'universe': list at least one symbol, or leave it out",
            ));
        }
        None => market
            .symbols()
            .await?
            .into_iter()
            .map(|s| s.symbol)
            .collect(),
    };
    if universe.is_empty() {
        return Err(Error::invalid(
            "the data provider lists no symbols to screen; give a 'universe' such as [\"AAPL\", \"MSFT\"]",
        ));
    }
    let mut columns = Vec::new();
    let mut unavailable = Vec::new();
    for symbol in universe {
        match market
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
            .map_err(|e| Error::Invalid(e.to_string()))?;
    result.skipped.extend(unavailable);
    Ok(ScreenOut {
        result,
        timeframe,
        source: market.name().to_string(),
    })
}
