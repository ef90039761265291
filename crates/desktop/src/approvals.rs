//! The approval window's content and the person's two ways out: Approve and Reject. Pending
//! orders live in the order journal (store), so they survive a restart of the app or of any
//! sidecar; the sidecar waiting on an order sees the decision there. What the window says of
//! the limits is the guard's own explanation of the check it would run on Approve — never a
//! computation of this crate's.

use quantdesk_domain::{Decimal, OrderStatus, Side};
use quantdesk_guard::{Check, Explanation, OrderRecord, Rule};

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
        let orders = self.desk().awaiting_approval().await?;
        Ok(orders.into_iter().map(|o| o.client_order_id).collect())
    }

    /// Every order waiting for the person, with what the approval window shows.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalRequest>, DesktopError> {
        let desk = self.desk();
        let orders = desk.awaiting_approval().await?;
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let positions = desk.positions().await.unwrap_or_default();
        let mut out = Vec::with_capacity(orders.len());
        for order in orders {
            let (order, explanation) = desk.explain(&order.client_order_id).await?;
            let symbol = &order.request.symbol;
            let last = desk.broker().last_price(symbol).await.ok().flatten();
            let mut view = approval_card(&order, &explanation, last.map(|p| p.price));
            view.position = positions
                .iter()
                .find(|p| &p.symbol == symbol)
                .map(position_row);
            out.push(view);
        }
        Ok(out)
    }

    /// The person clicked Approve: the guard checks the order again now and, if it still passes,
    /// it is sent — by the sidecar still waiting on it (so Claude hears at once), else here.
    pub async fn approve(&self, client_order_id: &str) -> Result<Decision, DesktopError> {
        let order = self.desk().order(client_order_id).await?;
        let signature = self.sign_decision(&order, true);
        match self
            .decide_through_sidecar(client_order_id, true, signature.clone())
            .await
        {
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                tracing::warn!(%err, "the waiting sidecar did not apply the approval");
                self.approve_here(client_order_id, signature.as_deref())
                    .await?;
            }
            None => {
                self.approve_here(client_order_id, signature.as_deref())
                    .await?
            }
        }
        let order = self.desk().order(client_order_id).await?;
        Ok(decision(&order))
    }

    async fn approve_here(
        &self,
        client_order_id: &str,
        signature: Option<&str>,
    ) -> Result<(), DesktopError> {
        let order = self.desk().order(client_order_id).await?;
        if order.status == OrderStatus::PendingApproval {
            self.desk().approve(client_order_id, BY, signature).await?;
        }
        Ok(())
    }

    /// The person clicked Reject: the order is never sent.
    pub async fn reject(&self, client_order_id: &str) -> Result<Decision, DesktopError> {
        let order = self.desk().order(client_order_id).await?;
        if order.status != OrderStatus::PendingApproval {
            return Ok(Decision {
                client_order_id: client_order_id.into(),
                outcome: "unchanged".into(),
                message: format!(
                    "This order was no longer waiting (it is {}); nothing changed.",
                    order.status
                ),
            });
        }
        let signature = self.sign_decision(&order, false);
        match self
            .decide_through_sidecar(client_order_id, false, signature.clone())
            .await
        {
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                tracing::warn!(%err, "the waiting sidecar did not apply the rejection");
                let desk = self.desk();
                desk.reject(client_order_id, BY, signature.as_deref())
                    .await?;
            }
            None => {
                let desk = self.desk();
                desk.reject(client_order_id, BY, signature.as_deref())
                    .await?;
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

/// What the window calls each rule.
pub fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::InvalidOrder => "Valid order",
        Rule::KillSwitch => "Kill switch",
        Rule::LiveTradingOff => "Live trading on",
        Rule::AllowedSymbols => "Symbol allowed",
        Rule::BlockedSymbols => "Symbol not blocked",
        Rule::AssetClasses => "Asset class allowed",
        Rule::TradingHours => "Market hours",
        Rule::FreshQuote => "Fresh price",
        Rule::PriceCollar => "Price collar",
        Rule::MaxOrderValue => "Max order value",
        Rule::ShortSelling => "No short selling",
        Rule::MaxPositionValue => "Max position value (after this order)",
        Rule::MaxPositionPctOfEquity => "Max position share of equity",
        Rule::MaxDailyLoss => "Max daily loss",
        Rule::MaxOrdersPerMinute => "Max orders per minute",
        Rule::NakedOptions => "No uncovered short options",
        Rule::MaxContracts => "Max contracts",
        Rule::MaxOptionPremium => "Max option premium",
        Rule::MaxSpreadLoss => "Max loss of the spread",
        Rule::SettingsSeal => "Settings sealed by the app",
        Rule::ApprovalSignature => "Approved in the app",
    }
}

fn limit_check(c: &Check) -> LimitCheck {
    LimitCheck {
        name: rule_name(c.rule).into(),
        limit: c.limit.clone(),
        this_order: c.this_order.clone(),
        within: c.passed,
    }
}

/// The approval window's card for `order`: the order as asked, and the guard's explanation of
/// the check it would run if the person approved now (`last`: the broker's last price, shown).
pub fn approval_card(
    order: &OrderRecord,
    explanation: &Explanation,
    last: Option<Decimal>,
) -> ApprovalRequest {
    let r = &order.request;
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
        estimated_value: explanation.value.map(cents),
        created_at: order.created_at.to_rfc3339(),
        expires_at: order.approval_expires_at.map(|t| t.to_rfc3339()),
        checks: explanation.checks.iter().map(limit_check).collect(),
        position: None,
    }
}
