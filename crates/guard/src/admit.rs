//! Admission: the check and the reservation of an order's exposure in one `BEGIN IMMEDIATE`
//! transaction. SQLite lets one such transaction run at a time across every process on the
//! file, so the facts a check reads (reservations, positions, recent orders) cannot change
//! before its reservation is written: two sidecars can never both spend the last of a limit.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus};
use quantdesk_store::{Store, StoreError};
use serde::Serialize;

use crate::journal::{self, Change, OrderRecord, RefusalRecord};
use crate::rules::{self, PricePoint, Refusal};
use crate::seal::SealCheck;
use crate::{GuardError, LIVE_TRADING_SETTING};

mod gather;
mod late;
mod review;
mod sealed;
use gather::{gather, record_refusal};

/// Which account an order is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Venue {
    /// `paper`, `alpaca`, …
    pub broker: String,
    pub live: bool,
}

impl Venue {
    pub fn mode(&self) -> &'static str {
        if self.live { "live" } else { "paper" }
    }
}

/// What the broker knows at the moment of the check, gathered just before the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketFacts {
    pub last: Option<PricePoint>,
    pub market_now: DateTime<Utc>,
    pub market_open: bool,
    /// The trading day (`day` orders expire with it; the daily loss is measured within it).
    pub session_date: NaiveDate,
    pub equity: Decimal,
    /// The symbol's position from the broker; `None` for the built-in paper broker, whose
    /// positions are in this store and are read inside the transaction.
    pub position_qty: Option<Decimal>,
}

/// Proof that the guard itself made a decision: only this crate can create one, so an
/// `Accepted` or `PendingApproval` admission cannot be forged by the code that acts on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sealed(());

/// The guard's answer: a typed decision only the guard can construct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Admission {
    /// Passed every limit; its exposure is reserved; send it.
    Accepted {
        order: OrderRecord,
        value: Decimal,
        #[serde(skip)]
        by_guard: Sealed,
    },
    /// Passed every limit, but the policy wants the person's approval; nothing is reserved
    /// until then (the check runs again at approval).
    PendingApproval {
        order: OrderRecord,
        value: Decimal,
        #[serde(skip)]
        by_guard: Sealed,
    },
    /// Refused by `refusal.rule`, with the guard's explanation.
    Refused {
        client_order_id: String,
        refusal: Refusal,
    },
    /// Not an order at all (the request's own mistake, e.g. a limit order without a price);
    /// nothing is recorded.
    Invalid { why: String },
    /// An order with this client order id exists: a retry. Nothing new happened.
    Duplicate { order: OrderRecord },
}

/// The one place an order is allowed or refused.
#[derive(Debug, Clone)]
pub struct Guard {
    store: Store,
    /// The app's public seal key, when the keychain has one (see [`crate::seal`]).
    seal: Option<SealCheck>,
    /// How long a pending order waits for the person before it expires.
    pub approval_ttl: Duration,
}

impl Guard {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            seal: None,
            approval_ttl: Duration::minutes(15),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The client order id for `request`: the caller's, or one derived from the request, and
    /// any earlier id a retry of it may have been recorded under.
    pub fn client_order_ids(
        request: &OrderRequest,
        given: Option<&str>,
        wall: DateTime<Utc>,
    ) -> (String, Option<String>) {
        match given {
            Some(id) => (id.to_string(), None),
            None => {
                let w = journal::retry_window(wall);
                (
                    journal::derived_client_order_id(request, w),
                    Some(journal::derived_client_order_id(request, w - 1)),
                )
            }
        }
    }

    /// Checks `request` and, if it passes, records it (accepted with its exposure reserved, or
    /// pending approval) — all in one immediate transaction. A refusal is recorded too.
    pub async fn admit(
        &self,
        venue: &Venue,
        request: &OrderRequest,
        client_order_id: Option<&str>,
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<Admission, GuardError> {
        let (id, earlier) = Self::client_order_ids(request, client_order_id, wall);
        validate_id(&id)?;
        let seal = self.seal_refusal().await?;
        let limits = crate::limits(&self.store).await?;
        let policy = crate::approval_policy(&self.store).await?;
        let live_enabled = self.live_enabled().await?;
        let mut tx = self.begin().await?;
        for existing in std::iter::once(&id).chain(earlier.as_ref()) {
            if let Some(order) = journal::get_in(&mut tx, existing).await? {
                return Ok(Admission::Duplicate { order });
            }
        }
        let facts = gather(&mut tx, venue, request, market, live_enabled, wall, None).await?;
        let verdict = match (rules::evaluate(request, &limits, &facts), seal) {
            (Err(invalid), _) if invalid.rule == rules::Rule::InvalidOrder => Err(invalid),
            (_, Some(broken)) => Err(broken),
            (verdict, None) => verdict,
        };
        let admission = match verdict {
            Err(refusal) if refusal.rule == rules::Rule::InvalidOrder => {
                return Ok(Admission::Invalid {
                    why: refusal.message,
                });
            }
            Err(refusal) => {
                record_refusal(&mut tx, &id, venue, request, &refusal, wall).await?;
                Admission::Refused {
                    client_order_id: id,
                    refusal,
                }
            }
            Ok(passed) => {
                let pending = policy.requires(venue.live, passed.value);
                let order = OrderRecord {
                    client_order_id: id.clone(),
                    broker: venue.broker.clone(),
                    mode: venue.mode().into(),
                    broker_order_id: None,
                    request: request.clone(),
                    status: if pending {
                        OrderStatus::PendingApproval
                    } else {
                        OrderStatus::Accepted
                    },
                    reason: None,
                    filled_qty: Decimal::ZERO,
                    avg_fill_price: None,
                    created_at: wall,
                    updated_at: wall,
                    session_date: market.session_date,
                    approval_expires_at: pending.then(|| wall + self.approval_ttl),
                    decided_by: None,
                    decided_at: None,
                };
                journal::insert(&mut tx, &order).await?;
                if pending {
                    Admission::PendingApproval {
                        order,
                        value: passed.value,
                        by_guard: Sealed(()),
                    }
                } else {
                    journal::reserve_in(
                        &mut tx,
                        &id,
                        request.symbol.as_str(),
                        passed.signed_qty,
                        passed.value,
                        wall,
                    )
                    .await?;
                    Admission::Accepted {
                        order,
                        value: passed.value,
                        by_guard: Sealed(()),
                    }
                }
            }
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(admission)
    }

    /// The person approved `client_order_id`: check it again against the limits and prices of
    /// this moment, and accept it (reserving its exposure) or refuse it. An order whose approval
    /// window has passed expires instead; one already decided is returned as it is.
    pub async fn admit_approved(
        &self,
        venue: &Venue,
        client_order_id: &str,
        decided_by: &str,
        signature: Option<&str>,
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<Admission, GuardError> {
        let mut review = self.review(client_order_id).await?;
        let order = review.order.clone();
        if order.broker != venue.broker || order.mode != venue.mode() {
            return Err(GuardError::WrongVenue {
                client_order_id: client_order_id.into(),
                order: format!("{} ({})", order.broker, order.mode),
                venue: format!("{} ({})", venue.broker, venue.mode()),
            });
        }
        self.check_decision(&order, true, signature)?;
        if order.status != OrderStatus::PendingApproval {
            return Ok(Admission::Duplicate { order });
        }
        if journal::approval_expired(order.approval_expires_at, wall) {
            journal::transition_in(
                &mut review.tx,
                client_order_id,
                &[OrderStatus::PendingApproval],
                OrderStatus::ApprovalExpired,
                &Change {
                    reason: Some("the approval came after the order had expired"),
                    ..Change::default()
                },
                wall,
            )
            .await?;
            let order = journal::get_in(&mut review.tx, client_order_id)
                .await?
                .ok_or_else(|| GuardError::UnknownOrder(client_order_id.into()))?;
            review.tx.commit().await.map_err(StoreError::from)?;
            return Ok(Admission::Duplicate { order });
        }
        let facts = review.facts(venue, market, wall).await?;
        let admission = match review.verdict(&facts) {
            Err(refusal) => {
                let (from, by) = (OrderStatus::PendingApproval, Some(decided_by));
                let reason = refusal.message.clone();
                review
                    .refuse(venue, from, &refusal, &reason, by, wall)
                    .await?;
                Admission::Refused {
                    client_order_id: client_order_id.into(),
                    refusal,
                }
            }
            Ok(passed) => {
                let tx = &mut review.tx;
                journal::transition_in(
                    tx,
                    client_order_id,
                    &[OrderStatus::PendingApproval],
                    OrderStatus::Accepted,
                    &Change {
                        decided_by: Some(decided_by),
                        decision_signature: signature,
                        ..Change::default()
                    },
                    wall,
                )
                .await?;
                journal::reserve_in(
                    tx,
                    client_order_id,
                    order.request.symbol.as_str(),
                    passed.signed_qty,
                    passed.value,
                    wall,
                )
                .await?;
                let order = journal::get_in(tx, client_order_id)
                    .await?
                    .ok_or_else(|| GuardError::UnknownOrder(client_order_id.into()))?;
                Admission::Accepted {
                    order,
                    value: passed.value,
                    by_guard: Sealed(()),
                }
            }
        };
        review.tx.commit().await.map_err(StoreError::from)?;
        Ok(admission)
    }

    /// The person rejected `client_order_id`. `false` if it was no longer pending.
    pub async fn reject(
        &self,
        client_order_id: &str,
        decided_by: &str,
        signature: Option<&str>,
        wall: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin().await?;
        let Some(order) = journal::get_in(&mut tx, client_order_id).await? else {
            return Err(GuardError::UnknownOrder(client_order_id.into()));
        };
        self.check_decision(&order, false, signature)?;
        let done = journal::transition_in(
            &mut tx,
            client_order_id,
            &[OrderStatus::PendingApproval],
            OrderStatus::RejectedByPerson,
            &Change {
                reason: Some("rejected by the person in QuantDesk"),
                decided_by: Some(decided_by),
                ..Change::default()
            },
            wall,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    /// Expires every pending order whose approval window has passed; returns them. Expired
    /// orders are final and are never sent.
    pub async fn expire_pending(
        &self,
        wall: DateTime<Utc>,
    ) -> Result<Vec<OrderRecord>, GuardError> {
        let mut tx = self.begin().await?;
        let due = journal::approvals_due_in(&mut tx, wall).await?;
        let mut expired = Vec::new();
        for id in due {
            if journal::transition_in(
                &mut tx,
                &id,
                &[OrderStatus::PendingApproval],
                OrderStatus::ApprovalExpired,
                &Change {
                    reason: Some("no decision from the person before the approval window closed"),
                    ..Change::default()
                },
                wall,
            )
            .await?
                && let Some(o) = journal::get_in(&mut tx, &id).await?
            {
                expired.push(o);
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(expired)
    }

    /// Records the equity today's loss is measured from, once per session (the first writer
    /// wins; admission falls back to the equity at its own check if nothing was recorded).
    pub async fn note_session_open(
        &self,
        venue: &Venue,
        session_date: NaiveDate,
        baseline: Decimal,
    ) -> Result<(), GuardError> {
        let mut conn = self.conn().await?;
        journal::note_session_in(
            &mut conn,
            &venue.broker,
            venue.mode(),
            session_date,
            baseline,
        )
        .await
    }

    /// The equity the daily loss is measured from in this session, once the session was noted.
    pub async fn session_open_equity(
        &self,
        venue: &Venue,
        session_date: NaiveDate,
    ) -> Result<Option<Decimal>, GuardError> {
        let mut conn = self.conn().await?;
        journal::session_open_equity_in(&mut conn, &venue.broker, venue.mode(), session_date).await
    }

    /// Orders waiting for the person whose approval has not run out at `now`, oldest first.
    pub async fn awaiting_approval(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderRecord>, GuardError> {
        let mut orders = self.orders(&[OrderStatus::PendingApproval], 200).await?;
        orders.retain(|o| !journal::approval_expired(o.approval_expires_at, now));
        orders.sort_by_key(|o| o.created_at);
        Ok(orders)
    }

    /// Claims an admitted order for sending (see [`journal::claim_in`]).
    pub async fn claim(
        &self,
        client_order_id: &str,
        actor: &str,
        now: DateTime<Utc>,
        stale_before: Option<DateTime<Utc>>,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin().await?;
        let done = journal::claim_in(&mut tx, client_order_id, actor, now, stale_before).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, GuardError> {
        Ok(self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?)
    }

    /// Moves an order between statuses (compare-and-set); see [`journal::transition_in`].
    pub async fn transition(
        &self,
        client_order_id: &str,
        from: &[OrderStatus],
        to: OrderStatus,
        change: &Change<'_>,
        wall: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin().await?;
        let done = journal::transition_in(&mut tx, client_order_id, from, to, change, wall).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    pub async fn order(&self, client_order_id: &str) -> Result<Option<OrderRecord>, GuardError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        journal::get_in(&mut conn, client_order_id).await
    }

    pub async fn orders(
        &self,
        statuses: &[OrderStatus],
        limit: i64,
    ) -> Result<Vec<OrderRecord>, GuardError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        journal::list_in(&mut conn, statuses, limit).await
    }

    /// The latest refusals, newest first.
    pub async fn refusals(&self, limit: i64) -> Result<Vec<RefusalRecord>, GuardError> {
        let mut conn = self.conn().await?;
        journal::refusals_in(&mut conn, limit).await
    }

    /// Dollars reserved by every open order now.
    pub async fn reserved_notional(&self) -> Result<Decimal, GuardError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        journal::reserved_notional_in(&mut conn).await
    }

    async fn live_enabled(&self) -> Result<bool, GuardError> {
        Ok(self
            .store
            .setting::<bool>(LIVE_TRADING_SETTING)
            .await?
            .unwrap_or(false))
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, GuardError> {
        Ok(self
            .store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?)
    }
}

fn validate_id(id: &str) -> Result<(), GuardError> {
    let ok = !id.is_empty()
        && id.len() <= 48
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(GuardError::BadClientOrderId(id.into()))
    }
}
