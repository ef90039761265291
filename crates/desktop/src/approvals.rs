//! The approval window's content and the person's two ways out: Approve and Reject. Pending
//! orders live in the order journal (store), so they survive a restart of the app or of any
//! sidecar; the sidecar waiting on an order sees the decision there.

use quantdesk_domain::{Decimal, OrderStatus, Side};
use quantdesk_guard::{Limits, OrderRecord};

use crate::fmt::{cents, dec, dollars};
use crate::home::position_row;
use crate::views::{ApprovalRequest, Decision, LimitCheck};
use crate::{Desktop, DesktopError};

/// Who decides, in the audit log.
pub(crate) const BY: &str = "person (QuantDesk app)";

impl Desktop {
    /// Ids of orders waiting for the person, oldest first (cheap: for the shell's watcher, the
    /// tray, and whether the approval window may close). An approval that ran out no longer
    /// waits, even before a desk marks it expired, as in [`Self::pending_approvals`].
    pub async fn pending_approval_ids(&self) -> Result<Vec<String>, DesktopError> {
        let mut orders = self
            .desk()
            .orders(&[OrderStatus::PendingApproval], 200)
            .await?;
        let now = chrono::Utc::now();
        orders.retain(|o| o.approval_expires_at.is_none_or(|t| t > now));
        orders.sort_by_key(|o| o.created_at);
        Ok(orders.into_iter().map(|o| o.client_order_id).collect())
    }

    /// Every order waiting for the person, with what the approval window shows.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalRequest>, DesktopError> {
        let mut orders = self
            .desk()
            .orders(&[OrderStatus::PendingApproval], 200)
            .await?;
        let now = chrono::Utc::now();
        orders.retain(|o| o.approval_expires_at.is_none_or(|t| t > now));
        orders.sort_by_key(|o| o.created_at);
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let limits = quantdesk_guard::limits(&self.store).await?;
        let positions = self.desk().positions().await.unwrap_or_default();
        let mut out = Vec::with_capacity(orders.len());
        for order in orders {
            let last = self
                .desk()
                .broker()
                .last_price(&order.request.symbol)
                .await
                .ok()
                .flatten()
                .map(|p| p.price);
            let position = positions.iter().find(|p| p.symbol == order.request.symbol);
            out.push(request_view(
                &order,
                last,
                position.map(|p| (p.qty, p.market_value)),
                &limits,
            ));
            if let Some(view) = out.last_mut() {
                view.position = position.map(position_row);
            }
        }
        Ok(out)
    }

    /// The person clicked Approve: the guard checks the order again now and, if it still passes,
    /// it is sent — by the sidecar still waiting on it (so Claude hears at once), else here.
    pub async fn approve(&self, client_order_id: &str) -> Result<Decision, DesktopError> {
        match self.decide_through_sidecar(client_order_id, true).await {
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                tracing::warn!(%err, "the waiting sidecar did not apply the approval");
                self.approve_here(client_order_id).await?;
            }
            None => self.approve_here(client_order_id).await?,
        }
        let order = self.desk().order(client_order_id).await?;
        Ok(decision(&order))
    }

    async fn approve_here(&self, client_order_id: &str) -> Result<(), DesktopError> {
        let order = self.desk().order(client_order_id).await?;
        if order.status == OrderStatus::PendingApproval {
            self.desk().approve(client_order_id, BY).await?;
        }
        Ok(())
    }

    /// The person clicked Reject: the order is never sent.
    pub async fn reject(&self, client_order_id: &str) -> Result<Decision, DesktopError> {
        let before = self.desk().order(client_order_id).await?.status;
        if before != OrderStatus::PendingApproval {
            return Ok(Decision {
                client_order_id: client_order_id.into(),
                outcome: "unchanged".into(),
                message: format!(
                    "This order was no longer waiting (it is {before}); nothing changed."
                ),
            });
        }
        match self.decide_through_sidecar(client_order_id, false).await {
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                tracing::warn!(%err, "the waiting sidecar did not apply the rejection");
                self.desk().reject(client_order_id, BY).await?;
            }
            None => {
                self.desk().reject(client_order_id, BY).await?;
            }
        }
        let order = self.desk().order(client_order_id).await?;
        Ok(decision(&order))
    }
}

/// What became of a decided order, in one sentence.
fn decision(o: &OrderRecord) -> Decision {
    let (outcome, message) = match o.status {
        OrderStatus::Filled => (
            "filled",
            format!(
                "Approved and filled: {} {} {} at {}.",
                if o.request.side == Side::Buy {
                    "bought"
                } else {
                    "sold"
                },
                dec(o.filled_qty),
                o.request.symbol,
                o.avg_fill_price.map_or("market".into(), dollars)
            ),
        ),
        OrderStatus::Accepted
        | OrderStatus::Sending
        | OrderStatus::Open
        | OrderStatus::PartiallyFilled => ("sent", "Approved and sent to the broker.".into()),
        OrderStatus::RejectedByGuard => (
            "refused",
            format!(
                "Approved, but your limits refuse it at this moment ({}). It was not sent.",
                o.reason.clone().unwrap_or_default()
            ),
        ),
        OrderStatus::RejectedByPerson => ("rejected", "Rejected: the order was not sent.".into()),
        OrderStatus::ApprovalExpired => (
            "expired",
            "The approval had expired, so the order was not sent.".into(),
        ),
        s => (s.as_str(), sentence(&format!("the order is now {s}"))),
    };
    Decision {
        client_order_id: o.client_order_id.clone(),
        outcome: outcome.into(),
        message,
    }
}

fn sentence(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}

/// The order's value at the price the guard measures it at: the worse of the last price and
/// the order's own limit/stop price (or its notional).
fn estimated_value(order: &OrderRecord, last: Option<Decimal>) -> Option<Decimal> {
    let r = &order.request;
    if let Some(n) = r.notional {
        return Some(n);
    }
    let own = [r.limit_price, r.stop_price].into_iter().flatten().max();
    let price = match (last, own) {
        (Some(l), Some(o)) => Some(l.max(o)),
        (l, o) => l.or(o),
    }?;
    r.qty.map(|q| q * price)
}

fn check(name: &str, limit: Option<Decimal>, value: Option<Decimal>) -> LimitCheck {
    LimitCheck {
        name: name.into(),
        limit: limit.map_or("off".into(), dollars),
        this_order: value.map_or("unknown".into(), dollars),
        within: match (limit, value) {
            (None, _) => true,
            (Some(l), Some(v)) => v <= l,
            (Some(_), None) => false,
        },
    }
}

pub(crate) fn request_view(
    order: &OrderRecord,
    last: Option<Decimal>,
    position: Option<(Decimal, Option<Decimal>)>,
    limits: &Limits,
) -> ApprovalRequest {
    let r = &order.request;
    let value = estimated_value(order, last);
    let held_value = position.and_then(|(_, v)| v).unwrap_or(Decimal::ZERO);
    let after = value.map(|v| match r.side {
        Side::Buy => held_value.abs() + v,
        Side::Sell => (held_value - v).abs(),
    });
    let symbol_ok = !limits.blocked_symbols.contains(&r.symbol)
        && (limits.allowed_symbols.is_empty() || limits.allowed_symbols.contains(&r.symbol));
    let mut checks = vec![
        check("Max order value", limits.max_order_value, value),
        check(
            "Max position value (after this order)",
            limits.max_position_value,
            after,
        ),
        LimitCheck {
            name: "Symbol allowed".into(),
            limit: if limits.allowed_symbols.is_empty() {
                "any symbol not blocked".into()
            } else {
                "listed symbols only".into()
            },
            this_order: r.symbol.to_string(),
            within: symbol_ok,
        },
        LimitCheck {
            name: "Kill switch".into(),
            limit: if limits.kill_switch { "on" } else { "off" }.into(),
            this_order: String::new(),
            within: !limits.kill_switch,
        },
    ];
    if r.side == Side::Sell && !limits.allow_short_selling {
        let held = position.map_or(Decimal::ZERO, |(q, _)| q);
        let qty = r.qty.unwrap_or(Decimal::ZERO);
        checks.push(LimitCheck {
            name: "No short selling".into(),
            limit: format!("hold {} shares", dec(held)),
            this_order: format!("sell {}", dec(qty)),
            within: qty <= held,
        });
    }
    ApprovalRequest {
        client_order_id: order.client_order_id.clone(),
        broker: order.broker.clone(),
        mode: order.mode.clone(),
        symbol: r.symbol.to_string(),
        side: r.side.to_string(),
        order_type: r.order_type.to_string(),
        time_in_force: r.time_in_force.to_string(),
        qty: r.qty.map(dec),
        notional: r.notional.map(cents),
        limit_price: r.limit_price.map(dec),
        stop_price: r.stop_price.map(dec),
        last_price: last.map(cents),
        estimated_value: value.map(cents),
        created_at: order.created_at.to_rfc3339(),
        expires_at: order.approval_expires_at.map(|t| t.to_rfc3339()),
        checks,
        position: None,
    }
}
