//! What became of an order, as one enum every answer (the MCP tools, the app's approval
//! decisions, the channel to a waiting sidecar) is shaped from, and the sentences that say it.

use quantdesk_domain::{OrderStatus, untrusted};
use quantdesk_guard::OrderRecord;
use serde::Serialize;

/// What a place, approve or wait came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderOutcome {
    /// The guard refused it; nothing was sent.
    Refused,
    /// An order with its client order id exists already; nothing new happened.
    Duplicate,
    /// The order is where its journal status says (`filled`, `open`, `pending_approval`,
    /// `rejected_by_broker`, …).
    Status(OrderStatus),
}

impl OrderOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderOutcome::Refused => "refused",
            OrderOutcome::Duplicate => "duplicate",
            OrderOutcome::Status(s) => s.as_str(),
        }
    }

    pub fn of(order: &OrderRecord) -> Self {
        OrderOutcome::Status(order.status)
    }
}

/// Compares with the wire word (`placed.outcome == "filled"`).
impl PartialEq<&str> for OrderOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for OrderOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for OrderOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a place (or approve) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub broker: String,
    pub mode: String,
    pub outcome: OrderOutcome,
    pub client_order_id: String,
    pub message: String,
    pub order: Option<OrderRecord>,
    /// The limit that refused the order.
    pub rule: Option<String>,
    /// The order's value as the guard measured it (admitted or pending orders).
    pub value: Option<quantdesk_domain::Decimal>,
    /// How the broker prices its fills (`live quote`, `replay`), where QuantDesk does.
    pub pricing: Option<String>,
}

impl Placed {
    pub fn is_pending_approval(&self) -> bool {
        self.outcome == OrderOutcome::Status(OrderStatus::PendingApproval)
    }
}

fn price(order: &OrderRecord) -> String {
    order
        .avg_fill_price
        .map(|p| p.normalize().to_string())
        .unwrap_or_default()
}

fn reason(order: &OrderRecord) -> String {
    shown_reason(order).unwrap_or_default()
}

/// An order's reason as the model may read it: the broker's own words (a broker's rejection)
/// inside the untrusted envelope, QuantDesk's words as they are.
pub fn shown_reason(order: &OrderRecord) -> Option<String> {
    let reason = order.reason.as_deref()?;
    Some(
        if order.status == OrderStatus::RejectedByBroker && !untrusted::is_enveloped(reason) {
            untrusted::envelope(&order.broker, reason)
        } else {
            reason.to_string()
        },
    )
}

/// The sentence for an order the guard accepted and the desk sent.
pub(crate) fn sent_message(order: &OrderRecord) -> String {
    match order.status {
        OrderStatus::Filled => format!(
            "filled {} {} at {}",
            order.filled_qty.normalize(),
            order.request.symbol,
            price(order)
        ),
        OrderStatus::Open => "sent; resting at the broker".to_string(),
        OrderStatus::Sending => {
            "sent, but the broker's answer is not known yet; QuantDesk reconciles it".to_string()
        }
        s => format!("{s}: {}", reason(order)),
    }
}

/// The sentence for an order the person decided while a place call waited on it.
pub(crate) fn decided_message(order: &OrderRecord) -> String {
    match order.status {
        OrderStatus::Filled => format!(
            "approved by the person and filled {} at {}",
            order.filled_qty.normalize(),
            price(order)
        ),
        OrderStatus::Open => "approved by the person and sent; resting at the broker".into(),
        OrderStatus::RejectedByPerson => "rejected by the person in QuantDesk; not sent".into(),
        OrderStatus::RejectedByGuard => format!(
            "approved, but refused by the limits at that moment: {}",
            reason(order)
        ),
        OrderStatus::ApprovalExpired => "the approval expired; not sent".into(),
        s => format!("{s}: {}", reason(order)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_the_statuses_and_words_answers_always_used() {
        assert_eq!(OrderOutcome::Refused.as_str(), "refused");
        assert_eq!(OrderOutcome::Duplicate.as_str(), "duplicate");
        assert_eq!(
            OrderOutcome::Status(OrderStatus::PendingApproval).as_str(),
            "pending_approval"
        );
        assert_eq!(
            serde_json::to_value(OrderOutcome::Status(OrderStatus::Filled)).ok(),
            serde_json::to_value("filled").ok()
        );
    }
}
