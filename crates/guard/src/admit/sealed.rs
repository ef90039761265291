//! The guard's side of the app's seal (`crate::seal`): whether the sealed settings can be
//! trusted, the refusal every order gets while they cannot, whether a person's decision carries
//! the app's signature, and the approval card's explanation, which shows a broken seal first.

use chrono::{DateTime, Utc};
use quantdesk_store::StoreError;

use super::{Guard, MarketFacts, Venue};
use crate::GuardError;
use crate::journal::OrderRecord;
use crate::rules::{self, Explanation, Refusal};
use crate::seal::{self, SealCheck, SealState};

impl Guard {
    /// Checks the sealed settings with `check` before every admission.
    pub fn with_seal(mut self, check: Option<SealCheck>) -> Self {
        self.seal = check;
        self
    }

    /// The sealed settings' state as this guard sees it.
    pub async fn seal_state(&self) -> Result<SealState, GuardError> {
        seal::state(&self.store, self.seal.as_ref()).await
    }

    /// The refusal every order gets while the sealed settings cannot be trusted.
    pub(super) async fn seal_refusal(&self) -> Result<Option<Refusal>, GuardError> {
        Ok(match self.seal_state().await? {
            SealState::Broken(why) => Some(Refusal {
                rule: rules::Rule::SettingsSeal,
                message: format!(
                    "{why}; QuantDesk refuses every order until you review your settings in the \
                     QuantDesk app and save them"
                ),
            }),
            SealState::Sealed | SealState::Unsealed => None,
        })
    }

    /// A decision on `order` may be acted on: signed by the app when this guard has its public
    /// key (a desk never sealed takes the person's tools at their word).
    pub fn check_decision(
        &self,
        order: &OrderRecord,
        approve: bool,
        signature: Option<&str>,
    ) -> Result<(), GuardError> {
        let Some(check) = &self.seal else {
            return Ok(());
        };
        if signature.is_some_and(|sig| check.verifies_decision(order, approve, sig)) {
            return Ok(());
        }
        Err(GuardError::UnsignedDecision {
            client_order_id: order.client_order_id.clone(),
            verdict: if approve { "approval" } else { "rejection" },
        })
    }

    /// What the guard would decide for the pending order `client_order_id` if the person
    /// approved it now — the very rules and facts [`Self::admit_approved`] uses, so the
    /// approval window can never say "within" for an order the guard would refuse.
    pub async fn explain_pending(
        &self,
        venue: &Venue,
        client_order_id: &str,
        market: &MarketFacts,
        wall: DateTime<Utc>,
    ) -> Result<(OrderRecord, Explanation), GuardError> {
        let mut review = self.review(client_order_id).await?;
        let facts = review.facts(venue, market, wall).await?;
        let explanation = review.explain(&facts);
        // Read-only: the session baseline `gather` may note is left to the real admission.
        review.tx.rollback().await.map_err(StoreError::from)?;
        Ok((review.order, explanation))
    }
}
