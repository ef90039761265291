//! Market-data tools: prices, bars, crypto prices, options chains.

use chrono::{DateTime, Utc};
use quantdesk_domain::{
    AssetClass, BarSeries, Decimal, OptionChain, PriceSnapshot, Symbol, Timeframe,
};
use quantdesk_market::{BarsRequest, ChainRequest};
use rmcp::model::Tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Ctx, Effect, define, run};
use crate::input::{ToolError, parse_date, parse_time};

/// Bars one call may return; a person asking for more wants a narrower range or a coarser timeframe.
const MAX_BARS: usize = 20_000;

pub fn tools() -> Vec<Tool> {
    vec![
        define::<StockPriceParams, PriceSnapshot>(
            "get_stock_price",
            "Stock price",
            "Latest price of a stock, ETF or index: last price, change vs previous close, day range, volume, as-of time and data source.",
            Effect::ReadOnly,
        ),
        define::<MarketDataParams, MarketDataOut>(
            "get_market_data",
            "OHLCV bars",
            "Historical OHLCV bars for a symbol. Timeframes: 1Min..1Month (coarser ones are resampled). Without start, limit returns the newest bars; omit limit for the whole range.",
            Effect::ReadOnly,
        ),
        define::<CryptoPricesParams, CryptoPricesOut>(
            "get_crypto_prices",
            "Crypto prices",
            "Latest prices of crypto pairs (e.g. BTC/USD) with the change over the provider's last period, as-of time and source.",
            Effect::ReadOnly,
        ),
        define::<OptionsChainParams, OptionChain>(
            "get_options_chain",
            "Options chain",
            "Calls and puts per strike and expiry with bid/ask/last, volume, open interest, IV and greeks. Offline the chain is priced by Black-Scholes from realised volatility and marked source=model (no bid/ask).",
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
        "get_stock_price" => run(args, |p| get_stock_price(ctx, p)).await,
        "get_market_data" => run(args, |p| get_market_data(ctx, p)).await,
        "get_crypto_prices" => run(args, |p| get_crypto_prices(ctx, p)).await,
        "get_options_chain" => run(args, |p| get_options_chain(ctx, p)).await,
        _ => return None,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockPriceParams {
    /// Ticker, e.g. GOOG or SPX (any case).
    pub symbol: Symbol,
}

async fn get_stock_price(ctx: &Ctx, p: StockPriceParams) -> Result<PriceSnapshot, ToolError> {
    Ok(ctx.market.snapshot(&p.symbol).await?)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketDataParams {
    /// Ticker or pair, e.g. GOOG, SPX, EUR/USD, BTC/USD.
    pub symbol: Symbol,
    /// Bar length, default 1Day.
    pub timeframe: Option<Timeframe>,
    /// First bar date, YYYY-MM-DD or RFC 3339 (inclusive).
    pub start: Option<String>,
    /// Last bar date, YYYY-MM-DD or RFC 3339 (inclusive).
    pub end: Option<String>,
    /// Maximum number of bars.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarketDataOut {
    pub count: usize,
    #[serde(flatten)]
    pub series: BarSeries,
}

async fn get_market_data(ctx: &Ctx, p: MarketDataParams) -> Result<MarketDataOut, ToolError> {
    let request = BarsRequest {
        symbol: p.symbol,
        timeframe: p.timeframe.unwrap_or(Timeframe::DAY),
        start: p
            .start
            .as_deref()
            .map(|s| parse_time("start", s, false))
            .transpose()?,
        end: p
            .end
            .as_deref()
            .map(|s| parse_time("end", s, true))
            .transpose()?,
        limit: p.limit.map(|l| l as usize),
    };
    if request.limit == Some(0) {
        return Err(ToolError::new("invalid 'limit': must be at least 1"));
    }
    let series = ctx.market.bars(&request).await?;
    if series.bars.len() > MAX_BARS {
        return Err(ToolError(format!(
            "that is {} bars, more than the {MAX_BARS} one answer may hold; narrow start/end, set a limit or use a coarser timeframe",
            series.bars.len()
        )));
    }
    Ok(MarketDataOut {
        count: series.bars.len(),
        series,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CryptoPricesParams {
    /// Pairs such as ["BTC/USD"].
    pub symbols: Vec<Symbol>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CryptoPrice {
    pub symbol: Symbol,
    pub price: Decimal,
    pub change: Option<Decimal>,
    pub change_pct: Option<Decimal>,
    /// The period the change covers (1Day is a 24h change; offline history may be coarser).
    pub change_period: Timeframe,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SymbolError {
    pub symbol: Symbol,
    pub error: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CryptoPricesOut {
    pub prices: Vec<CryptoPrice>,
    /// Symbols that could not be priced, and why.
    pub errors: Vec<SymbolError>,
}

async fn get_crypto_prices(ctx: &Ctx, p: CryptoPricesParams) -> Result<CryptoPricesOut, ToolError> {
    if p.symbols.is_empty() {
        return Err(ToolError::new(
            "invalid 'symbols': give at least one pair, e.g. [\"BTC/USD\"]",
        ));
    }
    let known = ctx.market.symbols().await?;
    let mut out = CryptoPricesOut {
        prices: Vec::new(),
        errors: Vec::new(),
    };
    for symbol in p.symbols {
        let class = known
            .iter()
            .find(|k| k.symbol == symbol)
            .map(|k| k.asset_class);
        let result = match class {
            Some(class) if class != AssetClass::Crypto => Err(ToolError(format!(
                "{symbol} is not a crypto asset ({class}); use get_stock_price"
            ))),
            _ => ctx.market.snapshot(&symbol).await.map_err(ToolError::from),
        };
        match result {
            Ok(s) => out.prices.push(CryptoPrice {
                symbol: s.symbol,
                price: s.price,
                change: s.change,
                change_pct: s.change_pct,
                change_period: s.session,
                source: s.provenance.source,
                as_of: s.provenance.as_of,
            }),
            Err(e) => out.errors.push(SymbolError { symbol, error: e.0 }),
        }
    }
    if out.prices.is_empty() {
        let reasons: Vec<String> = out.errors.iter().map(|e| e.error.clone()).collect();
        return Err(ToolError(reasons.join("; ")));
    }
    Ok(out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionsChainParams {
    /// Underlying ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// One expiration date, YYYY-MM-DD; default the nearest few.
    pub expiration: Option<String>,
    /// Strikes on each side of the money (1-50, default 5).
    pub strikes_around: Option<u32>,
}

async fn get_options_chain(ctx: &Ctx, p: OptionsChainParams) -> Result<OptionChain, ToolError> {
    let strikes_around = p.strikes_around.unwrap_or(5);
    if !(1..=50).contains(&strikes_around) {
        return Err(ToolError::new("invalid 'strikes_around': use 1 to 50"));
    }
    let request = ChainRequest {
        underlying: p.symbol,
        expiration: p
            .expiration
            .as_deref()
            .map(|d| parse_date("expiration", d))
            .transpose()?,
        strikes_around: strikes_around as usize,
    };
    Ok(ctx.market.option_chain(&request).await?)
}
