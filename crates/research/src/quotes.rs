//! Market data as answers: a price, bars, crypto prices, an options chain — with the checks a
//! person's request needs (at least one pair, a bar limit, strikes 1–50).

use chrono::{DateTime, Utc};
use quantdesk_domain::{
    AssetClass, BarSeries, Decimal, OptionChain, PriceSnapshot, Symbol, Timeframe,
};
use quantdesk_market::{BarsRequest, ChainRequest};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, MarketData, parse_date, parse_time};

/// Bars one call may return; a person asking for more wants a narrower range or a coarser timeframe.
const MAX_BARS: usize = 20_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockPriceParams {
    /// Ticker, e.g. GOOG or SPX (any case).
    pub symbol: Symbol,
}

pub async fn get_stock_price(
    market: &dyn MarketData,
    p: StockPriceParams,
) -> Result<PriceSnapshot, Error> {
    Ok(market.snapshot(&p.symbol).await?)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketDataParams {
    /// Ticker or pair, e.g. GOOG, SPX, EUR/USD, BTC/USD.
    pub symbol: Symbol,
    /// Bar length (1Min..1Month), default 1Day.
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

pub async fn get_market_data(
    market: &dyn MarketData,
    p: MarketDataParams,
) -> Result<MarketDataOut, Error> {
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
        return Err(Error::invalid("invalid 'limit': must be at least 1"));
    }
    let series = market.bars(&request).await?;
    if series.bars.len() > MAX_BARS {
        return Err(Error::Invalid(format!(
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
    /// Best bid and ask, when the price comes from the live stream.
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
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

pub async fn get_crypto_prices(
    market: &dyn MarketData,
    p: CryptoPricesParams,
) -> Result<CryptoPricesOut, Error> {
    if p.symbols.is_empty() {
        return Err(Error::invalid(
            "invalid 'symbols': give at least one pair, e.g. [\"BTC/USD\"]",
        ));
    }
    let known = market.symbols().await?;
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
            Some(class) if class != AssetClass::Crypto => Err(Error::Invalid(format!(
                "{symbol} is not a crypto asset ({class}); use get_stock_price"
            ))),
            _ => market.snapshot(&symbol).await.map_err(Error::from),
        };
        match result {
            Ok(s) => out.prices.push(CryptoPrice {
                symbol: s.symbol,
                price: s.price,
                change: s.change,
                change_pct: s.change_pct,
                change_period: s.session,
                bid: s.quote.as_ref().map(|q| q.bid),
                ask: s.quote.as_ref().map(|q| q.ask),
                source: s.provenance.source,
                as_of: s.provenance.as_of,
            }),
            Err(e) => out.errors.push(SymbolError {
                symbol,
                error: e.to_string(),
            }),
        }
    }
    if out.prices.is_empty() {
        let reasons: Vec<String> = out.errors.iter().map(|e| e.error.clone()).collect();
        return Err(Error::Invalid(reasons.join("; ")));
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

pub async fn get_options_chain(
    market: &dyn MarketData,
    p: OptionsChainParams,
) -> Result<OptionChain, Error> {
    let strikes_around = p.strikes_around.unwrap_or(5);
    if !(1..=50).contains(&strikes_around) {
        return Err(Error::invalid("invalid 'strikes_around': use 1 to 50"));
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
    Ok(market.option_chain(&request).await?)
}
