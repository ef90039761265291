//! Stocks answered from Alpaca's stream when it carries the symbol: the last trade and the best
//! bid and ask, `source: "alpaca-stream"`, minute bars from the stream merged with REST's; from
//! REST otherwise (and the symbol goes on the stream, so the next answer is live). A quote that
//! has not moved for [`STOCK_STALE_AFTER`] while the market is open (Alpaca's clock) is
//! labelled stale; outside market hours an old quote is simply the last one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quantdesk_domain::{BarSeries, OptionChain, PriceSnapshot, Symbol, SymbolInfo};
use tokio::sync::Mutex;

use super::hub::ALPACA;
use super::live::{LiveSource, at_quote, with_live_minutes};
use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

/// A stock quote older than this while the market is open is labelled stale (IEX carries a
/// fraction of the volume, so a quiet symbol can go seconds without a quote).
pub const STOCK_STALE_AFTER: Duration = Duration::from_secs(60);
/// How long the day's range and volume from REST are reused under live prices.
const DAY_TTL: Duration = Duration::from_secs(60);
/// How long Alpaca's clock answer is reused.
const CLOCK_TTL: Duration = Duration::from_secs(60);

/// Whether the stock market is open right now.
#[async_trait]
pub trait MarketHours: Send + Sync + std::fmt::Debug {
    /// `None` when it cannot be told (the clock is unreachable).
    async fn open_now(&self) -> Option<bool>;
}

/// Alpaca's market clock (`GET /v2/clock` on the trading API), asked at most once a minute.
pub struct AlpacaClock {
    client: apca::Client,
    cached: Mutex<Option<(Instant, bool)>>,
}

impl std::fmt::Debug for AlpacaClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaClock").finish_non_exhaustive()
    }
}

impl AlpacaClock {
    /// The clock of the trading API at `trading_url` (the linked account's base URL).
    pub fn new(trading_url: &str, key_id: &str, secret: &str) -> Result<Self, MarketError> {
        let info = apca::ApiInfo::from_parts(trading_url, key_id, secret).map_err(|e| {
            MarketError::Unavailable {
                provider: "alpaca",
                message: format!("the market clock's URL: {e}"),
            }
        })?;
        Ok(Self {
            client: apca::Client::new(info),
            cached: Mutex::new(None),
        })
    }
}

#[async_trait]
impl MarketHours for AlpacaClock {
    async fn open_now(&self) -> Option<bool> {
        let mut cached = self.cached.lock().await;
        if let Some((at, open)) = *cached
            && at.elapsed() < CLOCK_TTL
        {
            return Some(open);
        }
        match self.client.issue::<apca::api::v2::clock::Get>(&()).await {
            Ok(clock) => {
                *cached = Some((Instant::now(), clock.open));
                Some(clock.open)
            }
            Err(err) => {
                tracing::warn!(%err, "Alpaca's market clock is unavailable");
                None
            }
        }
    }
}

/// A stock provider (Alpaca's REST) with the live stream in front (see the module docs).
#[derive(Debug)]
pub struct LiveStocks {
    rest: Arc<dyn MarketData>,
    hub: Arc<dyn LiveSource>,
    hours: Arc<dyn MarketHours>,
    stale_after: Duration,
    days: Mutex<BTreeMap<String, (Instant, PriceSnapshot)>>,
}

/// The stream's id for a stock symbol: its ticker (`AAPL`); crypto pairs are not stocks.
pub fn stock_id(symbol: &Symbol) -> Option<String> {
    let text = symbol.as_str();
    (!text.contains('/') && !text.contains('-')).then(|| text.to_string())
}

impl LiveStocks {
    pub fn new(
        rest: Arc<dyn MarketData>,
        hub: Arc<dyn LiveSource>,
        hours: Arc<dyn MarketHours>,
    ) -> Self {
        Self {
            rest,
            hub,
            hours,
            stale_after: STOCK_STALE_AFTER,
            days: Mutex::new(BTreeMap::new()),
        }
    }

    /// Another threshold than [`STOCK_STALE_AFTER`].
    pub fn with_stale_after(mut self, after: Duration) -> Self {
        self.stale_after = after;
        self
    }

    /// REST's snapshot of `symbol`, at most a minute old.
    async fn day(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let mut days = self.days.lock().await;
        if let Some((at, s)) = days.get(symbol.as_str())
            && at.elapsed() < DAY_TTL
        {
            return Ok(s.clone());
        }
        let s = self.rest.snapshot(symbol).await?;
        days.insert(symbol.as_str().to_string(), (Instant::now(), s.clone()));
        Ok(s)
    }

    /// Why the quote of `age` is stale, if the market is open and it is.
    async fn staleness(&self, age: Duration) -> Option<String> {
        if age <= self.stale_after {
            return None;
        }
        match self.hours.open_now().await {
            Some(true) => Some(format!(
                "no update from Alpaca's stream for {:.1} s while the market is open",
                age.as_secs_f64()
            )),
            _ => None,
        }
    }
}

#[async_trait]
impl MarketData for LiveStocks {
    fn name(&self) -> &'static str {
        self.rest.name()
    }

    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        self.rest.symbols().await
    }

    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        let series = self.rest.bars(request).await?;
        let id = stock_id(&request.symbol);
        Ok(with_live_minutes(series, self.hub.as_ref(), id, request).await)
    }

    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let Some(id) = stock_id(symbol) else {
            return self.rest.snapshot(symbol).await;
        };
        let Some((q, age)) = self.hub.quote(&id) else {
            self.hub.watch(vec![id]);
            return self.rest.snapshot(symbol).await;
        };
        let day = self.day(symbol).await?;
        let mut snapshot = at_quote(symbol, &q, &day, q.time, day.session, ALPACA);
        snapshot.stale = self.staleness(age).await;
        Ok(snapshot)
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        self.rest.option_chain(request).await
    }
}
