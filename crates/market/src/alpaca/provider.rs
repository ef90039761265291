//! [`MarketData`] for Alpaca: symbols, bars, snapshots and option chains.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use quantdesk_domain::{
    Bar, BarSeries, Decimal, OptionChain, PriceSnapshot, Provenance, Symbol, SymbolInfo, Timeframe,
    TimeframeUnit,
};

use super::chain::build_chain;
use super::wire::{OptionPage, WireBar, WireOptionSnapshot};
use super::{
    AlpacaProvider, KNOWN, MAX_BARS, MAX_PAGES, NAME, OPTION_MAX_PAGES, OPTION_PAGE_LIMIT,
    OPTIONS_FEED, PAGE_LIMIT, STRIKE_BAND_PCT, earliest,
};
use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

pub(super) fn unknown(symbol: &Symbol) -> MarketError {
    MarketError::UnknownSymbol {
        symbol: symbol.clone(),
        provider: NAME,
        known: KNOWN.to_string(),
    }
}

/// Stock tickers go into the URL path, so anything Alpaca never uses in a ticker is refused
/// here, with advice, rather than sent as a malformed request.
fn check_stock_symbol(symbol: &Symbol) -> Result<(), MarketError> {
    let ok = symbol.pair().is_some()
        || symbol
            .as_str()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.');
    if ok { Ok(()) } else { Err(unknown(symbol)) }
}

/// The bar lengths Alpaca aggregates: 1–59 minutes, 1–23 hours, a day, a week, 1, 2, 3, 4, 6
/// or 12 months.
fn check_timeframe(symbol: &Symbol, timeframe: Timeframe) -> Result<(), MarketError> {
    let n = timeframe.amount;
    let ok = match timeframe.unit {
        TimeframeUnit::Minute => (1..=59).contains(&n),
        TimeframeUnit::Hour => (1..=23).contains(&n),
        TimeframeUnit::Day | TimeframeUnit::Week => n == 1,
        TimeframeUnit::Month => [1, 2, 3, 4, 6, 12].contains(&n),
    };
    if ok {
        return Ok(());
    }
    Err(MarketError::UnsupportedTimeframe {
        symbol: symbol.clone(),
        timeframe,
        provider: NAME,
        reason: "Alpaca offers 1-59Min, 1-23Hour, 1Day, 1Week and 1, 2, 3, 4, 6 or 12Month bars"
            .to_string(),
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[async_trait]
impl MarketData for AlpacaProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Always empty: Alpaca knows thousands of symbols and QuantDesk does not track which ones
    /// a person asks about, so a screener running on Alpaca must be given its universe.
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        Ok(Vec::new())
    }

    /// Without a start, the newest bars are fetched first (`sort=desc` from 2000 on, since
    /// Alpaca's own default start is the beginning of today) and returned oldest first. Without
    /// a limit, at most 10,000 bars are returned: the first ones from a start, else the newest.
    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        request.validate()?;
        check_stock_symbol(&request.symbol)?;
        check_timeframe(&request.symbol, request.timeframe)?;
        let want = request.limit.unwrap_or(MAX_BARS).min(MAX_BARS);
        if want == 0 {
            return Err(MarketError::Unsupported(
                "a limit of 0 asks for no bars; ask for at least one".to_string(),
            ));
        }
        let newest_first = request.start.is_none();
        let start = request.start.unwrap_or_else(earliest);
        let mut bars: Vec<Bar> = Vec::new();
        let mut token: Option<String> = None;
        for page in 0.. {
            if page == MAX_PAGES {
                tracing::warn!(symbol = %request.symbol, "alpaca bars: stopped after {MAX_PAGES} pages");
                break;
            }
            let mut query = vec![
                ("timeframe", request.timeframe.to_string()),
                ("start", rfc3339(start)),
            ];
            if let Some(end) = request.end {
                query.push(("end", rfc3339(end)));
            }
            query.push(("limit", (want - bars.len()).min(PAGE_LIMIT).to_string()));
            query.push((
                "sort",
                if newest_first { "desc" } else { "asc" }.to_string(),
            ));
            if let Some(token) = &token {
                query.push(("page_token", token.clone()));
            }
            let (page_bars, next) = self.bars_page(&request.symbol, &query).await?;
            bars.extend(page_bars.into_iter().map(WireBar::into_bar));
            match next {
                Some(next) if bars.len() < want => {
                    if token.as_deref() == Some(next.as_str()) {
                        return Err(MarketError::BadResponse {
                            provider: NAME,
                            message: "Alpaca handed out the same page token twice".to_string(),
                        });
                    }
                    token = Some(next);
                }
                _ => break,
            }
        }
        bars.truncate(want);
        bars.sort_by_key(|b| b.time);
        bars.dedup_by_key(|b| b.time);
        let Some(last) = bars.last() else {
            if request.start.is_none() && request.end.is_none() {
                return Err(unknown(&request.symbol));
            }
            return Err(MarketError::NoData {
                symbol: request.symbol.clone(),
                provider: NAME,
                start: request.start.map_or("the start".to_string(), rfc3339),
                end: request.end.map_or("now".to_string(), rfc3339),
                available: "nothing in that range — check the ticker and the dates (Alpaca's stock history begins in 2016)".to_string(),
            });
        };
        let as_of = last.time;
        Ok(BarSeries {
            symbol: request.symbol.clone(),
            timeframe: request.timeframe,
            bars,
            provenance: Provenance {
                source: NAME.to_string(),
                as_of,
            },
        })
    }

    /// Price is the latest trade (the daily close if Alpaca has no trade), the session is
    /// Alpaca's daily bar, the previous close its previous daily bar's close.
    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        check_stock_symbol(symbol)?;
        let wire = self.wire_snapshot(symbol).await?;
        let Some(daily) = wire.daily_bar else {
            return Err(unknown(symbol));
        };
        let (price, as_of) = match &wire.latest_trade {
            Some(trade) => (trade.p, trade.t),
            None => (daily.c, daily.t),
        };
        let session = daily.into_bar();
        let mut snapshot = PriceSnapshot::from_session(
            symbol.clone(),
            price,
            &session,
            Timeframe::DAY,
            wire.prev_daily_bar.map(|b| b.c),
            Provenance {
                source: NAME.to_string(),
                as_of,
            },
        );
        snapshot.quote = wire.latest_quote.map(|q| q.into_quote(symbol));
        Ok(snapshot)
    }

    /// The underlying's price comes from its snapshot. Strikes within 30 % of it are fetched
    /// (all pages), contracts of other roots (adjusted ones like `GOOG1`) are left out, and per
    /// expiration `strikes_around` strikes at or below the price and as many above are kept.
    /// Quotes are from Alpaca's free indicative feed; volume is the day's where Alpaca reports
    /// it, open interest is never reported by these endpoints and stays empty.
    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        let underlying = &request.underlying;
        if underlying.pair().is_some() {
            return Err(MarketError::Unsupported(format!(
                "Alpaca lists options on US stocks and ETFs only, not on {underlying}"
            )));
        }
        let snapshot = self.snapshot(underlying).await?;
        let price = snapshot.price;
        let band = price * Decimal::new(STRIKE_BAND_PCT, 2);
        let mut query = vec![
            ("feed", OPTIONS_FEED.to_string()),
            ("limit", OPTION_PAGE_LIMIT.to_string()),
            ("strike_price_gte", (price - band).round_dp(2).to_string()),
            ("strike_price_lte", (price + band).round_dp(2).to_string()),
        ];
        if let Some(expiration) = request.expiration {
            query.push(("expiration_date", expiration.to_string()));
        }
        let path = format!("/v1beta1/options/snapshots/{underlying}");
        let mut snapshots: Vec<(String, WireOptionSnapshot)> = Vec::new();
        let mut token: Option<String> = None;
        for page in 0.. {
            if page == OPTION_MAX_PAGES {
                tracing::warn!(%underlying, "alpaca options: stopped after {OPTION_MAX_PAGES} pages");
                break;
            }
            let mut page_query = query.clone();
            if let Some(token) = &token {
                page_query.push(("page_token", token.clone()));
            }
            let page: OptionPage = self.fetch(path.clone(), &page_query).await?;
            snapshots.extend(page.snapshots.unwrap_or_default());
            match page.next_page_token {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                Some(_) => {
                    return Err(MarketError::BadResponse {
                        provider: NAME,
                        message: "Alpaca handed out the same page token twice".to_string(),
                    });
                }
                None => break,
            }
        }
        build_chain(underlying, snapshot, request, snapshots)
    }
}
