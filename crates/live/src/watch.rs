//! The watchlist: the crypto pairs — and, with an Alpaca account linked, the stocks — the person
//! (or Claude, through `watch`) asked to stream. It is kept in the store (`live.watchlist`), so
//! the app's Watchlist screen, every sidecar and the next start see the same list, and the
//! stream carries each of them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quantdesk_domain::{Decimal, Symbol};
use quantdesk_market::coinbase::product_id;
use quantdesk_market::stream::hub::{ALPACA, COINBASE, FeedState, HubStatus, source_of};
use quantdesk_market::stream::live::{LiveSource, STALE_AFTER};
use quantdesk_market::stream::stocks::{MarketHours, STOCK_STALE_AFTER, stock_id};
use quantdesk_market::{MarketData, MarketError};
use quantdesk_store::{Store, StoreError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Part, SharedLive};

/// The store's key for the list.
pub const WATCHLIST_KEY: &str = "live.watchlist";
/// At most this many pairs are streamed (the hub's memory bound is measured at 1,000).
pub const MAX_WATCHED: usize = 1_000;
/// At most this many symbols in one call.
pub const MAX_PER_CALL: usize = 100;

/// `watch`'s input.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchParams {
    /// Crypto pairs such as ["BTC/USD"], or stocks with an Alpaca account linked; empty with
    /// start lists what is watched.
    pub symbols: Vec<String>,
    /// start (default) or stop.
    #[serde(default)]
    pub action: WatchAction,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatchAction {
    #[default]
    Start,
    Stop,
}

/// One watched pair and its newest live quote, if the stream has one.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Watched {
    pub symbol: String,
    pub price: Option<Decimal>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub as_of: Option<DateTime<Utc>>,
    /// Not updated for longer than the stale threshold (crypto 10 s; stocks 60 s while the
    /// market is open).
    pub stale: bool,
}

/// The stream as this process sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StreamState {
    pub source: String,
    /// connecting, connected or reconnecting.
    pub state: String,
    pub reason: Option<String>,
    pub reconnects: u64,
    /// owner (this process holds the upstream connection), mirror or electing.
    pub part: String,
}

/// `watch`'s answer: the whole watchlist after the change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WatchOut {
    pub watching: Vec<Watched>,
    pub stream: StreamState,
    /// Alpaca's stock stream, with an account linked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stocks_stream: Option<StreamState>,
}

#[derive(Debug, Error)]
pub enum WatchError {
    #[error("at most {MAX_PER_CALL} symbols per call ({0} given)")]
    TooMany(usize),
    #[error("the watchlist holds at most {MAX_WATCHED} pairs")]
    Full,
    #[error("'{0}' is not a symbol")]
    BadSymbol(String),
    #[error(
        "'{0}' is not a crypto pair: with no Alpaca account linked the live stream carries Coinbase's pairs (e.g. BTC/USD); link an Alpaca account in the QuantDesk app to stream stocks"
    )]
    NotCrypto(String),
    #[error("coinbase does not list '{0}' as a USD pair that trades")]
    Unknown(String),
    #[error("Alpaca has no market data for '{0}'")]
    UnknownStock(String),
    #[error(transparent)]
    Listing(#[from] MarketError),
    #[error("the watchlist could not be kept: {0}")]
    Store(#[from] StoreError),
}

/// Stocks: the linked account's market data (to refuse a symbol it does not know) and its
/// market clock (a quote is stale only while the market is open).
#[derive(Debug, Clone)]
pub struct Stocks {
    pub data: Arc<dyn MarketData>,
    pub hours: Arc<dyn MarketHours>,
}

/// The watchlist over this process's share of the stream.
#[derive(Debug)]
pub struct Watcher {
    live: Arc<SharedLive>,
    /// Coinbase's listing, to refuse a pair it does not trade.
    listing: Arc<dyn MarketData>,
    /// With an Alpaca account linked.
    stocks: std::sync::RwLock<Option<Stocks>>,
    store: Store,
}

/// The stored list (product ids).
pub async fn stored(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(store
        .setting::<Vec<String>>(WATCHLIST_KEY)
        .await?
        .unwrap_or_default())
}

impl Watcher {
    /// Puts the stored watchlist on the stream.
    pub async fn start(
        live: Arc<SharedLive>,
        listing: Arc<dyn MarketData>,
        store: Store,
    ) -> Result<Self, StoreError> {
        let list = stored(&store).await?;
        if !list.is_empty() {
            live.watch(list);
        }
        Ok(Self {
            live,
            listing,
            stocks: std::sync::RwLock::new(None),
            store,
        })
    }

    /// Accepts stocks from now on (`None`: no longer).
    pub fn set_stocks(&self, stocks: Option<Stocks>) {
        *self
            .stocks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = stocks;
    }

    fn stocks(&self) -> Option<Stocks> {
        self.stocks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub async fn watch(&self, p: WatchParams) -> Result<WatchOut, WatchError> {
        if p.symbols.len() > MAX_PER_CALL {
            return Err(WatchError::TooMany(p.symbols.len()));
        }
        let stocks = self.stocks();
        let mut products = Vec::new();
        let mut new_stocks = Vec::new();
        for text in &p.symbols {
            let symbol = Symbol::parse(text)
                .map_err(|_| WatchError::BadSymbol(text.chars().take(40).collect()))?;
            let id = match (product_id(&symbol), stock_id(&symbol)) {
                (Some(id), _) => id,
                (None, Some(id)) if stocks.is_some() || p.action == WatchAction::Stop => {
                    new_stocks.push(symbol.clone());
                    id
                }
                _ => return Err(WatchError::NotCrypto(symbol.to_string())),
            };
            if !products.contains(&id) {
                products.push(id);
            }
        }
        let list = stored(&self.store).await?;
        let list = match p.action {
            WatchAction::Start if !products.is_empty() => {
                let new: Vec<&String> = products.iter().filter(|id| !list.contains(id)).collect();
                if new.iter().any(|id| source_of(id) == COINBASE) {
                    let listed: Vec<String> = self
                        .listing
                        .symbols()
                        .await?
                        .iter()
                        .filter_map(|s| product_id(&s.symbol))
                        .collect();
                    if let Some(unknown) = new
                        .iter()
                        .find(|id| source_of(id) == COINBASE && !listed.contains(id))
                    {
                        return Err(WatchError::Unknown((*unknown).clone()));
                    }
                }
                if let Some(stocks) = &stocks {
                    for symbol in new_stocks.iter().filter(|s| new.contains(&&s.to_string())) {
                        match stocks.data.snapshot(symbol).await {
                            Ok(_) => {}
                            Err(MarketError::NoData { .. } | MarketError::UnknownSymbol { .. }) => {
                                return Err(WatchError::UnknownStock(symbol.to_string()));
                            }
                            Err(other) => return Err(WatchError::Listing(other)),
                        }
                    }
                }
                // The list as it is now, read and written in one transaction: another
                // process's change since the read above is kept, and the cap holds for both.
                let (list, new) = self
                    .store
                    .update_setting(WATCHLIST_KEY, |list: &mut Vec<String>| {
                        let new: Vec<String> = products
                            .iter()
                            .filter(|id| !list.contains(id))
                            .cloned()
                            .collect();
                        if list.len() + new.len() > MAX_WATCHED {
                            return Err(WatchError::Full);
                        }
                        list.extend(new.iter().cloned());
                        Ok((list.clone(), new))
                    })
                    .await??;
                self.live.watch(new);
                list
            }
            WatchAction::Start => list,
            WatchAction::Stop => {
                let list = self
                    .store
                    .update_setting(WATCHLIST_KEY, |list: &mut Vec<String>| {
                        list.retain(|id| !products.contains(id));
                        Ok::<_, WatchError>(list.clone())
                    })
                    .await??;
                // A pair an active alert watches keeps streaming.
                let alerted: Vec<String> = self
                    .store
                    .alerts(true)
                    .await?
                    .into_iter()
                    .map(|a| a.product)
                    .collect();
                let off: Vec<String> = products
                    .into_iter()
                    .filter(|id| !alerted.contains(id))
                    .collect();
                if !off.is_empty() {
                    self.live.unwatch(off);
                }
                list
            }
        };
        Ok(self.answer(&list).await)
    }

    async fn answer(&self, list: &[String]) -> WatchOut {
        let stocks = self.stocks();
        // Asked once, only when a stock's quote is old enough for it to matter.
        let mut open: Option<bool> = None;
        let mut watching = Vec::with_capacity(list.len());
        for id in list {
            let q = self.live.quote(id);
            let stale = match &q {
                None => false,
                Some((_, age)) if source_of(id) == COINBASE => *age > STALE_AFTER,
                Some((_, age)) if *age <= STOCK_STALE_AFTER => false,
                Some(_) => match (&stocks, open) {
                    (_, Some(o)) => o,
                    (Some(s), None) => {
                        let o = s.hours.open_now().await.unwrap_or(false);
                        open = Some(o);
                        o
                    }
                    (None, None) => false,
                },
            };
            watching.push(Watched {
                symbol: id.replace('-', "/"),
                price: q.as_ref().map(|(q, _)| q.price),
                bid: q.as_ref().map(|(q, _)| q.bid),
                ask: q.as_ref().map(|(q, _)| q.ask),
                as_of: q.as_ref().map(|(q, _)| q.time),
                stale,
            });
        }
        let statuses = self.live.statuses();
        let part = match self.live.part() {
            Part::Owner => "owner",
            Part::Mirror => "mirror",
            Part::Electing => "electing",
        };
        let view = |status: HubStatus| {
            let (state, reason) = match status.state {
                FeedState::Connecting => ("connecting", None),
                FeedState::Connected => ("connected", None),
                FeedState::Reconnecting { reason } => ("reconnecting", Some(reason)),
            };
            StreamState {
                source: status.source.to_string(),
                state: state.to_string(),
                reason,
                reconnects: status.reconnects,
                part: part.to_string(),
            }
        };
        let stocks_stream = statuses
            .iter()
            .find(|s| s.source == ALPACA)
            .cloned()
            .map(view);
        WatchOut {
            watching,
            stream: view(self.live.status()),
            stocks_stream,
        }
    }
}
