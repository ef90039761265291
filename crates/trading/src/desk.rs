//! The desk: an order's way from request to broker, top to bottom. The guard first (the only
//! code that evaluates a limit: check + reservation in one transaction, a typed decision only
//! it can construct), then — if the policy wants it — the person's approval, then exactly one
//! send (see `send`). Every decision and every change of an order is appended to the audit log.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use quantdesk_broker::{AccountInfo, Broker, BrokerEvent, PositionInfo};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus};
use quantdesk_guard::{Admission, Change, Explanation, Guard, OrderRecord, RefusalRecord, Venue};
use quantdesk_store::Store;
use serde_json::json;

use crate::TradingError;
use crate::outcome::{OrderOutcome, Placed, sent_message};
use crate::send::Submitted;

/// A send claimed this long ago and still not recorded is taken over by reconciliation.
const STALE_SEND: Duration = Duration::seconds(60);

/// Takes orders from request to broker; one per process.
#[derive(Debug, Clone)]
pub struct Desk {
    pub(crate) guard: Guard,
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) store: Store,
    pub(crate) actor: String,
    /// How old an unrecorded claim must be before reconciliation takes it over.
    pub(crate) stale_after: Duration,
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

    /// Checks the sealed settings with the app's public key before every admission (see
    /// `quantdesk_guard::seal`).
    pub fn with_seal(mut self, check: Option<quantdesk_guard::seal::SealCheck>) -> Self {
        self.guard = self.guard.with_seal(check);
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

    pub(crate) fn venue(&self) -> Venue {
        Venue {
            broker: self.broker.name().into(),
            live: self.broker.live(),
        }
    }

    /// Fills and expiries at the broker, and approvals that ran out, brought into the journal
    /// and the audit log. Runs before every trading answer.
    pub async fn refresh(&self) -> Result<Vec<BrokerEvent>, TradingError> {
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
    async fn mark_session(&self) -> Result<(), TradingError> {
        let clock = self.broker.clock().await?;
        let account = self.broker.account().await?;
        let key = format!("desk.last_equity.{}.{}", self.broker.name(), self.mode());
        let last: Option<(NaiveDate, String)> = self.store.setting(&key).await?;
        let earlier = last
            .filter(|(date, _)| *date < clock.session_date)
            .and_then(|(_, equity)| equity.parse::<Decimal>().ok());
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
    async fn sync_broker(&self) -> Result<Vec<BrokerEvent>, TradingError> {
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

    /// Checks `request` (its validity and every limit, once, in the guard) and, if the guard
    /// accepts it and no approval is needed, sends it. An invalid request is an error and
    /// leaves no trace; a refusal is an answer.
    pub async fn place(
        &self,
        request: &OrderRequest,
        client_order_id: Option<&str>,
    ) -> Result<Placed, TradingError> {
        self.refresh().await?;
        let facts = self.facts(&request.symbol).await?;
        let admission = self
            .guard
            .admit(&self.venue(), request, client_order_id, &facts, Utc::now())
            .await?;
        self.after_admission(admission, "allowed").await
    }

    fn placed(
        &self,
        outcome: OrderOutcome,
        id: &str,
        message: String,
        order: Option<OrderRecord>,
        rule: Option<String>,
        value: Option<Decimal>,
    ) -> Placed {
        let pricing = order
            .as_ref()
            .and_then(|o| self.broker.pricing(&o.request.symbol))
            .map(str::to_string);
        Placed {
            broker: self.broker.name().into(),
            mode: self.mode().into(),
            outcome,
            client_order_id: id.into(),
            message,
            order,
            rule,
            value,
            pricing,
        }
    }

    async fn after_admission(
        &self,
        admission: Admission,
        allowed: &str,
    ) -> Result<Placed, TradingError> {
        match admission {
            Admission::Invalid { why } => Err(TradingError::Invalid(why)),
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
                Ok(self.placed(
                    OrderOutcome::Refused,
                    &client_order_id,
                    format!("refused by QuantDesk's limits: {}", refusal.message),
                    None,
                    Some(refusal.rule.as_str().to_string()),
                    None,
                ))
            }
            Admission::Duplicate { order } => {
                let id = order.client_order_id.clone();
                let message = format!(
                    "an order with client order id {id} exists already (status {}); nothing new \
                     was sent",
                    order.status
                );
                Ok(self.placed(
                    OrderOutcome::Duplicate,
                    &id,
                    message,
                    Some(order),
                    None,
                    None,
                ))
            }
            Admission::PendingApproval { order, value, .. } => {
                let extra = json!({ "value": value, "expires_at": order.approval_expires_at });
                self.audit_order("pending", &order, extra).await?;
                let id = order.client_order_id.clone();
                let message =
                    format!("waiting for the person's approval in QuantDesk (order {id})");
                Ok(self.placed(
                    OrderOutcome::of(&order),
                    &id,
                    message,
                    Some(order),
                    None,
                    Some(value),
                ))
            }
            Admission::Accepted { order, value, .. } => {
                self.audit_order(allowed, &order, json!({ "value": value }))
                    .await?;
                let id = order.client_order_id.clone();
                let Submitted {
                    order,
                    unrecorded,
                    audit_pending,
                } = self.send_noting(&id).await?;
                let mut message = sent_message(&order);
                for note in [unrecorded, audit_pending].into_iter().flatten() {
                    message.push_str("; ");
                    message.push_str(&note);
                }
                Ok(self.placed(
                    OrderOutcome::of(&order),
                    &id,
                    message,
                    Some(order),
                    None,
                    Some(value),
                ))
            }
        }
    }

    /// What the guard would decide for a pending order if it were approved now: the guard's
    /// own explanation, which the approval window shows.
    pub async fn explain(
        &self,
        client_order_id: &str,
    ) -> Result<(OrderRecord, Explanation), TradingError> {
        let order = self.order(client_order_id).await?;
        let facts = self.facts(&order.request.symbol).await?;
        Ok(self
            .guard
            .explain_pending(&self.venue(), client_order_id, &facts, Utc::now())
            .await?)
    }

    /// Orders waiting for the person whose approval has not run out, oldest first.
    pub async fn awaiting_approval(&self) -> Result<Vec<OrderRecord>, TradingError> {
        Ok(self.guard.awaiting_approval(Utc::now()).await?)
    }

    /// The equity this session's daily loss is measured from (`None` before the session's
    /// first check).
    pub async fn session_open_equity(&self) -> Result<Option<Decimal>, TradingError> {
        let clock = self.broker.clock().await?;
        Ok(self
            .guard
            .session_open_equity(&self.venue(), clock.session_date)
            .await?)
    }

    /// The person approved `client_order_id` (from the desktop app, or `cargo xtask approve`
    /// in a debug build): the guard checks it again now, and if it still passes it is sent.
    pub async fn approve(
        &self,
        client_order_id: &str,
        by: &str,
        signature: Option<&str>,
    ) -> Result<Placed, TradingError> {
        // Not `refresh`: its expiry sweep would record this order's expiry before the approval
        // that came too late.
        self.sync_broker().await?;
        let order = self.owned_order(client_order_id).await?;
        self.signed_decision(&order, true, by, signature).await?;
        self.audit_order("approved", &order, json!({ "by": by }))
            .await?;
        let facts = self.facts(&order.request.symbol).await?;
        let admission = self
            .guard
            .admit_approved(
                &self.venue(),
                client_order_id,
                by,
                signature,
                &facts,
                Utc::now(),
            )
            .await?;
        if let Admission::Duplicate { order: after } = &admission
            && after.status == OrderStatus::ApprovalExpired
            && order.status == OrderStatus::PendingApproval
        {
            self.audit_order("expired", after, json!({ "reason": after.reason }))
                .await?;
        }
        self.after_admission(admission, "allowed_after_approval")
            .await
    }

    /// The person rejected `client_order_id`. `false` if it was not pending any more.
    pub async fn reject(
        &self,
        client_order_id: &str,
        by: &str,
        signature: Option<&str>,
    ) -> Result<bool, TradingError> {
        let order = self.order(client_order_id).await?;
        self.signed_decision(&order, false, by, signature).await?;
        let done = self
            .guard
            .reject(client_order_id, by, signature, Utc::now())
            .await?;
        if done {
            let order = self.order(client_order_id).await?;
            self.audit_order("rejected", &order, json!({ "by": by }))
                .await?;
        }
        Ok(done)
    }

    /// Cancels an open order (at the broker) or a pending one (it is never sent).
    pub async fn cancel(&self, client_order_id: &str) -> Result<OrderRecord, TradingError> {
        self.refresh().await?;
        let order = self.owned_order(client_order_id).await?;
        match order.status {
            OrderStatus::PendingApproval => {
                let change = Change {
                    reason: Some("cancelled before approval"),
                    ..Change::default()
                };
                let from = [OrderStatus::PendingApproval];
                self.guard
                    .transition(
                        client_order_id,
                        &from,
                        OrderStatus::Canceled,
                        &change,
                        Utc::now(),
                    )
                    .await?;
            }
            s if OrderStatus::CANCELLABLE_AT_BROKER.contains(&s) => {
                self.broker.cancel(&order).await?;
            }
            s => {
                return Err(TradingError::Invalid(format!(
                    "order {client_order_id} is {s}; only open or pending orders can be cancelled"
                )));
            }
        }
        let after = self.order(client_order_id).await?;
        self.audit_order("canceled", &after, json!({})).await?;
        Ok(after)
    }

    /// The kill switch's second half: cancels every open and pending order.
    pub async fn cancel_all(&self) -> Result<Vec<OrderRecord>, TradingError> {
        let open = self.guard.orders(&OrderStatus::KILLABLE, 10_000).await?;
        let mut out = Vec::new();
        for o in open.into_iter().filter(|o| o.broker == self.broker.name()) {
            out.push(self.cancel(&o.client_order_id).await?);
        }
        Ok(out)
    }

    /// The order, if it belongs to this desk's broker and mode: a paper desk must never send,
    /// fill or cancel an order meant for Alpaca (or live money), and the other way round.
    /// A decision the app did not sign is refused, and the refusal is audited: the order stays
    /// pending for the person's real answer.
    async fn signed_decision(
        &self,
        order: &OrderRecord,
        approve: bool,
        by: &str,
        signature: Option<&str>,
    ) -> Result<(), TradingError> {
        let Err(refused) = self.guard.check_decision(order, approve, signature) else {
            return Ok(());
        };
        let extra = json!({ "by": by, "approve": approve, "why": refused.to_string() });
        self.audit_order("decision_refused", order, extra).await?;
        Err(refused.into())
    }

    pub(crate) async fn owned_order(
        &self,
        client_order_id: &str,
    ) -> Result<OrderRecord, TradingError> {
        let order = self.order(client_order_id).await?;
        if order.broker != self.broker.name() || order.mode != self.mode() {
            return Err(TradingError::WrongVenue {
                client_order_id: client_order_id.into(),
                order: format!("{} ({})", order.broker, order.mode),
                desk: format!("{} ({})", self.broker.name(), self.mode()),
            });
        }
        Ok(order)
    }

    pub async fn order(&self, client_order_id: &str) -> Result<OrderRecord, TradingError> {
        self.guard
            .order(client_order_id)
            .await?
            .ok_or_else(|| TradingError::UnknownOrder(client_order_id.into()))
    }

    pub async fn orders(
        &self,
        statuses: &[OrderStatus],
        limit: i64,
    ) -> Result<Vec<OrderRecord>, TradingError> {
        Ok(self.guard.orders(statuses, limit).await?)
    }

    pub async fn refusals(&self, limit: i64) -> Result<Vec<RefusalRecord>, TradingError> {
        Ok(self.guard.refusals(limit).await?)
    }

    pub async fn account(&self) -> Result<AccountInfo, TradingError> {
        self.refresh().await?;
        Ok(self.broker.account().await?)
    }

    pub async fn positions(&self) -> Result<Vec<PositionInfo>, TradingError> {
        self.refresh().await?;
        Ok(self.broker.positions().await?)
    }
}
