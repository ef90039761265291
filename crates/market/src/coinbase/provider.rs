//! [`MarketData`] for Coinbase: products, candles (paged 300 at a time) and snapshots.

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use quantdesk_domain::{
    AssetClass, Bar, BarSeries, OptionChain, PriceSnapshot, Provenance, Symbol, SymbolInfo,
    Timeframe, TimeframeUnit,
};
use serde_json::Value;

use super::wire::{Stats, Ticker, candle};
use super::{CoinbaseProvider, MAX_BARS, MAX_CANDLES, MAX_PAGES, NAME, product_id};
use crate::{BarsRequest, ChainRequest, MarketData, MarketError, resample};

/// Candle lengths Coinbase serves, in seconds, longest first.
const NATIVE: [(i64, Timeframe); 6] = [
    (86_400, Timeframe::DAY),
    (21_600, Timeframe::new(6, TimeframeUnit::Hour)),
    (3_600, Timeframe::HOUR),
    (900, Timeframe::new(15, TimeframeUnit::Minute)),
    (300, Timeframe::new(5, TimeframeUnit::Minute)),
    (60, Timeframe::MINUTE),
];

/// Empty windows in a row after which paging back stops: the product's history has begun.
const EMPTY_WINDOWS: usize = 3;

fn unknown(symbol: &Symbol) -> MarketError {
    MarketError::UnknownSymbol {
        symbol: symbol.clone(),
        provider: NAME,
        known: "every crypto pair Coinbase lists, written BTC/USD, ETH-USD or SOLUSD".to_string(),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The native length to fetch for `tf` (the longest that divides it) and its seconds; `None`
/// when no native length divides it (7Min), or for a month, whose length varies (days are
/// fetched and resampled then).
fn native_for(symbol: &Symbol, tf: Timeframe) -> Result<(i64, Timeframe), MarketError> {
    let seconds = match tf.unit {
        TimeframeUnit::Week | TimeframeUnit::Month => return Ok(NATIVE[0]),
        _ => tf.approx_minutes() as i64 * 60,
    };
    NATIVE
        .iter()
        .copied()
        .find(|(g, _)| seconds % g == 0 && (tf.unit != TimeframeUnit::Day || *g == 86_400))
        .ok_or_else(|| MarketError::UnsupportedTimeframe {
            symbol: symbol.clone(),
            timeframe: tf,
            provider: NAME,
            reason: "Coinbase's candles are 1, 5 or 15 minutes, 1 or 6 hours or a day long; \
                     other lengths must be a multiple of one of these"
                .to_string(),
        })
}

impl CoinbaseProvider {
    fn product(symbol: &Symbol) -> Result<String, MarketError> {
        product_id(symbol).ok_or_else(|| unknown(symbol))
    }

    /// Candles of `g` seconds with times in `[from, to]`, oldest first (one request: the window
    /// holds at most 300).
    async fn window(
        &self,
        symbol: &Symbol,
        id: &str,
        g: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Bar>, MarketError> {
        let path = format!(
            "/products/{id}/candles?granularity={g}&start={}&end={}",
            rfc3339(from),
            rfc3339(to)
        );
        self.rows(symbol, &path).await
    }

    async fn rows(&self, symbol: &Symbol, path: &str) -> Result<Vec<Bar>, MarketError> {
        let rows: Vec<Value> = self.get(path).await?.ok_or_else(|| unknown(symbol))?;
        let mut bars = Vec::with_capacity(rows.len());
        for row in &rows {
            bars.push(candle(row).ok_or_else(|| MarketError::BadResponse {
                provider: NAME,
                message: format!(
                    "a candle that is not [time, low, high, open, close, volume]: {row}"
                ),
            })?);
        }
        bars.sort_by_key(|b| b.time);
        Ok(bars)
    }

    /// Native candles for `request`: forward from its start, else back from its end (or from
    /// Coinbase's newest when it has none), `want` at most.
    async fn native_bars(
        &self,
        request: &BarsRequest,
        id: &str,
        g: i64,
        want: usize,
    ) -> Result<Vec<Bar>, MarketError> {
        let span = Duration::seconds(g * (MAX_CANDLES - 1));
        let step = Duration::seconds(g);
        let mut bars: Vec<Bar> = Vec::new();
        if let Some(start) = request.start {
            let end = request.end.unwrap_or_else(Utc::now);
            let mut from = start;
            for _ in 0..MAX_PAGES {
                if from > end || bars.len() >= want {
                    break;
                }
                let to = (from + span).min(end);
                bars.extend(self.window(&request.symbol, id, g, from, to).await?);
                from = to + step;
            }
            bars.retain(|b| b.time >= start && b.time <= end);
            bars.dedup_by_key(|b| b.time);
            bars.truncate(want);
            return Ok(bars);
        }
        // Back in time: the newest window first.
        let mut newest = match request.end {
            Some(end) => self.window(&request.symbol, id, g, end - span, end).await?,
            None => {
                self.rows(
                    &request.symbol,
                    &format!("/products/{id}/candles?granularity={g}"),
                )
                .await?
            }
        };
        let mut empty = usize::from(newest.is_empty());
        let mut oldest = newest.first().map(|b| b.time).or(request.end);
        bars.append(&mut newest);
        for _ in 1..MAX_PAGES {
            let Some(before) = oldest else { break };
            if bars.len() >= want || empty >= EMPTY_WINDOWS {
                break;
            }
            let to = before - step;
            let mut page = self.window(&request.symbol, id, g, to - span, to).await?;
            empty = if page.is_empty() { empty + 1 } else { 0 };
            oldest = Some(page.first().map_or(to - span, |b| b.time));
            page.append(&mut bars);
            bars = page;
        }
        if let Some(end) = request.end {
            bars.retain(|b| b.time <= end);
        }
        bars.dedup_by_key(|b| b.time);
        let skip = bars.len().saturating_sub(want);
        Ok(bars.split_off(skip))
    }
}

#[async_trait]
impl MarketData for CoinbaseProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The USD pairs Coinbase trades now.
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        let products = self.products().await?;
        let mut out = Vec::new();
        for p in products
            .iter()
            .filter(|p| p.quote_currency == "USD" && p.status == "online" && !p.trading_disabled)
        {
            let Ok(symbol) = Symbol::parse(&format!("{}/{}", p.base_currency, p.quote_currency))
            else {
                continue;
            };
            out.push(SymbolInfo {
                symbol,
                name: format!("{} on Coinbase", p.id),
                asset_class: AssetClass::Crypto,
                base_timeframe: Timeframe::MINUTE,
            });
        }
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Ok(out)
    }

    /// Without a start and a limit, Coinbase's newest 300 candles; with a start and no limit,
    /// everything up to the end, at most 10,000 bars.
    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        request.validate()?;
        let id = Self::product(&request.symbol)?;
        let (g, native) = native_for(&request.symbol, request.timeframe)?;
        let want = match (request.limit, request.start) {
            (Some(0), _) => {
                return Err(MarketError::Unsupported(
                    "a limit of 0 asks for no bars; ask for at least one".to_string(),
                ));
            }
            (Some(n), _) => n.min(MAX_BARS),
            (None, Some(_)) => MAX_BARS,
            (None, None) => MAX_CANDLES as usize,
        };
        let per_bar = (request.timeframe.approx_minutes() as i64 * 60 / g).max(1) as usize;
        let fetched = self
            .native_bars(request, &id, g, want.saturating_mul(per_bar))
            .await?;
        let mut bars = if native == request.timeframe {
            fetched
        } else {
            resample(&fetched, request.timeframe)
        };
        if request.start.is_some() {
            bars.truncate(want);
        } else {
            bars = bars.split_off(bars.len().saturating_sub(want));
        }
        let Some(last) = bars.last() else {
            return Err(MarketError::NoData {
                symbol: request.symbol.clone(),
                provider: NAME,
                start: request.start.map_or("the start".to_string(), rfc3339),
                end: request.end.map_or("now".to_string(), rfc3339),
                available: format!("no {id} trades in that range"),
            });
        };
        let as_of = last.time + Duration::minutes(request.timeframe.approx_minutes() as i64);
        Ok(BarSeries {
            symbol: request.symbol.clone(),
            timeframe: request.timeframe,
            provenance: Provenance {
                source: NAME.to_string(),
                as_of: as_of.min(Utc::now()),
            },
            bars,
        })
    }

    /// The last trade, against the price 24 hours ago (crypto has no close); the range and
    /// volume are the last 24 hours'.
    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let id = Self::product(symbol)?;
        let (ticker_path, stats_path) = (
            format!("/products/{id}/ticker"),
            format!("/products/{id}/stats"),
        );
        let (ticker, stats) = tokio::join!(
            self.get::<Ticker>(&ticker_path),
            self.get::<Stats>(&stats_path),
        );
        let (Some(ticker), Some(stats)) = (ticker?, stats?) else {
            return Err(unknown(symbol));
        };
        let day = Bar {
            time: ticker.time - Duration::days(1),
            open: stats.open,
            high: stats.high.max(ticker.price),
            low: stats.low.min(ticker.price),
            close: ticker.price,
            volume: stats.volume,
        };
        Ok(PriceSnapshot::from_session(
            symbol.clone(),
            ticker.price,
            &day,
            Timeframe::DAY,
            Some(stats.open),
            Provenance {
                source: NAME.to_string(),
                as_of: ticker.time,
            },
        ))
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        Err(MarketError::Unsupported(format!(
            "Coinbase lists no options; {} has no chain here",
            request.underlying
        )))
    }
}
