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
    vec![define::<CalculateIndicatorsParams, IndicatorsOut>(
        "calculate_indicators",
        "Technical indicators",
        "TA-Lib-compatible indicators over a symbol's bars, e.g. [{\"name\":\"rsi\",\"params\":{\"period\":14}}, \"macd\"]. Unknown names list the valid ones. Without start/limit returns the last 100 bars.",
        Effect::ReadOnly,
    )]
}

pub async fn call(
    ctx: &Ctx,
    name: &str,
    args: Map<String, Value>,
) -> Option<Result<Value, ToolError>> {
    Some(match name {
        "calculate_indicators" => run(args, |p| calculate_indicators(ctx, p)).await,
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
    let keep = match (start, limit) {
        (_, Some(l)) => l as usize,
        (Some(_), None) => n - from,
        (None, None) => DEFAULT_RECENT_BARS,
    };
    let from = from.max(n.saturating_sub(keep));
    Ok((series, from..n))
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
