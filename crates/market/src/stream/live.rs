//! Crypto answered from the live cache when it has the product: the last trade and the best bid
//! and ask from the stream, minute bars from the stream merged with REST's history; from REST
//! otherwise (and the product is added to the stream, so the next answer is live).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quantdesk_domain::{
    Bar, BarSeries, OptionChain, PriceSnapshot, Provenance, Quote, Symbol, SymbolInfo, Timeframe,
};
use tokio::sync::Mutex;

use super::LiveQuote;
use super::hub::HubStatus;
use crate::coinbase::{CoinbaseProvider, product_id};
use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

/// A quote older than this is not offered as live (crypto trades around the clock).
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// How long the 24-hour range and volume from REST are reused under live prices.
const DAY_TTL: Duration = Duration::from_secs(60);

/// A live cache to read: the process's own [`LiveHub`](super::hub::LiveHub), or a mirror of
/// the one another process runs.
#[async_trait]
pub trait LiveSource: Send + Sync + std::fmt::Debug {
    /// The newest quote of `product` and how long ago it arrived.
    fn quote(&self, product: &str) -> Option<(LiveQuote, Duration)>;
    /// `product`'s finished minute bars, oldest first.
    async fn minute_bars(&self, product: &str) -> Vec<Bar>;
    /// Puts products on the stream.
    fn watch(&self, products: Vec<String>);
    /// Takes products off the stream.
    fn unwatch(&self, products: Vec<String>);
    /// Coinbase's stream.
    fn status(&self) -> HubStatus;
    /// Every stream: Coinbase's, and Alpaca's when one runs.
    fn statuses(&self) -> Vec<HubStatus> {
        vec![self.status()]
    }
}

/// REST's minute bars with the stream's finished minutes replacing or extending them (one bar
/// per minute, the stream's where both have it), cut to the request's start and limit.
pub fn merge_minutes(mut series: BarSeries, live: Vec<Bar>, request: &BarsRequest) -> BarSeries {
    if live.is_empty() {
        return series;
    }
    let mut merged: BTreeMap<_, Bar> = series.bars.drain(..).map(|b| (b.time, b)).collect();
    for b in live {
        if request.start.is_none_or(|s| b.time >= s) {
            merged.insert(b.time, b);
        }
    }
    let mut bars: Vec<Bar> = merged.into_values().collect();
    if let Some(limit) = request.limit {
        if request.start.is_some() {
            bars.truncate(limit);
        } else {
            bars = bars.split_off(bars.len().saturating_sub(limit));
        }
    }
    if let Some(last) = bars.last() {
        series.provenance.as_of = series
            .provenance
            .as_of
            .max(last.time + chrono::Duration::minutes(1));
    }
    series.bars = bars;
    series
}

/// REST's `series` with the stream's finished minutes of `id` merged in, for a request of minute
/// bars up to now (any other request is REST's alone).
pub(super) async fn with_live_minutes(
    series: BarSeries,
    hub: &dyn LiveSource,
    id: Option<String>,
    request: &BarsRequest,
) -> BarSeries {
    let Some(id) = id else {
        return series;
    };
    if request.timeframe != Timeframe::MINUTE || request.end.is_some() {
        return series;
    }
    let live = hub.minute_bars(&id).await;
    merge_minutes(series, live, request)
}

/// A snapshot at the live quote `q`: REST's `day` (range, volume, previous close) stretched to
/// the live price, the session beginning at `session_start`, the quote's bid and ask attached.
pub(super) fn at_quote(
    symbol: &Symbol,
    q: &LiveQuote,
    day: &PriceSnapshot,
    session_start: chrono::DateTime<chrono::Utc>,
    session: Timeframe,
    source: &str,
) -> PriceSnapshot {
    let bar = Bar {
        time: session_start,
        open: day.day_open,
        high: day.day_high.max(q.price),
        low: day.day_low.min(q.price),
        close: q.price,
        volume: day.volume,
    };
    let mut snapshot = PriceSnapshot::from_session(
        symbol.clone(),
        q.price,
        &bar,
        session,
        day.previous_close,
        Provenance {
            source: source.to_string(),
            as_of: q.time,
        },
    );
    snapshot.quote = Some(Quote {
        symbol: symbol.clone(),
        bid: q.bid,
        bid_size: q.bid_size,
        ask: q.ask,
        ask_size: q.ask_size,
        time: q.time,
    });
    snapshot
}

/// Coinbase with a live cache in front (see the module docs).
#[derive(Debug)]
pub struct LiveCrypto {
    rest: Arc<CoinbaseProvider>,
    hub: Arc<dyn LiveSource>,
    days: Mutex<BTreeMap<String, (Instant, PriceSnapshot)>>,
}

impl LiveCrypto {
    pub fn new(rest: Arc<CoinbaseProvider>, hub: Arc<dyn LiveSource>) -> Self {
        Self {
            rest,
            hub,
            days: Mutex::new(BTreeMap::new()),
        }
    }

    /// REST's snapshot of `symbol`, at most a minute old.
    async fn day(&self, id: &str, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let mut days = self.days.lock().await;
        if let Some((at, s)) = days.get(id)
            && at.elapsed() < DAY_TTL
        {
            return Ok(s.clone());
        }
        let s = self.rest.snapshot(symbol).await?;
        days.insert(id.to_string(), (Instant::now(), s.clone()));
        Ok(s)
    }
}

#[async_trait]
impl MarketData for LiveCrypto {
    fn name(&self) -> &'static str {
        "coinbase"
    }

    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        self.rest.symbols().await
    }

    /// REST's bars; for minute bars up to now, the stream's finished minutes replace or extend
    /// them (one bar per minute, the stream's where both have it).
    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        let series = self.rest.bars(request).await?;
        let id = product_id(&request.symbol);
        Ok(with_live_minutes(series, self.hub.as_ref(), id, request).await)
    }

    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let Some(id) = product_id(symbol) else {
            return self.rest.snapshot(symbol).await;
        };
        let Some((q, age)) = self.hub.quote(&id).filter(|(_, age)| *age <= STALE_AFTER) else {
            self.hub.watch(vec![id]);
            return self.rest.snapshot(symbol).await;
        };
        let day = self.day(&id, symbol).await?;
        tracing::trace!(?age, product = %id, "live quote");
        let start = q.time - chrono::Duration::days(1);
        Ok(at_quote(
            symbol,
            &q,
            &day,
            start,
            Timeframe::DAY,
            "coinbase",
        ))
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        self.rest.option_chain(request).await
    }
}
