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
        }
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, BrokerError> {
        self.store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)
    }

    /// The replay clock's time (creating it at [`REPLAY_START`] on first use).
    async fn replay_now(&self) -> Result<DateTime<Utc>, BrokerError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT now FROM paper_clock WHERE id = 1")
            .fetch_optional(self.store.pool())
            .await
            .map_err(db)?;
        match row {
            Some((now,)) => parse_ts(&now),
            None => {
                let start = self
                    .trading_day_at_or_after(parse_ts(REPLAY_START)?)
                    .await?;
                sqlx::query(
                    "INSERT INTO paper_clock (id, now) VALUES (1, ?) ON CONFLICT DO NOTHING",
                )
                .bind(ts(start))
                .execute(self.store.pool())
                .await
                .map_err(db)?;
                Box::pin(self.replay_now()).await
            }
        }
    }

    async fn calendar(&self, start: DateTime<Utc>, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        let symbol = Symbol::parse(CALENDAR).map_err(|e| BrokerError::Invalid(e.to_string()))?;
        let mut req = BarsRequest::new(symbol, Timeframe::DAY);
        req.start = Some(start);
        req.limit = Some(limit);
        Ok(self.market.bars(&req).await?.bars)
    }

    async fn trading_day_at_or_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, BrokerError> {
        self.calendar(t, 1)
            .await?
            .first()
            .map(|b| b.time)
            .ok_or_else(|| {
                BrokerError::Invalid(format!(
                    "the bundled history has no trading day on or after {}",
                    t.date_naive()
                ))
            })
    }

    /// Moves the replay clock forward by `days` trading days (tests and the app drive it).
    pub async fn advance_clock(&self, days: usize) -> Result<DateTime<Utc>, BrokerError> {
        let now = self.replay_now().await?;
        let days_ahead = self.calendar(now + Duration::seconds(1), days).await?;
        let Some(next) = days_ahead.get(days.saturating_sub(1)).map(|b| b.time) else {
            return Err(BrokerError::Invalid(format!(
                "the bundled history ends before {days} more trading days"
            )));
        };
        self.set_clock_exact(next).await?;
        Ok(next)
    }

    /// Sets the replay clock to the first trading day on or after `date`. Only forward: the
    /// past has been traded.
    pub async fn set_clock(&self, date: NaiveDate) -> Result<DateTime<Utc>, BrokerError> {
        let t = self
            .trading_day_at_or_after(date.and_time(chrono::NaiveTime::MIN).and_utc())
            .await?;
        let now = self.replay_now().await?;
        if t < now {
            return Err(BrokerError::Invalid(format!(
                "the paper clock stands at {}; it only moves forward",
                now.date_naive()
            )));
        }
        self.set_clock_exact(t).await?;
        Ok(t)
    }

    async fn set_clock_exact(&self, t: DateTime<Utc>) -> Result<(), BrokerError> {
        sqlx::query("UPDATE paper_clock SET now = ? WHERE id = 1 AND now <= ?")
            .bind(ts(t))
            .bind(ts(t))
            .execute(self.store.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The price of `symbol` at `now`: the open of the bar that starts then (the session has just
    /// opened), else the close of the latest bar before.
    async fn price_at(
        &self,
        symbol: &Symbol,
        now: DateTime<Utc>,
    ) -> Result<Option<PricePoint>, BrokerError> {
        if !self.replay {
            return match self.market.snapshot(symbol).await {
                Ok(s) => Ok(Some(PricePoint {
                    price: s.price,
                    at: s.provenance.as_of,
                })),
                Err(MarketError::UnknownSymbol { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        let Some(tf) = self.base_timeframe(symbol).await? else {
            return Ok(None);
        };
        let mut req = BarsRequest::new(symbol.clone(), tf);
        req.end = Some(now);
        req.limit = Some(1);
        let bars = match self.market.bars(&req).await {
            Ok(s) => s.bars,
            Err(MarketError::UnknownSymbol { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(bars.last().map(|b| {
            if b.time == now {
                PricePoint {
                    price: b.open,
                    at: now,
                }
            } else {
                PricePoint {
                    price: b.close,
                    at: b.time,
                }
            }
        }))
    }

    async fn base_timeframe(&self, symbol: &Symbol) -> Result<Option<Timeframe>, BrokerError> {
        Ok(self
            .market
            .symbols()
            .await?
            .into_iter()
            .find(|s| &s.symbol == symbol)
            .map(|s| s.base_timeframe))
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

    fn slipped(&self, side: Side, price: Decimal) -> Decimal {
        let f = self.config.slippage_bps / Decimal::from(10_000);
        let p = match side {
            Side::Buy => price * (Decimal::ONE + f),
            Side::Sell => price * (Decimal::ONE - f),
        };
        p.round_dp(4)
    }

    /// Whether a resting order fills on `bar`, and at what price. A bar with open = high = low
    /// is a single price (the open of the current session).
    fn fill_price(&self, req: &OrderRequest, bar: &Bar) -> Option<Decimal> {
        let (o, h, l) = (bar.open, bar.high, bar.low);
        match (req.order_type, req.side) {
            (OrderType::Market, side) => Some(self.slipped(side, o)),
            (OrderType::Limit, Side::Buy) => req.limit_price.filter(|p| l <= *p).map(|p| p.min(o)),
            (OrderType::Limit, Side::Sell) => req.limit_price.filter(|p| h >= *p).map(|p| p.max(o)),
            (OrderType::Stop, Side::Buy) => req
                .stop_price
                .filter(|s| h >= *s)
                .map(|s| self.slipped(Side::Buy, s.max(o))),
            (OrderType::Stop, Side::Sell) => req
                .stop_price
                .filter(|s| l <= *s)
                .map(|s| self.slipped(Side::Sell, s.min(o))),
            (OrderType::StopLimit, Side::Buy) => {
                let (s, lim) = (req.stop_price?, req.limit_price?);
                if h < s {
                    return None;
                }
                let trigger = s.max(o);
                if trigger <= lim {
                    Some(trigger)
                } else if l <= lim {
                    Some(lim)
                } else {
                    None
                }
            }
            (OrderType::StopLimit, Side::Sell) => {
                let (s, lim) = (req.stop_price?, req.limit_price?);
                if l > s {
                    return None;
                }
                let trigger = s.min(o);
                if trigger >= lim {
                    Some(trigger)
                } else if h >= lim {
                    Some(lim)
                } else {
                    None
                }
            }
            // Needs the best price since it was placed: see `trailing_fill`.
            (OrderType::TrailingStop, _) => None,
        }
    }

    /// A trailing stop on `bar`, given the best price since it was placed (the highest for a
    /// sell, the lowest for a buy) before this bar: it triggers when the bar reaches
    /// `best ∓ trail_percent` and fills as a market order there (at the open when the bar gaps
    /// through it), as Alpaca's trailing stops do. The best price moves with the bar only after
    /// the check — within a bar the order of high and low is unknown, and the check on earlier
    /// extremes never fills at a price the bar did not trade.
    fn trailing_fill(&self, req: &OrderRequest, best: Decimal, bar: &Bar) -> Option<Decimal> {
        let trail = req.trail_percent? / Decimal::from(100);
        match req.side {
            Side::Sell => {
                let stop = best * (Decimal::ONE - trail);
                (bar.low <= stop).then(|| self.slipped(Side::Sell, stop.min(bar.open)))
            }
            Side::Buy => {
                let stop = best * (Decimal::ONE + trail);
                (bar.high >= stop).then(|| self.slipped(Side::Buy, stop.max(bar.open)))
            }
        }
    }

    /// Applies a fill in the caller's transaction: cash, position, realised P&L, the fill row and
    /// the journal (which releases the order's reservation). A buy the cash cannot pay for is
    /// rejected instead, as a broker would.
    async fn fill_in(
        &self,
        conn: &mut SqliteConnection,
        order: &OrderRecord,
        from: &[OrderStatus],
        qty: Decimal,
        price: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Sent, BrokerError> {
        let req = &order.request;
        let cash = self.ensure_account(conn).await?;
        let cost = (qty * price).round_dp(4);
        if req.side == Side::Buy && cost > cash {
            let reason = format!(
                "insufficient buying power: the order costs ${} and the paper account has ${} cash",
                cost.round_dp(2),
                cash.round_dp(2)
            );
            journal::transition_in(
                conn,
                &order.client_order_id,
                from,
                OrderStatus::RejectedByBroker,
                &Change {
                    reason: Some(&reason),
                    ..Change::default()
                },
                Utc::now(),
            )
            .await?;
            return Ok(Sent {
                status: OrderStatus::RejectedByBroker,
                broker_order_id: Some(order.client_order_id.clone()),
                filled_qty: Decimal::ZERO,
                avg_fill_price: None,
                reason: Some(reason),
            });
        }
        let moved = journal::transition_in(
            conn,
            &order.client_order_id,
            from,
            OrderStatus::Filled,
            &Change {
                broker_order_id: Some(&order.client_order_id),
                filled_qty: Some(qty),
                avg_fill_price: Some(price),
                ..Change::default()
            },
            Utc::now(),
        )
        .await?;
        if !moved {
            // Another process filled or cancelled it first: nothing to apply twice.
            return Err(BrokerError::Invalid(format!(
                "order {} changed while it was being filled",
                order.client_order_id
            )));
        }
        let symbol = req.symbol.as_str();
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT qty, avg_price FROM paper_positions WHERE symbol = ?")
                .bind(symbol)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        let (pos, avg) = match row {
            Some((q, a)) => (parse_dec(&q)?, parse_dec(&a)?),
            None => (Decimal::ZERO, Decimal::ZERO),
        };
        let signed = qty * req.side.sign();
        let new_pos = pos + signed;
        // Shares that close part of the existing position realise P&L at the old average.
        let closing = if pos.is_sign_positive() != signed.is_sign_positive() && !pos.is_zero() {
            qty.min(pos.abs())
        } else {
            Decimal::ZERO
        };
        let direction = if pos < Decimal::ZERO {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        let realized = (price - avg) * closing * direction;
        let new_avg = if new_pos.is_zero() {
            Decimal::ZERO
        } else if closing.is_zero() {
            (pos * avg + signed * price) / new_pos
        } else if closing < qty {
            // Flipped through zero: the remainder opens at the fill price.
            price
        } else {
            avg
        };
        if new_pos.is_zero() {
            sqlx::query("DELETE FROM paper_positions WHERE symbol = ?")
                .bind(symbol)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        } else {
            sqlx::query(
                "INSERT INTO paper_positions (symbol, asset_class, qty, avg_price) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (symbol) DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price",
            )
            .bind(symbol)
            .bind(req.asset_class.as_str())
            .bind(new_pos.normalize().to_string())
            .bind(new_avg.round_dp(6).normalize().to_string())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        }
        let new_cash = cash - signed * price;
        let (realized_total,): (String,) =
            sqlx::query_as("SELECT realized_pnl FROM paper_account WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
        sqlx::query("UPDATE paper_account SET cash = ?, realized_pnl = ? WHERE id = 1")
            .bind(new_cash.normalize().to_string())
            .bind(
                (parse_dec(&realized_total)? + realized)
                    .normalize()
                    .to_string(),
            )
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO paper_fills (client_order_id, symbol, side, qty, price, realized_pnl, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&order.client_order_id)
        .bind(symbol)
        .bind(req.side.as_str())
        .bind(qty.to_string())
        .bind(price.to_string())
        .bind(realized.to_string())
        .bind(ts(at))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        Ok(Sent {
            status: OrderStatus::Filled,
            broker_order_id: Some(order.client_order_id.clone()),
            filled_qty: qty,
            avg_fill_price: Some(price),
            reason: None,
        })
    }

    async fn set_status_in(
        &self,
        conn: &mut SqliteConnection,
        order: &OrderRecord,
        from: &[OrderStatus],
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<Sent, BrokerError> {
        journal::transition_in(
            conn,
            &order.client_order_id,
            from,
            to,
            &Change {
                reason,
                broker_order_id: Some(&order.client_order_id),
                ..Change::default()
            },
            Utc::now(),
        )
        .await?;
        Ok(Sent {
            status: to,
            broker_order_id: Some(order.client_order_id.clone()),
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            reason: reason.map(str::to_string),
        })
    }

    /// The quantity an order is for (a notional order's at `price`).
    fn qty_of(req: &OrderRequest, price: Decimal) -> Result<Decimal, BrokerError> {
        match (req.qty, req.notional) {
            (Some(q), _) => Ok(q),
            (None, Some(n)) if price > Decimal::ZERO => Ok((n / price).round_dp(9)),
            _ => Err(BrokerError::Invalid("the order has no quantity".into())),
        }
    }

    async fn processed_through(
        conn: &mut SqliteConnection,
    ) -> Result<Option<DateTime<Utc>>, BrokerError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = ?")
            .bind(PROCESSED_SETTING)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        row.map(|(v,)| {
            serde_json::from_str::<String>(&v)
                .map_err(|e| BrokerError::Corrupt(format!("{PROCESSED_SETTING}: {e}")))
                .and_then(|s| parse_ts(&s))
        })
        .transpose()
    }

    async fn set_processed_through(
        conn: &mut SqliteConnection,
        t: DateTime<Utc>,
    ) -> Result<(), BrokerError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(PROCESSED_SETTING)
        .bind(serde_json::Value::String(ts(t)).to_string())
        .bind(ts(Utc::now()))
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn open_orders(conn: &mut SqliteConnection) -> Result<Vec<OrderRecord>, BrokerError> {
        let mut open = journal::list_in(
            conn,
            &[OrderStatus::Open, OrderStatus::PartiallyFilled],
            10_000,
        )
        .await?;
        open.retain(|o| o.broker == NAME);
        open.reverse(); // oldest first: earlier orders fill first
        Ok(open)
    }

    /// Replays bars in `[from, to)` and the open at `to` against the open orders.
    async fn replay(
        &self,
        conn: &mut SqliteConnection,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BrokerEvent>, BrokerError> {
        let mut events = Vec::new();
        let to_date = to.date_naive();
        for order in Self::open_orders(conn).await? {
            let req = &order.request;
            let Some(tf) = self.base_timeframe(&req.symbol).await? else {
                continue;
            };
            let trailing = req.order_type == OrderType::TrailingStop;
            // A trailing stop's best price is recomputed from the bar it was placed in (the
            // replay is deterministic, so there is no state to keep between syncs).
            let start = if trailing {
                self.placed_at(&order).min(from)
            } else {
                from
            };
            let mut bars_req = BarsRequest::new(req.symbol.clone(), tf);
            bars_req.start = Some(start);
            bars_req.end = Some(to);
            let bars = self.market.bars(&bars_req).await?.bars;
            let mut done = false;
            let mut best: Option<Decimal> = None;
            for bar in &bars {
                // The bar starting at `to` has only opened: its open is all that is known.
                let bar = if bar.time >= to {
                    Bar {
                        high: bar.open,
                        low: bar.open,
                        close: bar.open,
                        ..bar.clone()
                    }
                } else {
                    bar.clone()
                };
                if order.request.time_in_force == TimeInForce::Day
                    && bar.time.date_naive() > order.session_date
                {
                    break;
                }
                let price = if trailing {
                    // Bars already replayed did not reach the trail: they only move the best.
                    // The first bar starts from its open: the price when the order was placed.
                    let b = best.unwrap_or(bar.open);
                    let fill = (bar.time >= from)
                        .then(|| self.trailing_fill(req, b, &bar))
                        .flatten();
                    best = Some(match req.side {
                        Side::Sell => b.max(bar.high),
                        Side::Buy => b.min(bar.low),
                    });
                    fill
                } else {
                    self.fill_price(req, &bar)
                };
                if let Some(price) = price {
                    let qty = Self::qty_of(req, price)?;
                    let sent = self
                        .fill_in(
                            conn,
                            &order,
                            &[OrderStatus::Open, OrderStatus::PartiallyFilled],
                            qty,
                            price,
                            bar.time,
                        )
                        .await?;
                    events.push(BrokerEvent {
                        client_order_id: order.client_order_id.clone(),
                        symbol: req.symbol.clone(),
                        status: sent.status,
                        filled_qty: sent.filled_qty,
                        price: sent.avg_fill_price,
                        reason: sent.reason,
                    });
                    done = true;
                    break;
                }
            }
            if !done && req.time_in_force == TimeInForce::Day && order.session_date < to_date {
                let reason = format!("a day order; its session {} ended", order.session_date);
                self.set_status_in(
                    conn,
                    &order,
                    &[OrderStatus::Open, OrderStatus::PartiallyFilled],
                    OrderStatus::Expired,
                    Some(&reason),
                )
                .await?;
                events.push(BrokerEvent {
                    client_order_id: order.client_order_id.clone(),
                    symbol: req.symbol.clone(),
                    status: OrderStatus::Expired,
                    filled_qty: Decimal::ZERO,
                    price: None,
                    reason: Some(reason),
                });
            }
        }
        Ok(events)
    }

    /// When an order started working: its session's start on the replay clock (the clock stood
    /// at that session's open), its creation time with live data.
    fn placed_at(&self, order: &OrderRecord) -> DateTime<Utc> {
        if self.replay {
            order
                .session_date
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        } else {
            order.created_at
        }
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
            let mut tx = self.begin().await?;
            let reason = "the paper broker does not take bracket orders; place the entry, then a \
                          limit order to take profit and a stop order to limit the loss"
                .to_string();
            let sent = self
                .set_status_in(
                    &mut tx,
                    order,
                    &[OrderStatus::Sending],
                    OrderStatus::RejectedByBroker,
                    Some(&reason),
                )
                .await?;
            tx.commit().await.map_err(db)?;
            return Ok(sent);
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

    async fn sync(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let now = self.clock().await?.now;
        let mut tx = self.begin().await?;
        let from = Self::processed_through(&mut tx).await?;
        let events = match from {
            Some(from) if from >= now => Vec::new(),
            Some(from) => self.replay(&mut tx, from, now).await?,
            None => Vec::new(),
        };
        Self::set_processed_through(&mut tx, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(events)
    }
}
