//! Caching a live provider's bars in the store, so repeated questions about the same history
//! (an analysis, then a backtest, then a report) ask the network once.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use quantdesk_domain::{
    Bar, BarSeries, Decimal, OptionChain, PriceSnapshot, Provenance, Symbol, SymbolInfo,
};
use quantdesk_store::Store;
use serde::{Deserialize, Serialize};

use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

/// How long bars that may still change (the current session's) stay cached.
const RECENT_TTL_SECONDS: i64 = 60;

/// Wraps a provider; bars are read from the store when cached, fetched and cached otherwise.
/// Quotes, snapshots and chains are never cached: they must be fresh.
#[derive(Debug)]
pub struct CachedProvider<P> {
    inner: P,
    store: Store,
}

impl<P: MarketData> CachedProvider<P> {
    pub fn new(inner: P, store: Store) -> Self {
        Self { inner, store }
    }

    fn key(&self, r: &BarsRequest) -> String {
        let t = |t: Option<DateTime<Utc>>| t.map_or(String::new(), |t| t.to_rfc3339());
        format!(
            "{}:bars:{}:{}:{}:{}:{}",
            self.inner.name(),
            r.symbol,
            r.timeframe,
            t(r.start),
            t(r.end),
            r.limit.map_or(String::new(), |l| l.to_string())
        )
    }
}

/// The cached form: money as exact decimal strings, never through `f64`.
#[derive(Serialize, Deserialize)]
struct CachedBar {
    time: DateTime<Utc>,
    #[serde(with = "rust_decimal::serde::str")]
    open: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    high: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    low: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    close: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    volume: Decimal,
}

#[derive(Serialize, Deserialize)]
struct CachedSeries {
    bars: Vec<CachedBar>,
    source: String,
    as_of: DateTime<Utc>,
}

#[async_trait]
impl<P: MarketData> MarketData for CachedProvider<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        self.inner.symbols().await
    }

    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        request.validate()?;
        let key = self.key(request);
        // A cache that cannot be read is a slower answer, not a wrong one: fall through.
        if let Ok(Some(text)) = self.store.cached(&key).await
            && let Ok(cached) = serde_json::from_str::<CachedSeries>(&text)
        {
            let bars = cached
                .bars
                .into_iter()
                .map(|b| Bar {
                    time: b.time,
                    open: b.open,
                    high: b.high,
                    low: b.low,
                    close: b.close,
                    volume: b.volume,
                })
                .collect();
            return Ok(BarSeries {
                symbol: request.symbol.clone(),
                timeframe: request.timeframe,
                bars,
                provenance: Provenance {
                    source: cached.source,
                    as_of: cached.as_of,
                },
            });
        }
        let series = self.inner.bars(request).await?;
        let cached = CachedSeries {
            bars: series
                .bars
                .iter()
                .map(|b| CachedBar {
                    time: b.time,
                    open: b.open,
                    high: b.high,
                    low: b.low,
                    close: b.close,
                    volume: b.volume,
                })
                .collect(),
            source: series.provenance.source.clone(),
            as_of: series.provenance.as_of,
        };
        // History that ended more than two days ago is final; anything newer may still change.
        let settled = request
            .end
            .is_some_and(|end| end < Utc::now() - Duration::days(2));
        let ttl = (!settled).then(|| Duration::seconds(RECENT_TTL_SECONDS));
        if let Ok(text) = serde_json::to_string(&cached)
            && let Err(err) = self.store.cache(&key, self.inner.name(), &text, ttl).await
        {
            tracing::warn!(%err, "could not cache bars");
        }
        Ok(series)
    }

    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        self.inner.snapshot(symbol).await
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        self.inner.option_chain(request).await
    }
}
