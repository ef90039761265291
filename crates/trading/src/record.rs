//! The desk's bookkeeping around the broker: what the guard needs to know before a check, and
//! the audit entries of every decision and every change of an order.

use quantdesk_domain::{Decimal, Symbol};
use quantdesk_guard::{MarketFacts, OrderRecord};
use quantdesk_store::{AuditRecord, AuditWrite};
use serde_json::{Value, json};

use crate::{Desk, TradingError};

impl Desk {
    pub(crate) async fn audit(
        &self,
        kind: &str,
        outcome: &str,
        symbol: Option<&Symbol>,
        detail: Value,
    ) -> Result<(), TradingError> {
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

    pub(crate) async fn audit_order(
        &self,
        outcome: &str,
        order: &OrderRecord,
        extra: Value,
    ) -> Result<(), TradingError> {
        self.store
            .append_audit(&self.order_record(outcome, order, extra))
            .await?;
        Ok(())
    }

    /// The audit entry of what a broker did with a sent order. The order has left the machine,
    /// so this never fails the send: the append is retried, then deferred to the store's
    /// pending file (written on the next start). `Some(note)` says, for the answer, that the
    /// entry waits.
    pub(crate) async fn audit_after_send(
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
    pub(crate) async fn facts(&self, symbol: &Symbol) -> Result<MarketFacts, TradingError> {
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
                    .map_or(Decimal::ZERO, |p| p.qty),
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
}
