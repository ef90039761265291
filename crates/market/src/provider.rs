use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{BarSeries, OptionChain, PriceSnapshot, Symbol, SymbolInfo, Timeframe};

use crate::MarketError;

/// Which bars to fetch. `start`/`end` are inclusive. With a `start`, `limit` keeps the first
/// bars from it; without one, the last `limit` bars up to `end` (usually what a person means by
/// "the last 50 days").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarsRequest {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
}

impl BarsRequest {
    pub fn new(symbol: Symbol, timeframe: Timeframe) -> Self {
        Self {
            symbol,
            timeframe,
            start: None,
            end: None,
            limit: None,
        }
    }

    /// Refuses a range that ends before it starts, before any provider is asked.
    pub fn validate(&self) -> Result<(), MarketError> {
        match (self.start, self.end) {
            (Some(start), Some(end)) if start > end => {
                Err(MarketError::InvalidRange { start, end })
            }
            _ => Ok(()),
        }
    }
}

/// Which part of an options chain to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRequest {
    pub underlying: Symbol,
    /// One expiration; `None` for the provider's nearest few.
    pub expiration: Option<NaiveDate>,
    /// Strikes on each side of the money.
    pub strikes_around: usize,
}

/// A source of market data. Implementations answer from their own data and say so in each
/// answer's provenance; none may fall back silently to another source.
#[async_trait]
pub trait MarketData: Send + Sync + std::fmt::Debug {
    /// The provider's name as it appears in `source` (`bundled`, `alpaca`).
    fn name(&self) -> &'static str;

    /// Symbols this provider can answer for (for a live provider: the ones it is asked about
    /// most, since it knows thousands).
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError>;

    /// OHLCV bars, oldest first.
    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError>;

    /// Last price, change against the previous close, the session's range and volume.
    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError>;

    /// Calls and puts per strike with quotes, IV and greeks.
    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError>;
}
