//! A stranded order — accepted but never sent, left by a process that died — is checked
//! against the rules again, with the facts of now, before it is sent late. The limits and the
//! seal are what they are now, not what they were when the order was admitted; and a row that
//! some other program wrote straight into the journal passes no more than the guard would let
//! through today.

use chrono::{DateTime, Utc};
use quantdesk_domain::OrderStatus;
use quantdesk_store::StoreError;

use super::{Guard, MarketFacts, Venue};
use crate::GuardError;
use crate::rules::Refusal;

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
        let Err(refusal) = review.verdict(&facts) else {
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
}
