//! Sending exactly once, and reconciling what a dead process left behind. The journal row is
//! claimed (`accepted` → `sending`) by compare-and-set before the broker is called, so no two
//! processes and no retry send the same client order id; once the broker has answered, nothing
//! turns that answer into an error.

use chrono::Utc;
use quantdesk_broker::{BrokerError, Sent};
use quantdesk_domain::OrderStatus;
use quantdesk_guard::{Change, OrderRecord};
use serde_json::{Value, json};

use crate::error::retried;
use crate::{Desk, TradingError};

/// What a send came to, and what its answer must add when bookkeeping lagged behind.
#[derive(Debug)]
pub(crate) struct Submitted {
    pub(crate) order: OrderRecord,
    /// The broker took the order but the journal could not record it yet.
    pub(crate) unrecorded: Option<String>,
    /// The audit entry waits in the pending file (or could not be written at all).
    pub(crate) audit_pending: Option<String>,
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

impl Desk {
    /// Sends an accepted order once: claims it, calls the broker, records what happened. An
    /// order someone else claimed is left to them.
    pub async fn send(&self, client_order_id: &str) -> Result<OrderRecord, TradingError> {
        Ok(self.send_noting(client_order_id).await?.order)
    }

    /// [`Self::send`], with what the answer must add when the bookkeeping after the broker's
    /// answer did not go through.
    pub(crate) async fn send_noting(
        &self,
        client_order_id: &str,
    ) -> Result<Submitted, TradingError> {
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
    async fn submit_claimed(&self, client_order_id: &str) -> Result<Submitted, TradingError> {
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
                Err(e.into())
            }
        }
    }

    /// Claims an order for sending: `accepted` → `sending`, or (for reconciliation) a `sending`
    /// claim older than `stale_after`. `true` for exactly one claimer.
    async fn claim(&self, client_order_id: &str, stale_too: bool) -> Result<bool, TradingError> {
        let now = Utc::now();
        let stale_before = stale_too.then(|| now - self.stale_after);
        Ok(self
            .guard
            .claim(client_order_id, &self.actor, now, stale_before)
            .await?)
    }

    /// On start: orders left `accepted` or `sending` by a process that died are looked up at the
    /// broker by client order id and recorded if it has them; if it does not, they are checked
    /// by the guard again (limits, seal and market as they are now) and sent only if they still
    /// pass. Nothing is sent that the broker already has.
    pub async fn reconcile(&self) -> Result<Vec<OrderRecord>, TradingError> {
        let cutoff = Utc::now() - self.stale_after;
        let mut done = Vec::new();
        let stuck = self.guard.orders(&OrderStatus::UNSENT, 1000).await?;
        for order in stuck {
            if order.broker != self.broker.name() || order.updated_at > cutoff {
                continue;
            }
            if !self.claim(&order.client_order_id, true).await? {
                continue;
            }
            let claimed = self.order(&order.client_order_id).await?;
            let (found, after) = match self.broker.lookup(&claimed).await? {
                Some(sent) => {
                    self.record_lookup(&claimed, &sent).await?;
                    (true, self.order(&order.client_order_id).await?)
                }
                None => match self.recheck_late(&claimed).await? {
                    Some(refusal) => {
                        let after = self.order(&order.client_order_id).await?;
                        let why = json!({ "rule": refusal.rule, "message": refusal.message });
                        self.audit_order("refused_before_late_send", &after, why)
                            .await?;
                        (false, after)
                    }
                    None => (
                        false,
                        self.submit_claimed(&order.client_order_id).await?.order,
                    ),
                },
            };
            self.audit_order("reconciled", &after, json!({ "found_at_broker": found }))
                .await?;
            done.push(after);
        }
        Ok(done)
    }

    /// The guard's rules again, with the facts of now, before a stranded order is sent late.
    async fn recheck_late(
        &self,
        order: &OrderRecord,
    ) -> Result<Option<quantdesk_guard::Refusal>, TradingError> {
        let facts = self.facts(&order.request.symbol).await?;
        let venue = self.venue();
        let id = &order.client_order_id;
        Ok(self
            .guard
            .recheck_late(&venue, id, &facts, Utc::now())
            .await?)
    }

    async fn record_lookup(&self, order: &OrderRecord, sent: &Sent) -> Result<(), TradingError> {
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
}
