//! Crypto pairs at live prices: where the paper broker has a live crypto source (Coinbase's
//! stream, through `quantdesk-live`), a pair's market orders fill at the ask (buy) or the bid
//! (sell) of the newest quote, limit and stop orders when the quote crosses their price (checked
//! at every `sync`), positions are marked at the last trade, and the clock for those orders is
//! the wall clock. Everything else keeps the replay clock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DurationRound as _, TimeDelta, Utc};
use quantdesk_domain::{
    Bar, Decimal, OrderRequest, OrderStatus, OrderType, PriceSnapshot, Side, Symbol, TimeInForce,
    Timeframe,
};
use quantdesk_guard::OrderRecord;
use quantdesk_market::BarsRequest;
use quantdesk_market::coinbase::product_id;

use super::{PaperBroker, db};
use crate::{BrokerError, BrokerEvent, Sent};

/// Minutes looked at for a resting order in one sync (a week).
const MAX_MINUTES: usize = 10_080;

/// The settings key of the newest minute the live pass has looked at.
const LIVE_THROUGH: &str = "paper.live_through";

/// The settings key of when each resting live-priced order came to rest, on the market's clock.
const LIVE_RESTS: &str = "paper.live_rests";

/// What order answers say about how the paper broker priced a symbol.
pub const LIVE_QUOTE: &str = "live quote";
pub const REPLAY: &str = "replay";

/// The price an order would trade at now: the side of the book it takes (the ask for a buy, the
/// bid for a sell), or the last trade when the source has no book.
fn touch(side: Side, s: &PriceSnapshot) -> Decimal {
    match (&s.quote, side) {
        (Some(q), Side::Buy) if q.ask > Decimal::ZERO => q.ask,
        (Some(q), Side::Sell) if q.bid > Decimal::ZERO => q.bid,
        _ => s.price,
    }
}

/// Where `req` fills against the quote now, if it does: at the touch, never better than a limit.
pub(super) fn live_fill(req: &OrderRequest, s: &PriceSnapshot) -> Option<Decimal> {
    let p = touch(req.side, s);
    match (req.order_type, req.side) {
        (OrderType::Market, _) => Some(p),
        (OrderType::Limit, Side::Buy) => req.limit_price.filter(|l| p <= *l).map(|_| p),
        (OrderType::Limit, Side::Sell) => req.limit_price.filter(|l| p >= *l).map(|_| p),
        (OrderType::Stop, Side::Buy) => req.stop_price.filter(|st| p >= *st).map(|_| p),
        (OrderType::Stop, Side::Sell) => req.stop_price.filter(|st| p <= *st).map(|_| p),
        (OrderType::StopLimit, Side::Buy) => {
            let (st, lim) = (req.stop_price?, req.limit_price?);
            (p >= st && p <= lim).then_some(p)
        }
        (OrderType::StopLimit, Side::Sell) => {
            let (st, lim) = (req.stop_price?, req.limit_price?);
            (p <= st && p >= lim).then_some(p)
        }
        (OrderType::TrailingStop, _) => None,
    }
}

impl PaperBroker {
    /// The whole minutes after the one `order` was placed in (that one is partial: its range
    /// may predate the order) that closed by `now`, oldest first.
    async fn minutes_since(
        &self,
        order: &OrderRecord,
        rested_at: Option<chrono::DateTime<Utc>>,
        through: Option<chrono::DateTime<Utc>>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<Bar>, BrokerError> {
        let Some(live) = &self.live_crypto else {
            return Ok(Vec::new());
        };
        // On the market's clock (the quote's time when it came to rest), which need not be
        // this machine's.
        let start = rested_at.unwrap_or(order.created_at);
        let placed = start.duration_trunc(TimeDelta::minutes(1)).unwrap_or(start);
        // Minutes already looked at by an earlier sync are not read again.
        let first = (placed + TimeDelta::minutes(1)).max(through.unwrap_or(placed));
        if first + TimeDelta::minutes(1) > now {
            return Ok(Vec::new());
        }
        let minutes = ((now - first).num_minutes() + 1).clamp(1, MAX_MINUTES as i64) as usize;
        let mut req = BarsRequest::new(order.request.symbol.clone(), Timeframe::MINUTE);
        req.start = Some(first);
        req.limit = Some(minutes);
        let bars = match live.bars(&req).await {
            Ok(s) => s.bars,
            Err(quantdesk_market::MarketError::NoData { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(bars
            .into_iter()
            .filter(|b| b.time >= first && b.time + TimeDelta::minutes(1) <= now)
            .collect())
    }

    /// Whether `symbol` trades at live prices here.
    pub fn is_live_priced(&self, symbol: &Symbol) -> bool {
        self.live_crypto.is_some() && product_id(symbol).is_some()
    }

    /// The live snapshot of a live-priced symbol.
    pub(super) async fn live_snapshot(
        &self,
        symbol: &Symbol,
    ) -> Result<Option<PriceSnapshot>, BrokerError> {
        let Some(live) = &self.live_crypto else {
            return Ok(None);
        };
        match live.snapshot(symbol).await {
            Ok(s) => Ok(Some(s)),
            Err(quantdesk_market::MarketError::UnknownSymbol { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Submits a live-priced order: fills now at the touch, rests, or (IOC) cancels.
    pub(super) async fn submit_live(&self, order: &OrderRecord) -> Result<Sent, BrokerError> {
        let req = &order.request;
        if req.order_type == OrderType::TrailingStop {
            let reason = format!(
                "the paper broker prices {} live and does not trail stops on live quotes yet; use a stop order",
                req.symbol
            );
            return self.refuse(order, &reason).await;
        }
        let Some(snapshot) = self.live_snapshot(&req.symbol).await? else {
            let reason = format!("the paper broker has no live price for {}", req.symbol);
            return self.refuse(order, &reason).await;
        };
        let mut tx = self.begin().await?;
        let mut rested = false;
        let sent = match live_fill(req, &snapshot) {
            Some(price) => {
                let qty = Self::qty_of(req, price)?;
                self.fill_in(
                    &mut tx,
                    order,
                    &[OrderStatus::Sending],
                    qty,
                    price,
                    Utc::now(),
                )
                .await?
            }
            None if req.time_in_force == TimeInForce::Ioc => {
                self.set_status_in(
                    &mut tx,
                    order,
                    &[OrderStatus::Sending],
                    OrderStatus::Canceled,
                    Some("immediate-or-cancel: the live quote did not reach the order's price"),
                )
                .await?
            }
            None => {
                rested = true;
                self.set_status_in(
                    &mut tx,
                    order,
                    &[OrderStatus::Sending],
                    OrderStatus::Open,
                    None,
                )
                .await?
            }
        };
        tx.commit().await.map_err(db)?;
        if rested {
            let mut rests: BTreeMap<String, chrono::DateTime<Utc>> =
                self.store.setting(LIVE_RESTS).await?.unwrap_or_default();
            rests.insert(order.client_order_id.clone(), snapshot.provenance.as_of);
            self.store.set_setting(LIVE_RESTS, &rests).await?;
        }
        Ok(sent)
    }

    /// Resting live-priced orders against the quotes now: fills where a quote crossed, day orders
    /// whose (UTC) day is over expire. Quotes are read before the write transaction; inside it
    /// each order is taken only from a resting state, so a concurrent sync fills it once.
    pub(super) async fn sync_live(
        &self,
        open: &[OrderRecord],
    ) -> Result<Vec<BrokerEvent>, BrokerError> {
        let mut quotes: HashMap<Symbol, PriceSnapshot> = HashMap::new();
        for order in open {
            let symbol = &order.request.symbol;
            if !quotes.contains_key(symbol)
                && let Some(s) = self.live_snapshot(symbol).await?
            {
                quotes.insert(symbol.clone(), s);
            }
        }
        // The minutes that closed since each order was placed: a price the market traded
        // through between two looks fills the order as a replayed bar would.
        let through: Option<chrono::DateTime<Utc>> = self.store.setting(LIVE_THROUGH).await?;
        let mut rests: BTreeMap<String, chrono::DateTime<Utc>> =
            self.store.setting(LIVE_RESTS).await?.unwrap_or_default();
        let mut crossed: HashMap<String, (Decimal, chrono::DateTime<Utc>)> = HashMap::new();
        for order in open {
            let Some(now) = quotes
                .get(&order.request.symbol)
                .map(|s| s.provenance.as_of)
            else {
                continue;
            };
            let rested_at = rests.get(&order.client_order_id).copied();
            for bar in self.minutes_since(order, rested_at, through, now).await? {
                if let Some(price) = self.fill_price(&order.request, &bar) {
                    crossed.insert(order.client_order_id.clone(), (price, bar.time));
                    break;
                }
            }
        }
        let today = Utc::now().date_naive();
        let resting = [OrderStatus::Open, OrderStatus::PartiallyFilled];
        let mut events = Vec::new();
        let mut tx = self.begin().await?;
        for order in open {
            let req = &order.request;
            // Another process's sync may have filled or expired it since the list was read.
            let current = quantdesk_guard::journal::get_in(&mut tx, &order.client_order_id).await?;
            if !current.is_some_and(|o| resting.contains(&o.status)) {
                continue;
            }
            let fill = crossed.get(&order.client_order_id).copied().or_else(|| {
                quotes
                    .get(&req.symbol)
                    .and_then(|s| live_fill(req, s))
                    .map(|p| (p, Utc::now()))
            });
            let (sent, status) = if let Some((price, at)) = fill {
                let qty = Self::qty_of(req, price)?;
                let sent = self
                    .fill_in(&mut tx, order, &resting, qty, price, at)
                    .await?;
                let status = sent.status;
                (sent, status)
            } else if req.time_in_force == TimeInForce::Day && order.session_date < today {
                let reason = format!("a day order; its day {} (UTC) ended", order.session_date);
                let sent = self
                    .set_status_in(
                        &mut tx,
                        order,
                        &resting,
                        OrderStatus::Expired,
                        Some(&reason),
                    )
                    .await?;
                (sent, OrderStatus::Expired)
            } else {
                continue;
            };
            events.push(BrokerEvent {
                client_order_id: order.client_order_id.clone(),
                symbol: req.symbol.clone(),
                status,
                filled_qty: sent.filled_qty,
                price: sent.avg_fill_price,
                reason: sent.reason,
            });
        }
        tx.commit().await.map_err(db)?;
        // Orders that filled or expired need no start any more (cancelled ones are swept
        // when the map grows: an order placed during this sync is not in `open` yet).
        let before = rests.len();
        rests.retain(|id, _| !events.iter().any(|e| &e.client_order_id == id));
        if rests.len() > 1_000 {
            rests.retain(|id, _| open.iter().any(|o| &o.client_order_id == id));
        }
        if rests.len() != before {
            self.store.set_setting(LIVE_RESTS, &rests).await?;
        }
        // The minutes looked at; the next sync starts from the newest of them.
        if let Some(newest) = quotes.values().map(|s| s.provenance.as_of).max() {
            let minute = newest
                .duration_trunc(TimeDelta::minutes(1))
                .unwrap_or(newest);
            self.store.set_setting(LIVE_THROUGH, &minute).await?;
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use quantdesk_domain::{OrderRequest, Provenance, Quote, Timeframe};
    use rust_decimal_macros::dec;

    use super::*;

    fn snapshot(bid: Decimal, ask: Decimal) -> PriceSnapshot {
        let symbol = Symbol::parse("BTC/USD").unwrap();
        let now = Utc::now();
        let bar = Bar {
            time: now,
            open: bid,
            high: ask,
            low: bid,
            close: bid,
            volume: Decimal::ZERO,
        };
        let mut s = PriceSnapshot::from_session(
            symbol.clone(),
            (bid + ask) / dec!(2),
            &bar,
            Timeframe::DAY,
            None,
            Provenance {
                source: "coinbase".into(),
                as_of: now,
            },
        );
        s.quote = Some(Quote {
            symbol,
            bid,
            bid_size: dec!(1),
            ask,
            ask_size: dec!(1),
            time: now,
        });
        s
    }

    fn order(
        side: Side,
        kind: OrderType,
        limit: Option<Decimal>,
        stop: Option<Decimal>,
    ) -> OrderRequest {
        let mut r = OrderRequest::market(Symbol::parse("BTC/USD").unwrap(), side, dec!(0.1));
        r.order_type = kind;
        r.limit_price = limit;
        r.stop_price = stop;
        r
    }

    #[test]
    fn orders_take_the_side_of_the_book_they_cross() {
        let s = snapshot(dec!(100.00), dec!(100.02));
        use OrderType::*;
        use Side::*;
        assert_eq!(
            live_fill(&order(Buy, Market, None, None), &s),
            Some(dec!(100.02))
        );
        assert_eq!(
            live_fill(&order(Sell, Market, None, None), &s),
            Some(dec!(100.00))
        );
        assert_eq!(
            live_fill(&order(Buy, Limit, Some(dec!(100.02)), None), &s),
            Some(dec!(100.02))
        );
        assert_eq!(
            live_fill(&order(Buy, Limit, Some(dec!(100.01)), None), &s),
            None
        );
        assert_eq!(
            live_fill(&order(Sell, Limit, Some(dec!(100.00)), None), &s),
            Some(dec!(100.00))
        );
        assert_eq!(
            live_fill(&order(Sell, Limit, Some(dec!(100.01)), None), &s),
            None
        );
        assert_eq!(
            live_fill(&order(Buy, Stop, None, Some(dec!(100.02))), &s),
            Some(dec!(100.02))
        );
        assert_eq!(
            live_fill(&order(Buy, Stop, None, Some(dec!(100.03))), &s),
            None
        );
        assert_eq!(
            live_fill(&order(Sell, Stop, None, Some(dec!(100.00))), &s),
            Some(dec!(100.00))
        );
        assert_eq!(
            live_fill(&order(Sell, Stop, None, Some(dec!(99.99))), &s),
            None
        );
        assert_eq!(
            live_fill(
                &order(Buy, StopLimit, Some(dec!(100.05)), Some(dec!(100.01))),
                &s
            ),
            Some(dec!(100.02))
        );
        assert_eq!(
            live_fill(
                &order(Buy, StopLimit, Some(dec!(100.01)), Some(dec!(100.00))),
                &s
            ),
            None,
            "triggered, but the ask is above the limit"
        );
        assert_eq!(live_fill(&order(Buy, TrailingStop, None, None), &s), None);
        // Without a book (REST's ticker), the last trade.
        let mut no_book = s.clone();
        no_book.quote = None;
        assert_eq!(
            live_fill(&order(Buy, Market, None, None), &no_book),
            Some(no_book.price)
        );
    }
}
