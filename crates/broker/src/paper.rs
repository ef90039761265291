//! The built-in paper broker: $100,000 of pretend cash, positions, orders and fills kept in the
//! store (so a restart loses nothing), priced from the market-data provider.
//!
//! Offline it trades on a replay clock over the bundled history: the clock stands at the open of
//! a trading day (the calendar is the S&P 500's), the current price is that day's open, and
//! advancing the clock replays every bar in between — a resting limit or stop order fills when a
//! bar's range crosses its price (at the open when the bar gaps through it), a trailing stop
//! follows the best price since it was placed and fills when a bar reaches its trail, `day` orders
//! expire at the end of their session. With a live data provider the clock is the wall clock and the
//! price the provider's latest.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use quantdesk_domain::{
    Bar, Decimal, OrderRequest, OrderStatus, OrderType, Side, Symbol, TimeInForce, Timeframe,
};
use quantdesk_guard::journal::{self, Change};
use quantdesk_guard::{OrderRecord, PricePoint};
use quantdesk_market::{BarsRequest, MarketData, MarketError};
use quantdesk_store::{Store, StoreError};
use sqlx::SqliteConnection;

use crate::{
    AccountInfo, Broker, BrokerError, BrokerEvent, MarketClock, PositionInfo, Sent, parse_dec,
};

mod clock;
mod fills;
mod live;
mod replay;

pub use live::{LIVE_QUOTE, REPLAY};

const NAME: &str = "paper";

/// Where a fresh replay clock starts: one year before the end of the bundled GOOG history, so
/// there is history left to replay.
pub const REPLAY_START: &str = "2012-03-01T00:00:00Z";

/// The calendar of trading days for the replay clock.
const CALENDAR: &str = "SPX";

/// The settings key of how far the replay has been applied to open orders.
const PROCESSED_SETTING: &str = "paper.processed_through";

/// How the paper broker fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperConfig {
    pub initial_cash: Decimal,
    /// Market and stop orders fill this many basis points worse than the price.
    pub slippage_bps: Decimal,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            initial_cash: Decimal::from(100_000),
            slippage_bps: Decimal::from(5),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PaperBroker {
    store: Store,
    market: Arc<dyn MarketData>,
    config: PaperConfig,
    /// Offline replay clock (bundled data) or the wall clock (live data).
    replay: bool,
    /// Live crypto prices (Coinbase's stream): crypto pairs trade at them (`live`).
    live_crypto: Option<Arc<dyn MarketData>>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, BrokerError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| BrokerError::Corrupt(format!("timestamp '{s}': {e}")))
}

fn db(e: sqlx::Error) -> BrokerError {
    BrokerError::Store(StoreError::from(e))
}

impl PaperBroker {
    pub fn new(store: Store, market: Arc<dyn MarketData>, config: PaperConfig) -> Self {
        let replay = market.name() == "bundled";
        Self {
            store,
            market,
            config,
            replay,
            live_crypto: None,
        }
    }

    /// Trades crypto pairs at `crypto`'s live prices (the rest as before).
    pub fn with_live_crypto(mut self, crypto: Arc<dyn MarketData>) -> Self {
        self.live_crypto = Some(crypto);
        self
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, BrokerError> {
        self.store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)
    }

    async fn ensure_account(&self, conn: &mut SqliteConnection) -> Result<Decimal, BrokerError> {
        sqlx::query(
            "INSERT INTO paper_account (id, cash, initial_cash, realized_pnl, created_at) \
             VALUES (1, ?, ?, '0', ?) ON CONFLICT DO NOTHING",
        )
        .bind(self.config.initial_cash.to_string())
        .bind(self.config.initial_cash.to_string())
        .bind(ts(Utc::now()))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        let (cash,): (String,) = sqlx::query_as("SELECT cash FROM paper_account WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        parse_dec(&cash)
    }

    async fn mark_prices(&self, now: DateTime<Utc>) -> Result<Vec<PositionInfo>, BrokerError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT symbol, qty, avg_price FROM paper_positions ORDER BY symbol")
                .fetch_all(self.store.pool())
                .await
                .map_err(db)?;
        let mut out = Vec::new();
        for (symbol, qty, avg) in rows {
            let symbol = Symbol::parse(&symbol).map_err(|e| BrokerError::Corrupt(e.to_string()))?;
            let (qty, avg) = (parse_dec(&qty)?, parse_dec(&avg)?);
            let price = self.price_at(&symbol, now).await?.map(|p| p.price);
            out.push(PositionInfo {
                symbol,
                qty,
                avg_entry_price: avg,
                current_price: price,
                market_value: price.map(|p| (p * qty).round_dp(2)),
                unrealized_pnl: price.map(|p| ((p - avg) * qty).round_dp(2)),
            });
        }
        Ok(out)
    }
}

/// How often `sync` looks again when another process changed the book meanwhile.
const SYNC_ATTEMPTS: usize = 5;

/// The same resting orders, in the same states.
fn same_book(a: &[OrderRecord], b: &[OrderRecord]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (&x.client_order_id, x.status, x.filled_qty)
                == (&y.client_order_id, y.status, y.filled_qty)
        })
}

#[async_trait]
impl Broker for PaperBroker {
    fn name(&self) -> &'static str {
        NAME
    }

    fn live(&self) -> bool {
        false
    }

    fn positions_in_store(&self) -> bool {
        true
    }

    fn pricing(&self, symbol: &Symbol) -> Option<&'static str> {
        Some(if self.is_live_priced(symbol) {
            LIVE_QUOTE
        } else if self.replay {
            REPLAY
        } else {
            "latest price"
        })
    }

    async fn clock(&self) -> Result<MarketClock, BrokerError> {
        if self.replay {
            let now = self.replay_now().await?;
            let open = self
                .calendar(now, 1)
                .await?
                .first()
                .is_some_and(|b| b.time == now);
            return Ok(MarketClock {
                now,
                is_open: open,
                session_date: now.date_naive(),
            });
        }
        // With live data: US regular hours approximated as 14:30–21:00 UTC on weekdays
        // (no holidays, no daylight-saving shift); the Alpaca broker asks Alpaca's clock instead.
        let now = Utc::now();
        use chrono::{Datelike, Timelike, Weekday};
        let minutes = now.hour() * 60 + now.minute();
        let weekday = !matches!(now.weekday(), Weekday::Sat | Weekday::Sun);
        Ok(MarketClock {
            now,
            is_open: weekday && (14 * 60 + 30..21 * 60).contains(&minutes),
            session_date: now.date_naive(),
        })
    }

    async fn last_price(&self, symbol: &Symbol) -> Result<Option<PricePoint>, BrokerError> {
        let now = self.clock().await?.now;
        self.price_at(symbol, now).await
    }

    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let now = self.clock().await?.now;
        let mut conn = self.store.pool().acquire().await.map_err(db)?;
        let cash = self.ensure_account(&mut conn).await?;
        let (realized,): (String,) =
            sqlx::query_as("SELECT realized_pnl FROM paper_account WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
        drop(conn);
        let positions = self.mark_prices(now).await?;
        let value: Decimal = positions.iter().filter_map(|p| p.market_value).sum();
        let unrealized: Decimal = positions.iter().filter_map(|p| p.unrealized_pnl).sum();
        Ok(AccountInfo {
            broker: NAME.into(),
            mode: "paper".into(),
            currency: "USD".into(),
            cash: cash.round_dp(2),
            equity: (cash + value).round_dp(2),
            buying_power: cash.round_dp(2),
            positions_value: value,
            realized_pnl: parse_dec(&realized)?.round_dp(2),
            unrealized_pnl: unrealized,
            last_equity: None,
            as_of: now,
        })
    }

    async fn positions(&self) -> Result<Vec<PositionInfo>, BrokerError> {
        let now = self.clock().await?.now;
        self.mark_prices(now).await
    }

    async fn submit(&self, order: &OrderRecord) -> Result<Sent, BrokerError> {
        let req = &order.request;
        if req.is_bracket() {
            let reason = "the paper broker does not take bracket orders; place the entry, then a \
                          limit order to take profit and a stop order to limit the loss";
            return self.refuse(order, reason).await;
        }
        if self.is_live_priced(&req.symbol) {
            return self.submit_live(order).await;
        }
        let clock = self.clock().await?;
        let price = self.price_at(&req.symbol, clock.now).await?;
        let mut tx = self.begin().await?;
        // Orders that were open before this one have first claim on the current price.
        let sent = match price {
            None => {
                self.set_status_in(
                    &mut tx,
                    order,
                    &[OrderStatus::Sending],
                    OrderStatus::RejectedByBroker,
                    Some(&format!("the paper broker has no price for {}", req.symbol)),
                )
                .await?
            }
            Some(p) => {
                let now_bar = Bar {
                    time: clock.now,
                    open: p.price,
                    high: p.price,
                    low: p.price,
                    close: p.price,
                    volume: Decimal::ZERO,
                };
                match self.fill_price(req, &now_bar) {
                    Some(fill) => {
                        let qty = Self::qty_of(req, fill)?;
                        self.fill_in(
                            &mut tx,
                            order,
                            &[OrderStatus::Sending],
                            qty,
                            fill,
                            clock.now,
                        )
                        .await?
                    }
                    None if req.time_in_force == TimeInForce::Ioc => {
                        self.set_status_in(
                            &mut tx,
                            order,
                            &[OrderStatus::Sending],
                            OrderStatus::Canceled,
                            Some("immediate-or-cancel: the price did not reach the order's"),
                        )
                        .await?
                    }
                    None => {
                        self.set_status_in(
                            &mut tx,
                            order,
                            &[OrderStatus::Sending],
                            OrderStatus::Open,
                            None,
                        )
                        .await?
                    }
                }
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(sent)
    }

    async fn cancel(&self, order: &OrderRecord) -> Result<(), BrokerError> {
        let mut tx = self.begin().await?;
        self.set_status_in(
            &mut tx,
            order,
            &[
                OrderStatus::Open,
                OrderStatus::PartiallyFilled,
                OrderStatus::Accepted,
            ],
            OrderStatus::Canceled,
            Some("cancelled on request"),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn lookup(&self, order: &OrderRecord) -> Result<Option<Sent>, BrokerError> {
        // The paper broker's book is the journal: an order it took is no longer `sending`.
        let mut conn = self.store.pool().acquire().await.map_err(db)?;
        let current = journal::get_in(&mut conn, &order.client_order_id).await?;
        Ok(current
            .filter(|o| !matches!(o.status, OrderStatus::Sending | OrderStatus::Accepted))
            .map(|o| Sent {
                status: o.status,
                broker_order_id: o.broker_order_id,
                filled_qty: o.filled_qty,
                avg_fill_price: o.avg_fill_price,
                reason: o.reason,
            }))
    }

    /// Replays the bars since the last sync against the resting orders. The bars are fetched
    /// before the write transaction opens — from the network, or through the store's own
    /// cache — so nothing holds the store while it waits on the market; if another process
    /// replayed or changed the book in between, the look is taken again.
    async fn sync(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let mut events = self.sync_replay().await?;
        let live: Vec<OrderRecord> = {
            let mut conn = self.store.pool().acquire().await.map_err(db)?;
            Self::open_orders(&mut conn).await?
        }
        .into_iter()
        .filter(|o| self.is_live_priced(&o.request.symbol))
        .collect();
        if !live.is_empty() {
            events.extend(self.sync_live(&live).await?);
        }
        Ok(events)
    }
}

impl PaperBroker {
    /// The replay clock's part of `sync` (orders not priced live).
    async fn sync_replay(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let now = self.clock().await?.now;
        for _ in 0..SYNC_ATTEMPTS {
            let (from, open) = {
                let mut conn = self.store.pool().acquire().await.map_err(db)?;
                let from = Self::processed_through(&mut conn).await?;
                let mut open = Self::open_orders(&mut conn).await?;
                open.retain(|o| !self.is_live_priced(&o.request.symbol));
                (from, open)
            };
            let due = from.filter(|from| *from < now);
            let bars = match due {
                Some(from) => self.replay_bars(&open, from, now).await?,
                None => Default::default(),
            };
            let mut tx = self.begin().await?;
            let mut book = Self::open_orders(&mut tx).await?;
            book.retain(|o| !self.is_live_priced(&o.request.symbol));
            let unchanged =
                Self::processed_through(&mut tx).await? == from && same_book(&book, &open);
            if !unchanged {
                tx.rollback().await.map_err(db)?;
                continue;
            }
            let events = match due {
                Some(from) => self.replay(&mut tx, &open, &bars, from, now).await?,
                None => Vec::new(),
            };
            Self::set_processed_through(&mut tx, now).await?;
            tx.commit().await.map_err(db)?;
            return Ok(events);
        }
        Err(BrokerError::Busy(
            "the paper book kept changing while its bars were replayed (another QuantDesk \
             process is trading on it); try again"
                .into(),
        ))
    }
}
