//! The guard's side of the app's seal (`crate::seal`): whether the sealed settings can be
//! trusted, the refusal every order gets while they cannot, whether a person's decision carries
//! the app's signature, and the approval card's explanation, which shows a broken seal first.

use chrono::{DateTime, Utc};
use quantdesk_store::StoreError;

use super::{Guard, MarketFacts, Venue, gather};
use crate::GuardError;
use crate::journal::{self, OrderRecord};
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
        // Read-only: the session baseline `gather` may note is left to the real admission.
        tx.rollback().await.map_err(StoreError::from)?;
        let mut explanation = rules::explain(&order.request, &limits, &facts);
        if let Some(broken) = seal {
            // The seal is checked before any limit: the card shows it first, as the verdict.
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
            explanation.verdict = Err(broken);
        }
        Ok((order, explanation))
    }
}
