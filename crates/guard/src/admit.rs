//! Admission: the check and the reservation of an order's exposure in one `BEGIN IMMEDIATE`
//! transaction. SQLite lets one such transaction run at a time across every process on the
//! file, so the facts a check reads (reservations, positions, recent orders) cannot change
//! before its reservation is written: two sidecars can never both spend the last of a limit.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus};
use quantdesk_store::{Store, StoreError};
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::journal::{self, Change, OrderRecord, ts};
use crate::rules::{self, Facts, PricePoint, Refusal};
use crate::{GuardError, LIVE_TRADING_SETTING};

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

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Admission {
    /// Passed every limit; its exposure is reserved; send it.
    Accepted { order: OrderRecord, value: Decimal },
    /// Passed every limit, but the policy wants the person's approval; nothing is reserved
    /// until then (the check runs again at approval).
    PendingApproval { order: OrderRecord, value: Decimal },
    /// Refused by `refusal.rule`.
    Refused {
        client_order_id: String,
        refusal: Refusal,
    },
    /// An order with this client order id exists: a retry. Nothing new happened.
    Duplicate { order: OrderRecord },
}

/// The one place an order is allowed or refused.
#[derive(Debug, Clone)]
pub struct Guard {
    store: Store,
    /// How long a pending order waits for the person before it expires.
    pub approval_ttl: Duration,
}

impl Guard {
    pub fn new(store: Store) -> Self {
        Self {
            store,
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
        let admission = match rules::evaluate(request, &limits, &facts) {
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
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<Admission, GuardError> {
        let limits = crate::limits(&self.store).await?;
        let live_enabled = self.live_enabled().await?;
        let mut tx = self.begin().await?;
        let Some(order) = journal::get_in(&mut tx, client_order_id).await? else {
            return Err(GuardError::UnknownOrder(client_order_id.into()));
        };
        if order.broker != venue.broker || order.mode != venue.mode() {
            return Err(GuardError::WrongVenue {
                client_order_id: client_order_id.into(),
                order: format!("{} ({})", order.broker, order.mode),
                venue: format!("{} ({})", venue.broker, venue.mode()),
            });
        }
        if order.status != OrderStatus::PendingApproval {
            return Ok(Admission::Duplicate { order });
        }
        if order.approval_expires_at.is_some_and(|t| wall >= t) {
            journal::transition_in(
                &mut tx,
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
            let order = journal::get_in(&mut tx, client_order_id)
                .await?
                .ok_or_else(|| GuardError::UnknownOrder(client_order_id.into()))?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(Admission::Duplicate { order });
        }
        let facts = gather(
            &mut tx,
            venue,
            &order.request,
            market,
            live_enabled,
            wall,
            Some(client_order_id),
        )
        .await?;
        let admission = match rules::evaluate(&order.request, &limits, &facts) {
            Err(refusal) => {
                journal::transition_in(
                    &mut tx,
                    client_order_id,
                    &[OrderStatus::PendingApproval],
                    OrderStatus::RejectedByGuard,
                    &Change {
                        reason: Some(&refusal.message),
                        decided_by: Some(decided_by),
                        ..Change::default()
                    },
                    wall,
                )
                .await?;
                record_refusal(
                    &mut tx,
                    client_order_id,
                    venue,
                    &order.request,
                    &refusal,
                    wall,
                )
                .await?;
                Admission::Refused {
                    client_order_id: client_order_id.into(),
                    refusal,
                }
            }
            Ok(passed) => {
                journal::transition_in(
                    &mut tx,
                    client_order_id,
                    &[OrderStatus::PendingApproval],
                    OrderStatus::Accepted,
                    &Change {
                        decided_by: Some(decided_by),
                        ..Change::default()
                    },
                    wall,
                )
                .await?;
                journal::reserve_in(
                    &mut tx,
                    client_order_id,
                    order.request.symbol.as_str(),
                    passed.signed_qty,
                    passed.value,
                    wall,
                )
                .await?;
                let order = journal::get_in(&mut tx, client_order_id)
                    .await?
                    .ok_or_else(|| GuardError::UnknownOrder(client_order_id.into()))?;
                Admission::Accepted {
                    order,
                    value: passed.value,
                }
            }
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(admission)
    }

    /// The person rejected `client_order_id`. `false` if it was no longer pending.
    pub async fn reject(
        &self,
        client_order_id: &str,
        decided_by: &str,
        wall: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin().await?;
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
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT client_order_id FROM orders WHERE status = 'pending_approval' \
             AND approval_expires_at <= ?",
        )
        .bind(ts(wall))
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let mut expired = Vec::new();
        for (id,) in due {
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
        sqlx::query(
            "INSERT INTO trading_sessions (broker, mode, date, open_equity) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&venue.broker)
        .bind(venue.mode())
        .bind(session_date.to_string())
        .bind(baseline.to_string())
        .execute(self.store.pool())
        .await
        .map_err(StoreError::from)?;
        Ok(())
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
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT client_order_id, broker, mode, request, rule, message FROM order_refusals \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(StoreError::from)?;
        rows.into_iter()
            .map(|(client_order_id, broker, mode, request, rule, message)| {
                Ok(RefusalRecord {
                    client_order_id,
                    broker,
                    mode,
                    request: serde_json::from_str(&request)
                        .map_err(|e| GuardError::Corrupt(format!("refused request: {e}")))?,
                    rule,
                    message,
                })
            })
            .collect()
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

/// A refused order as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    pub client_order_id: String,
    pub broker: String,
    pub mode: String,
    pub request: OrderRequest,
    pub rule: String,
    pub message: String,
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

/// Reads, inside the transaction, what the rules need beyond the broker's facts.
async fn gather(
    conn: &mut SqliteConnection,
    venue: &Venue,
    request: &OrderRequest,
    market: &MarketFacts,
    live_enabled: bool,
    wall: DateTime<Utc>,
    except: Option<&str>,
) -> Result<Facts, GuardError> {
    let symbol = request.symbol.as_str();
    let position_qty = match market.position_qty {
        Some(q) => q,
        None => {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT qty FROM paper_positions WHERE symbol = ?")
                    .bind(symbol)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::from)?;
            row.map(|(q,)| journal::parse_dec(&q))
                .transpose()?
                .unwrap_or(Decimal::ZERO)
        }
    };
    let (reserved_buy_qty, reserved_sell_qty) = journal::reserved_in(conn, symbol, except).await?;
    let (orders_last_minute,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM orders WHERE created_at > ? AND status NOT IN \
         ('pending_approval', 'rejected_by_person', 'approval_expired', 'rejected_by_guard')",
    )
    .bind(ts(wall - Duration::seconds(60)))
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    sqlx::query(
        "INSERT INTO trading_sessions (broker, mode, date, open_equity) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&venue.broker)
    .bind(venue.mode())
    .bind(market.session_date.to_string())
    .bind(market.equity.to_string())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    let (open_equity,): (String,) = sqlx::query_as(
        "SELECT open_equity FROM trading_sessions WHERE broker = ? AND mode = ? AND date = ?",
    )
    .bind(&venue.broker)
    .bind(venue.mode())
    .bind(market.session_date.to_string())
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    Ok(Facts {
        live: venue.live,
        live_enabled,
        last: market.last,
        market_now: market.market_now,
        market_open: market.market_open,
        equity: market.equity,
        session_open_equity: journal::parse_dec(&open_equity)?,
        position_qty,
        reserved_buy_qty,
        reserved_sell_qty,
        orders_last_minute: u32::try_from(orders_last_minute).unwrap_or(u32::MAX),
    })
}

async fn record_refusal(
    conn: &mut SqliteConnection,
    id: &str,
    venue: &Venue,
    request: &OrderRequest,
    refusal: &Refusal,
    wall: DateTime<Utc>,
) -> Result<(), GuardError> {
    let request_json = serde_json::to_string(request)
        .map_err(|e| GuardError::Corrupt(format!("order request: {e}")))?;
    sqlx::query(
        "INSERT INTO order_refusals (client_order_id, broker, mode, symbol, request, rule, \
         message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&venue.broker)
    .bind(venue.mode())
    .bind(request.symbol.as_str())
    .bind(request_json)
    .bind(refusal.rule.as_str())
    .bind(&refusal.message)
    .bind(ts(wall))
    .execute(conn)
    .await
    .map_err(StoreError::from)?;
    Ok(())
}
