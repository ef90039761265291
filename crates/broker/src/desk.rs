//! The desk: an order's way from request to broker. Guard first (check + reservation in one
//! transaction), then — if the policy wants it — the person's approval, then exactly one send:
//! the journal row is claimed (`accepted` → `sending`) by compare-and-set before the broker is
//! called, so no two processes and no retry can send the same client order id. Every decision
//! and every change of an order is appended to the audit log.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use quantdesk_domain::{OrderRequest, OrderStatus, Symbol};
use quantdesk_guard::journal::{self, Change};
use quantdesk_guard::{Admission, Guard, MarketFacts, OrderRecord, RefusalRecord, Venue};
use quantdesk_store::{AuditRecord, AuditWrite, Store, StoreError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{AccountInfo, Broker, BrokerError, BrokerEvent, PositionInfo, Sent, retried};

/// A send claimed this long ago and still not recorded is taken over by reconciliation.
const STALE_SEND: Duration = Duration::seconds(60);

/// What became of a place request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub broker: String,
    pub mode: String,
    /// `sent`, `filled`, `pending_approval`, `refused`, `rejected_by_broker`, `duplicate`, …
    pub outcome: String,
    pub client_order_id: String,
    pub message: String,
    pub order: Option<OrderRecord>,
    /// The limit that refused the order.
    pub rule: Option<String>,
}

/// What a send came to, and what its answer must add when bookkeeping lagged behind.
#[derive(Debug)]
struct Submitted {
    order: OrderRecord,
    /// The broker took the order but the journal could not record it yet.
    unrecorded: Option<String>,
    /// The audit entry waits in the pending file (or could not be written at all).
    audit_pending: Option<String>,
}

impl Submitted {
    fn recorded(order: OrderRecord) -> Self {
        Self {
            order,
            unrecorded: None,
            audit_pending: None,
        }
    }
}

fn sent_outcome(sent: &Sent) -> &'static str {
    if sent.status == OrderStatus::Filled {
        "filled"
    } else {
        "sent"
    }
}

fn sent_detail(sent: &Sent) -> Value {
    json!({ "broker_status": sent.status, "broker_order_id": sent.broker_order_id,
            "filled_qty": sent.filled_qty, "price": sent.avg_fill_price, "reason": sent.reason })
}

/// `order` as the broker's answer describes it, for when the journal cannot say.
fn as_sent(order: &OrderRecord, sent: &Sent) -> OrderRecord {
    OrderRecord {
        status: sent.status,
        broker_order_id: sent.broker_order_id.clone(),
        filled_qty: sent.filled_qty,
        avg_fill_price: sent.avg_fill_price,
        reason: sent.reason.clone(),
        ..order.clone()
    }
}

/// Takes orders from request to broker; one per process.
#[derive(Debug, Clone)]
pub struct Desk {
    guard: Guard,
    broker: Arc<dyn Broker>,
    store: Store,
    actor: String,
    /// How old an unrecorded claim must be before reconciliation takes it over.
    stale_after: Duration,
}

fn db(e: sqlx::Error) -> BrokerError {
    BrokerError::Store(StoreError::from(e))
}

impl Desk {
    /// `actor` names this process in the audit log (`mcp:<pid>`, `xtask`).
    pub fn new(store: Store, broker: Arc<dyn Broker>, actor: impl Into<String>) -> Self {
        Self {
            guard: Guard::new(store.clone()),
            broker,
            store,
            actor: actor.into(),
            stale_after: STALE_SEND,
        }
    }

    /// Sets how long a claimed, unrecorded send is left to its process before reconciliation
    /// takes it over (tests that kill sidecars shorten it).
    pub fn with_stale_after(mut self, after: Duration) -> Self {
        self.stale_after = after;
        self
    }

    pub fn with_approval_ttl(mut self, ttl: Duration) -> Self {
        self.guard.approval_ttl = ttl;
        self
    }

    pub fn broker(&self) -> &dyn Broker {
        self.broker.as_ref()
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn mode(&self) -> &'static str {
        if self.broker.live() { "live" } else { "paper" }
    }

    fn venue(&self) -> Venue {
        Venue {
            broker: self.broker.name().into(),
            live: self.broker.live(),
        }
    }

    async fn audit(
        &self,
        kind: &str,
        outcome: &str,
        symbol: Option<&Symbol>,
        detail: Value,
    ) -> Result<(), BrokerError> {
        self.store
            .append_audit(&AuditRecord {
                actor: self.actor.clone(),
                kind: kind.into(),
                tool: None,
                symbol: symbol.map(|s| s.to_string()),
                args: json!({}),
                outcome: outcome.into(),
                detail,
            })
            .await?;
        Ok(())
    }

    async fn audit_order(
        &self,
        outcome: &str,
        order: &OrderRecord,
        extra: Value,
    ) -> Result<(), BrokerError> {
        self.store
            .append_audit(&self.order_record(outcome, order, extra))
            .await?;
        Ok(())
    }

    /// The audit entry of what a broker did with a sent order. The order has left the machine,
    /// so this never fails the send: the append is retried, then deferred to the store's
    /// pending file (written on the next start). `Some(note)` says, for the answer, that the
    /// entry waits.
    async fn audit_after_send(
        &self,
        outcome: &str,
        order: &OrderRecord,
        extra: Value,
    ) -> Option<String> {
        let record = self.order_record(outcome, order, extra);
        match self.store.append_audit_or_defer(&record).await {
            Ok(AuditWrite::Written(_)) => None,
            Ok(AuditWrite::Deferred(pending)) => Some(format!(
                "its audit entry is pending (the audit log could not be written: {}); QuantDesk \
                 writes it when it next starts",
                pending.error
            )),
            Err(err) => {
                let entry = serde_json::to_string(&record).unwrap_or_default();
                tracing::error!(%err, %entry, "an order's audit entry could not be written anywhere");
                Some(format!(
                    "its audit entry could not be written ({err}); it is in QuantDesk's log file"
                ))
            }
        }
    }

    fn order_record(&self, outcome: &str, order: &OrderRecord, extra: Value) -> AuditRecord {
        let mut detail = json!({
            "client_order_id": order.client_order_id,
            "broker": order.broker,
            "mode": order.mode,
            "request": order.request,
            "status": order.status,
        });
        if let (Value::Object(d), Value::Object(e)) = (&mut detail, extra) {
            d.extend(e);
        }
        AuditRecord {
            actor: self.actor.clone(),
            kind: "order".into(),
            tool: None,
            symbol: Some(order.request.symbol.to_string()),
            args: json!({}),
            outcome: outcome.into(),
            detail,
        }
    }

    /// What the guard needs from the broker, read just before the admission transaction.
    async fn facts(&self, symbol: &Symbol) -> Result<MarketFacts, BrokerError> {
        let clock = self.broker.clock().await?;
        let last = self.broker.last_price(symbol).await?;
        let account = self.broker.account().await?;
        let position_qty = if self.broker.positions_in_store() {
            None
        } else {
            Some(
                self.broker
                    .positions()
                    .await?
                    .iter()
                    .find(|p| &p.symbol == symbol)
                    .map_or(quantdesk_domain::Decimal::ZERO, |p| p.qty),
            )
        };
        Ok(MarketFacts {
            last,
            market_now: clock.now,
            market_open: clock.is_open,
            session_date: clock.session_date,
            equity: account.equity,
            position_qty,
        })
    }

    /// Fills and expiries at the broker, and approvals that ran out, brought into the journal
    /// and the audit log. Runs before every trading answer.
    pub async fn refresh(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let events = self.sync_broker().await?;
        self.mark_session().await?;
        for o in self.guard.expire_pending(Utc::now()).await? {
            self.audit_order("expired", &o, json!({ "reason": o.reason }))
                .await?;
        }
        Ok(events)
    }

    /// Records the session's baseline for the daily loss the first time a session is seen: the
    /// broker's previous-close equity where it reports one (Alpaca), else the last equity this
    /// desk saw in an earlier session (so the move from then to this session's open counts; the
    /// paper replay has no moves within a session), else the equity now.
    async fn mark_session(&self) -> Result<(), BrokerError> {
        let clock = self.broker.clock().await?;
        let account = self.broker.account().await?;
        let key = format!("desk.last_equity.{}.{}", self.broker.name(), self.mode());
        let last: Option<(chrono::NaiveDate, String)> = self.store.setting(&key).await?;
        let earlier = last
            .filter(|(date, _)| *date < clock.session_date)
            .and_then(|(_, equity)| equity.parse::<quantdesk_domain::Decimal>().ok());
        let baseline = account.last_equity.or(earlier).unwrap_or(account.equity);
        self.guard
            .note_session_open(&self.venue(), clock.session_date, baseline)
            .await?;
        self.store
            .set_setting(&key, &(clock.session_date, account.equity.to_string()))
            .await?;
        Ok(())
    }

    /// Fills and expiries at the broker, into the journal and the audit log.
    async fn sync_broker(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let events = self.broker.sync().await?;
        for e in &events {
            self.audit(
                "order",
                e.status.as_str(),
                Some(&e.symbol),
                json!({ "client_order_id": e.client_order_id, "broker": self.broker.name(),
                        "mode": self.mode(), "filled_qty": e.filled_qty, "price": e.price,
                        "reason": e.reason }),
            )
            .await?;
        }
        Ok(events)
    }

    /// Checks `request` and, if the guard accepts it and no approval is needed, sends it.
    pub async fn place(
        &self,
        request: &OrderRequest,
        client_order_id: Option<&str>,
    ) -> Result<Placed, BrokerError> {
        self.refresh().await?;
        let facts = self.facts(&request.symbol).await?;
        let admission = self
            .guard
            .admit(&self.venue(), request, client_order_id, &facts, Utc::now())
            .await?;
        self.after_admission(admission, "allowed").await
    }

    async fn after_admission(
        &self,
        admission: Admission,
        allowed: &str,
    ) -> Result<Placed, BrokerError> {
        let placed =
            |outcome: &str, id: &str, message: String, order: Option<OrderRecord>, rule| Placed {
                broker: self.broker.name().into(),
                mode: self.mode().into(),
                outcome: outcome.into(),
                client_order_id: id.into(),
                message,
                order,
                rule,
            };
        match admission {
            Admission::Refused {
                client_order_id,
                refusal,
            } => {
                self.audit(
                    "decision",
                    "refused",
                    None,
                    json!({ "client_order_id": client_order_id, "broker": self.broker.name(),
                            "mode": self.mode(), "rule": refusal.rule, "message": refusal.message }),
                )
                .await?;
                Ok(placed(
                    "refused",
                    &client_order_id,
                    format!("refused by QuantDesk's limits: {}", refusal.message),
                    None,
                    Some(refusal.rule.as_str().to_string()),
                ))
            }
            Admission::Duplicate { order } => {
                let id = order.client_order_id.clone();
                Ok(placed(
                    "duplicate",
                    &id,
                    format!(
                        "an order with client order id {id} exists already (status {}); nothing \
                         new was sent",
                        order.status
                    ),
                    Some(order),
                    None,
                ))
            }
            Admission::PendingApproval { order, value } => {
                self.audit_order(
                    "pending",
                    &order,
                    json!({ "value": value, "expires_at": order.approval_expires_at }),
                )
                .await?;
                let id = order.client_order_id.clone();
                Ok(placed(
                    "pending_approval",
                    &id,
                    format!("waiting for the person's approval in QuantDesk (order {id})"),
                    Some(order),
                    None,
                ))
            }
            Admission::Accepted { order, value } => {
                self.audit_order(allowed, &order, json!({ "value": value }))
                    .await?;
                let id = order.client_order_id.clone();
                let Submitted {
                    order,
                    unrecorded,
                    audit_pending,
                } = self.send_noting(&id).await?;
                let outcome = order.status.as_str().to_string();
                let mut message = match order.status {
                    OrderStatus::Filled => format!(
                        "filled {} {} at {}",
                        order.filled_qty.normalize(),
                        order.request.symbol,
                        order
                            .avg_fill_price
                            .map(|p| p.normalize().to_string())
                            .unwrap_or_default()
                    ),
                    OrderStatus::Open => "sent; resting at the broker".to_string(),
                    OrderStatus::Sending => {
                        "sent, but the broker's answer is not known yet; QuantDesk reconciles it"
                            .to_string()
                    }
                    s => format!("{s}: {}", order.reason.clone().unwrap_or_default()),
                };
                for note in [unrecorded, audit_pending].into_iter().flatten() {
                    message.push_str("; ");
                    message.push_str(&note);
                }
                Ok(placed(&outcome, &id, message, Some(order), None))
            }
        }
    }

    /// Sends an accepted order once: claims it, calls the broker, records what happened. An
    /// order someone else claimed is left to them.
    pub async fn send(&self, client_order_id: &str) -> Result<OrderRecord, BrokerError> {
        Ok(self.send_noting(client_order_id).await?.order)
    }

    /// [`Self::send`], with what the answer must add when the bookkeeping after the broker's
    /// answer did not go through.
    async fn send_noting(&self, client_order_id: &str) -> Result<Submitted, BrokerError> {
        self.owned_order(client_order_id).await?;
        if !self.claim(client_order_id, false).await? {
            return Ok(Submitted::recorded(self.order(client_order_id).await?));
        }
        self.submit_claimed(client_order_id).await
    }

    /// Sends a claimed order. Once the broker has answered, nothing here turns that answer into
    /// an error: the journal read and the audit append are retried, the audit entry is deferred
    /// if the store still fails, and the order is described from the broker's answer if the
    /// journal cannot be read or written (reconciliation records it on the next start).
    async fn submit_claimed(&self, client_order_id: &str) -> Result<Submitted, BrokerError> {
        let order = self.order(client_order_id).await?;
        match self.broker.submit(&order).await {
            Ok(sent) => {
                let after = match retried(|| self.order(client_order_id)).await {
                    Ok(after) => after,
                    Err(err) => {
                        tracing::error!(%err, client_order_id, "reading a sent order back failed");
                        as_sent(&order, &sent)
                    }
                };
                let audit_pending = self
                    .audit_after_send(sent_outcome(&sent), &after, sent_detail(&sent))
                    .await;
                Ok(Submitted {
                    order: after,
                    unrecorded: None,
                    audit_pending,
                })
            }
            Err(BrokerError::Unrecorded { sent, error, .. }) => {
                let after = as_sent(&order, &sent);
                let mut detail = sent_detail(&sent);
                detail["journal_pending"] = json!(error);
                let audit_pending = self
                    .audit_after_send(sent_outcome(&sent), &after, detail)
                    .await;
                Ok(Submitted {
                    order: after,
                    unrecorded: Some(format!(
                        "QuantDesk could not record it in its journal yet ({error}); it is \
                         reconciled with the broker when QuantDesk next starts"
                    )),
                    audit_pending,
                })
            }
            Err(BrokerError::Refused {
                message, status, ..
            }) => {
                retried(|| async {
                    self.guard
                        .transition(
                            client_order_id,
                            &[OrderStatus::Sending],
                            OrderStatus::RejectedByBroker,
                            &Change {
                                reason: Some(&message),
                                ..Change::default()
                            },
                            Utc::now(),
                        )
                        .await?;
                    Ok(())
                })
                .await?;
                let after = retried(|| self.order(client_order_id)).await?;
                let audit_pending = self
                    .audit_after_send(
                        "rejected_by_broker",
                        &after,
                        json!({ "http_status": status, "reason": message }),
                    )
                    .await;
                Ok(Submitted {
                    order: after,
                    unrecorded: None,
                    audit_pending,
                })
            }
            Err(e) => {
                // Unknown whether the broker got it: the row stays `sending` and is reconciled.
                self.audit_after_send("send_unknown", &order, json!({ "error": e.to_string() }))
                    .await;
                Err(e)
            }
        }
    }

    /// Claims an order for sending: `accepted` → `sending`, or (for reconciliation) a `sending`
    /// claim older than a minute. Compare-and-set: `true` for exactly one claimer.
    async fn claim(&self, client_order_id: &str, stale_too: bool) -> Result<bool, BrokerError> {
        let now = Utc::now();
        let stale_before = now - self.stale_after;
        let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut tx = self
            .store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'sending', sending_by = ?, sending_at = ?, updated_at = ? \
             WHERE client_order_id = ? AND (status = 'accepted' \
             OR (? AND status = 'sending' AND sending_at < ?))",
        )
        .bind(&self.actor)
        .bind(ts(now))
        .bind(ts(now))
        .bind(client_order_id)
        .bind(stale_too)
        .bind(ts(stale_before))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(db)?;
        Ok(done)
    }

    /// On start: orders left `accepted` or `sending` by a process that died are looked up at the
    /// broker by client order id and recorded if it has them, sent if it does not. Nothing is
    /// sent that the broker already has.
    pub async fn reconcile(&self) -> Result<Vec<OrderRecord>, BrokerError> {
        let cutoff = Utc::now() - self.stale_after;
        let mut done = Vec::new();
        let stuck = self
            .guard
            .orders(&[OrderStatus::Accepted, OrderStatus::Sending], 1000)
            .await?;
        for order in stuck {
            if order.broker != self.broker.name() || order.updated_at > cutoff {
                continue;
            }
            if !self.claim(&order.client_order_id, true).await? {
                continue;
            }
            let claimed = self.order(&order.client_order_id).await?;
            match self.broker.lookup(&claimed).await? {
                Some(sent) => {
                    self.record_lookup(&claimed, &sent).await?;
                    let after = self.order(&order.client_order_id).await?;
                    self.audit_order("reconciled", &after, json!({ "found_at_broker": true }))
                        .await?;
                    done.push(after);
                }
                None => {
                    let after = self.submit_claimed(&order.client_order_id).await?.order;
                    self.audit_order("reconciled", &after, json!({ "found_at_broker": false }))
                        .await?;
                    done.push(after);
                }
            }
        }
        Ok(done)
    }

    async fn record_lookup(&self, order: &OrderRecord, sent: &Sent) -> Result<(), BrokerError> {
        self.guard
            .transition(
                &order.client_order_id,
                &[OrderStatus::Sending],
                sent.status,
                &Change {
                    broker_order_id: sent.broker_order_id.as_deref(),
                    filled_qty: Some(sent.filled_qty),
                    avg_fill_price: sent.avg_fill_price,
                    reason: sent.reason.as_deref(),
                    ..Change::default()
                },
                Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// The person approved `client_order_id` (from the desktop app, or `cargo xtask approve`):
    /// the guard checks it again now, and if it still passes it is sent.
    pub async fn approve(&self, client_order_id: &str, by: &str) -> Result<Placed, BrokerError> {
        // Not `refresh`: its expiry sweep would record this order's expiry before the approval
        // that came too late.
        self.sync_broker().await?;
        let order = self.owned_order(client_order_id).await?;
        self.audit_order("approved", &order, json!({ "by": by }))
            .await?;
        let facts = self.facts(&order.request.symbol).await?;
        let admission = self
            .guard
            .admit_approved(&self.venue(), client_order_id, by, &facts, Utc::now())
            .await?;
        if let Admission::Duplicate { order: after } = &admission
            && after.status == OrderStatus::ApprovalExpired
            && order.status == OrderStatus::PendingApproval
        {
            let order = after;
            self.audit_order("expired", order, json!({ "reason": order.reason }))
                .await?;
        }
        self.after_admission(admission, "allowed_after_approval")
            .await
    }

    /// The person rejected `client_order_id`. `false` if it was not pending any more.
    pub async fn reject(&self, client_order_id: &str, by: &str) -> Result<bool, BrokerError> {
        let done = self.guard.reject(client_order_id, by, Utc::now()).await?;
        if done {
            let order = self.order(client_order_id).await?;
            self.audit_order("rejected", &order, json!({ "by": by }))
                .await?;
        }
        Ok(done)
    }

    /// Cancels an open order (at the broker) or a pending one (it is never sent).
    pub async fn cancel(&self, client_order_id: &str) -> Result<OrderRecord, BrokerError> {
        self.refresh().await?;
        let order = self.owned_order(client_order_id).await?;
        match order.status {
            OrderStatus::PendingApproval => {
                self.guard
                    .transition(
                        client_order_id,
                        &[OrderStatus::PendingApproval],
                        OrderStatus::Canceled,
                        &Change {
                            reason: Some("cancelled before approval"),
                            ..Change::default()
                        },
                        Utc::now(),
                    )
                    .await?;
            }
            OrderStatus::Open | OrderStatus::PartiallyFilled | OrderStatus::Accepted => {
                self.broker.cancel(&order).await?;
            }
            s => {
                return Err(BrokerError::Invalid(format!(
                    "order {client_order_id} is {s}; only open or pending orders can be cancelled"
                )));
            }
        }
        let after = self.order(client_order_id).await?;
        self.audit_order("canceled", &after, json!({})).await?;
        Ok(after)
    }

    /// The kill switch's second half: cancels every open and pending order.
    pub async fn cancel_all(&self) -> Result<Vec<OrderRecord>, BrokerError> {
        let open = self
            .guard
            .orders(
                &[
                    OrderStatus::Open,
                    OrderStatus::PartiallyFilled,
                    OrderStatus::PendingApproval,
                ],
                10_000,
            )
            .await?;
        let mut out = Vec::new();
        for o in open.into_iter().filter(|o| o.broker == self.broker.name()) {
            out.push(self.cancel(&o.client_order_id).await?);
        }
        Ok(out)
    }

    /// The order, if it belongs to this desk's broker and mode: a paper desk must never send,
    /// fill or cancel an order meant for Alpaca (or live money), and the other way round.
    async fn owned_order(&self, client_order_id: &str) -> Result<OrderRecord, BrokerError> {
        let order = self.order(client_order_id).await?;
        if order.broker != self.broker.name() || order.mode != self.mode() {
            return Err(BrokerError::Invalid(format!(
                "order {client_order_id} is for {} ({}); this QuantDesk process trades {} ({}) \
                 — decide it where that broker is connected",
                order.broker,
                order.mode,
                self.broker.name(),
                self.mode()
            )));
        }
        Ok(order)
    }

    pub async fn order(&self, client_order_id: &str) -> Result<OrderRecord, BrokerError> {
        let mut conn = self.store.pool().acquire().await.map_err(db)?;
        journal::get_in(&mut conn, client_order_id)
            .await?
            .ok_or_else(|| BrokerError::UnknownOrder(client_order_id.into()))
    }

    pub async fn orders(
        &self,
        statuses: &[OrderStatus],
        limit: i64,
    ) -> Result<Vec<OrderRecord>, BrokerError> {
        Ok(self.guard.orders(statuses, limit).await?)
    }

    pub async fn refusals(&self, limit: i64) -> Result<Vec<RefusalRecord>, BrokerError> {
        Ok(self.guard.refusals(limit).await?)
    }

    pub async fn account(&self) -> Result<AccountInfo, BrokerError> {
        self.refresh().await?;
        self.broker.account().await
    }

    pub async fn positions(&self) -> Result<Vec<PositionInfo>, BrokerError> {
        self.refresh().await?;
        self.broker.positions().await
    }
}
