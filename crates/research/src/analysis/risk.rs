//! `risk_analysis`: volatility, VaR/CVaR, beta, drawdown, Sharpe/Sortino and concentration of
//! symbols or a weighted portfolio, over bars aligned on their common dates.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Symbol, Timeframe};
use quantdesk_market::BarsRequest;
use quantdesk_quant::indicators::OwnedColumns;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, MarketData, parse_time};

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
    /// Bar length of the returns (1Min..1Month), default 1Day.
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

pub async fn risk_analysis(market: &dyn MarketData, p: RiskParams) -> Result<RiskOut, Error> {
    let (symbols, weights): (Vec<Symbol>, Option<Vec<f64>>) = match (p.symbols, p.holdings) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
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
            return Err(Error::invalid(
                "invalid input: give 'symbols' (e.g. [\"GOOG\"]) or 'holdings'",
            ));
        }
    };
    let benchmark = match p.benchmark.as_deref().map(str::trim) {
        Some(b) if b.eq_ignore_ascii_case("none") || b.is_empty() => None,
        Some(b) => Some(
            Symbol::parse(b).map_err(|e| Error::Invalid(format!("invalid 'benchmark': {e}")))?,
        ),
        None => Some(Symbol::parse("SPX").map_err(Error::from)?),
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
    let known = market.symbols().await?;
    let mut fetched = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let mut all_24h = true;
    for symbol in symbols.iter().chain(benchmark.iter()) {
        let mut request = BarsRequest::new(symbol.clone(), timeframe);
        request.start = start;
        request.end = end;
        let series = market.bars(&request).await?;
        if !sources.contains(&series.provenance.source) {
            sources.push(series.provenance.source.clone());
        }
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
        return Err(Error::Invalid(format!(
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
    let report =
        quantdesk_quant::risk::analyze(&inputs).map_err(|e| Error::Invalid(e.to_string()))?;
    let at = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or_default();
    Ok(RiskOut {
        report,
        timeframe,
        start: at(times[0]),
        end: at(times[times.len() - 1]),
        // Where the bars came from (crypto and stocks may come from two providers).
        source: sources.join("+"),
    })
}
