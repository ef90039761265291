//! The replay clock: where it stands, moving it, and the price of a symbol at a moment.

use super::*;

impl PaperBroker {
    /// The replay clock's time (creating it at [`REPLAY_START`] on first use).
    pub(super) async fn replay_now(&self) -> Result<DateTime<Utc>, BrokerError> {
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

    pub(super) async fn calendar(
        &self,
        start: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Bar>, BrokerError> {
        let symbol = Symbol::parse(CALENDAR).map_err(|e| BrokerError::Invalid(e.to_string()))?;
        let mut req = BarsRequest::new(symbol, Timeframe::DAY);
        req.start = Some(start);
        req.limit = Some(limit);
        Ok(self.market.bars(&req).await?.bars)
    }

    pub(super) async fn trading_day_at_or_after(
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

    pub(super) async fn set_clock_exact(&self, t: DateTime<Utc>) -> Result<(), BrokerError> {
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
    pub(super) async fn price_at(
        &self,
        symbol: &Symbol,
        now: DateTime<Utc>,
    ) -> Result<Option<PricePoint>, BrokerError> {
        if self.is_live_priced(symbol) {
            return Ok(self.live_snapshot(symbol).await?.map(|s| PricePoint {
                price: s.price,
                at: s.provenance.as_of,
            }));
        }
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

    pub(super) async fn base_timeframe(
        &self,
        symbol: &Symbol,
    ) -> Result<Option<Timeframe>, BrokerError> {
        Ok(self
            .market
            .symbols()
            .await?
            .into_iter()
            .find(|s| &s.symbol == symbol)
            .map(|s| s.base_timeframe))
    }
}
