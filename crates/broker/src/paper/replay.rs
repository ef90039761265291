//! Replaying the bars since the clock last moved: resting orders fill, trail or expire.

use std::collections::HashMap;

use super::*;

impl PaperBroker {
    /// How far the replay has been applied (the broker's own key in the store's settings).
    pub(super) async fn processed_through(
        conn: &mut SqliteConnection,
    ) -> Result<Option<DateTime<Utc>>, BrokerError> {
        let mark: Option<String> = quantdesk_store::setting_in(conn, PROCESSED_SETTING).await?;
        mark.map(|s| parse_ts(&s)).transpose()
    }

    pub(super) async fn set_processed_through(
        conn: &mut SqliteConnection,
        t: DateTime<Utc>,
    ) -> Result<(), BrokerError> {
        quantdesk_store::set_setting_in(conn, PROCESSED_SETTING, &ts(t)).await?;
        Ok(())
    }

    pub(super) async fn open_orders(
        conn: &mut SqliteConnection,
    ) -> Result<Vec<OrderRecord>, BrokerError> {
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

    /// The bars each of the `open` orders is replayed against, in `[from, to]`, by client
    /// order id (none for a symbol the market has no history for). Market calls only: no
    /// store connection is held while they wait.
    pub(super) async fn replay_bars(
        &self,
        open: &[OrderRecord],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<String, Vec<Bar>>, BrokerError> {
        let mut out = HashMap::new();
        for order in open {
            let req = &order.request;
            let Some(tf) = self.base_timeframe(&req.symbol).await? else {
                continue;
            };
            // A trailing stop's best price is recomputed from the bar it was placed in (the
            // replay is deterministic, so there is no state to keep between syncs).
            let start = if req.order_type == OrderType::TrailingStop {
                self.placed_at(order).min(from)
            } else {
                from
            };
            let mut bars_req = BarsRequest::new(req.symbol.clone(), tf);
            bars_req.start = Some(start);
            bars_req.end = Some(to);
            let bars = self.market.bars(&bars_req).await?.bars;
            out.insert(order.client_order_id.clone(), bars);
        }
        Ok(out)
    }

    /// Replays `bars` (from [`Self::replay_bars`]) in `[from, to)` and the open at `to`
    /// against the `open` orders, inside the caller's transaction.
    pub(super) async fn replay(
        &self,
        conn: &mut SqliteConnection,
        open: &[OrderRecord],
        bars: &HashMap<String, Vec<Bar>>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BrokerEvent>, BrokerError> {
        let mut events = Vec::new();
        let to_date = to.date_naive();
        for order in open {
            let req = &order.request;
            let Some(bars) = bars.get(&order.client_order_id) else {
                continue;
            };
            let trailing = req.order_type == OrderType::TrailingStop;
            let mut done = false;
            let mut best: Option<Decimal> = None;
            for bar in bars {
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
                            order,
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
                    order,
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
    pub(super) fn placed_at(&self, order: &OrderRecord) -> DateTime<Utc> {
        if self.replay {
            order
                .session_date
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        } else {
            order.created_at
        }
    }
}
