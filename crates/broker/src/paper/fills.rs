//! Fills: the price an order fills at on a bar (slippage, gaps, trailing stops) and the
//! transaction that records a fill or a status change.

use super::*;

impl PaperBroker {
    pub(super) fn slipped(&self, side: Side, price: Decimal) -> Decimal {
        let f = self.config.slippage_bps / Decimal::from(10_000);
        let p = match side {
            Side::Buy => price * (Decimal::ONE + f),
            Side::Sell => price * (Decimal::ONE - f),
        };
        p.round_dp(4)
    }

    /// Whether a resting order fills on `bar`, and at what price. A bar with open = high = low
    /// is a single price (the open of the current session).
    pub(super) fn fill_price(&self, req: &OrderRequest, bar: &Bar) -> Option<Decimal> {
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
    pub(super) fn trailing_fill(
        &self,
        req: &OrderRequest,
        best: Decimal,
        bar: &Bar,
    ) -> Option<Decimal> {
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
    pub(super) async fn fill_in(
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

    /// Refuses an order being sent, in a transaction of its own, saying why.
    pub(super) async fn refuse(
        &self,
        order: &OrderRecord,
        reason: &str,
    ) -> Result<Sent, BrokerError> {
        let mut tx = self.begin().await?;
        let sent = self
            .set_status_in(
                &mut tx,
                order,
                &[OrderStatus::Sending],
                OrderStatus::RejectedByBroker,
                Some(reason),
            )
            .await?;
        tx.commit().await.map_err(db)?;
        Ok(sent)
    }

    pub(super) async fn set_status_in(
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
    pub(super) fn qty_of(req: &OrderRequest, price: Decimal) -> Result<Decimal, BrokerError> {
        match (req.qty, req.notional) {
            (Some(q), _) => Ok(q),
            (None, Some(n)) if price > Decimal::ZERO => Ok((n / price).round_dp(9)),
            _ => Err(BrokerError::Invalid("the order has no quantity".into())),
        }
    }
}
