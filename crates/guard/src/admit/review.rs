//! What every second look at a journaled order starts from — the person's approval
//! (`admit_approved`), the approval card (`explain_pending`) and a late send (`recheck_late`):
//! the settings read before the write transaction opens, the transaction, the order, the facts
//! of now and the rules' verdict on them; and how such an order is refused.

use chrono::{DateTime, Utc};
use quantdesk_domain::OrderStatus;
use sqlx::{Sqlite, Transaction};

use super::{Guard, MarketFacts, Venue, gather, record_refusal};
use crate::journal::{self, Change, OrderRecord};
use crate::rules::{self, Explanation, Facts, Passed, Refusal};
use crate::{ApprovalPolicy, GuardError, Limits};

/// A journaled order opened for a second look, inside a write transaction.
pub(super) struct Review {
    pub(super) tx: Transaction<'static, Sqlite>,
    pub(super) order: OrderRecord,
    seal: Option<Refusal>,
    limits: Limits,
    pub(super) policy: ApprovalPolicy,
    live_enabled: bool,
}

impl Guard {
    /// Opens order `client_order_id` for a second look.
    pub(super) async fn review(&self, client_order_id: &str) -> Result<Review, GuardError> {
        let seal = self.seal_refusal().await?;
        let limits = crate::limits(&self.store).await?;
        let policy = crate::approval_policy(&self.store).await?;
        let live_enabled = self.live_enabled().await?;
        let mut tx = self.begin().await?;
        let Some(order) = journal::get_in(&mut tx, client_order_id).await? else {
            return Err(GuardError::UnknownOrder(client_order_id.into()));
        };
        Ok(Review {
            tx,
            order,
            seal,
            limits,
            policy,
            live_enabled,
        })
    }
}

impl Review {
    /// The facts of now for this order (its own reservation left out: it is the one checked).
    pub(super) async fn facts(
        &mut self,
        venue: &Venue,
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<Facts, GuardError> {
        let id = self.order.client_order_id.clone();
        let request = &self.order.request;
        let live = self.live_enabled;
        gather(&mut self.tx, venue, request, market, live, wall, Some(&id)).await
    }

    /// The rules' verdict on the order with `facts`; a broken seal refuses before any limit.
    pub(super) fn verdict(&self, facts: &Facts) -> Result<Passed, Refusal> {
        match &self.seal {
            Some(broken) => Err(broken.clone()),
            None => rules::evaluate(&self.order.request, &self.limits, facts),
        }
    }

    /// Every check the rules make on the order with `facts`, a broken seal shown first, as the
    /// verdict.
    pub(super) fn explain(&self, facts: &Facts) -> Explanation {
        let mut explanation = rules::explain(&self.order.request, &self.limits, facts);
        if let Some(broken) = &self.seal {
            explanation.checks.insert(
                0,
                rules::Check {
                    rule: broken.rule,
                    limit: "sealed by the QuantDesk app".into(),
                    this_order: "not sealed".into(),
                    passed: false,
                    message: Some(broken.message.clone()),
                },
            );
            explanation.verdict = Err(broken.clone());
        }
        explanation
    }

    /// Moves the order from `from` to `rejected_by_guard` with `reason` and records the
    /// refusal, inside the transaction.
    pub(super) async fn refuse(
        &mut self,
        venue: &Venue,
        from: OrderStatus,
        refusal: &Refusal,
        reason: &str,
        decided_by: Option<&str>,
        wall: DateTime<Utc>,
    ) -> Result<(), GuardError> {
        let id = self.order.client_order_id.clone();
        let change = Change {
            reason: Some(reason),
            decided_by,
            ..Change::default()
        };
        let to = OrderStatus::RejectedByGuard;
        journal::transition_in(&mut self.tx, &id, &[from], to, &change, wall).await?;
        record_refusal(&mut self.tx, &id, venue, &self.order.request, refusal, wall).await
    }
}
