//! A stranded order — accepted but never sent, left by a process that died — is checked
//! against the rules again, with the facts of now, before it is sent late. The limits and the
//! seal are what they are now, not what they were when the order was admitted; and a row that
//! some other program wrote straight into the journal passes no more than the guard would let
//! through today.

use chrono::{DateTime, Utc};
use quantdesk_domain::OrderStatus;
use quantdesk_store::StoreError;

use super::{Guard, MarketFacts, Venue, gather, record_refusal};
use crate::GuardError;
use crate::journal::{self, Change};
use crate::rules::{self, Refusal};

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
        let seal = self.seal_refusal().await?;
        let limits = crate::limits(&self.store).await?;
        let live_enabled = self.live_enabled().await?;
        let mut tx = self.begin().await?;
        let Some(order) = journal::get_in(&mut tx, client_order_id).await? else {
            return Err(GuardError::UnknownOrder(client_order_id.into()));
        };
        let facts = gather(
            &mut tx,
            venue,
            &order.request,
            market,
            live_enabled,
            wall,
            Some(client_order_id),
        )
        .await?;
        let verdict = match seal {
            Some(broken) => Err(broken),
            None => rules::evaluate(&order.request, &limits, &facts).map(|_| ()),
        };
        let Err(refusal) = verdict else {
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(None);
        };
        let reason = format!("checked again before a late send: {}", refusal.message);
        journal::transition_in(
            &mut tx,
            client_order_id,
            &[OrderStatus::Sending],
            OrderStatus::RejectedByGuard,
            &Change {
                reason: Some(&reason),
                ..Change::default()
            },
            wall,
        )
        .await?;
        record_refusal(
            &mut tx,
            client_order_id,
            venue,
            &order.request,
            &refusal,
            wall,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(refusal))
    }
}
