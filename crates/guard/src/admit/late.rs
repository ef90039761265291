//! A stranded order — accepted but never sent, left by a process that died — is checked
//! against the rules again, with the facts of now, before it is sent late. The limits and the
//! seal are what they are now, not what they were when the order was admitted; and a row that
//! some other program wrote straight into the journal passes no more than the guard would let
//! through today. On a sealed desk that includes the approval policy: an order the policy holds
//! for the person goes late only with the app's signed approval kept beside it.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Decimal, OrderStatus};
use quantdesk_store::StoreError;

use super::review::Review;
use super::{Guard, MarketFacts, Venue};
use crate::GuardError;
use crate::journal;
use crate::rules::{Refusal, Rule};

impl Guard {
    /// Checks the claimed (`sending`) order `client_order_id` again before a late send. `None`:
    /// it may go. `Some(refusal)`: it is now `rejected_by_guard` (its reservation released, the
    /// refusal recorded) and must not be sent.
    pub async fn recheck_late(
        &self,
        venue: &Venue,
        client_order_id: &str,
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<Option<Refusal>, GuardError> {
        let mut review = self.review(client_order_id).await?;
        let facts = review.facts(venue, market, wall).await?;
        let refusal = match review.verdict(&facts) {
            Ok(passed) => self.unapproved(&mut review, venue, passed.value).await?,
            Err(refusal) => Some(refusal),
        };
        let Some(refusal) = refusal else {
            review.tx.commit().await.map_err(StoreError::from)?;
            return Ok(None);
        };
        let reason = format!("checked again before a late send: {}", refusal.message);
        let from = OrderStatus::Sending;
        review
            .refuse(venue, from, &refusal, &reason, None, wall)
            .await?;
        review.tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(refusal))
    }

    /// On a sealed desk, the refusal for an order the approval policy holds for the person
    /// (at its value now) that carries no approval the app signed for it.
    async fn unapproved(
        &self,
        review: &mut Review,
        venue: &Venue,
        value: Decimal,
    ) -> Result<Option<Refusal>, GuardError> {
        if self.seal.is_none() || !review.policy.requires(venue.live, value) {
            return Ok(None);
        }
        let id = review.order.client_order_id.clone();
        let signature = journal::decision_signature_in(&mut review.tx, &id).await?;
        if self
            .check_decision(&review.order, true, signature.as_deref())
            .is_ok()
        {
            return Ok(None);
        }
        Ok(Some(Refusal {
            rule: Rule::ApprovalSignature,
            message: "your approval policy holds this order for your approval in the QuantDesk \
                      app, and the journal has no approval the app signed for it"
                .into(),
        }))
    }
}
