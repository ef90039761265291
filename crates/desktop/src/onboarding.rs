//! The first-run wizard: welcome → sign in (or guest) → broker → limits and approval policy →
//! Claude Desktop → done. Progress is a store setting, so a restart resumes where the person
//! left off; each choice is written to the audit log (never a key or secret).

use quantdesk_keys::account::{self, KeyState};
use quantdesk_keys::{Scopes, Verifier};
use quantdesk_secrets::SecretStore;
use serde_json::json;

use crate::views::{Identity, Onboarding, OnboardingStep};
use crate::{Desktop, DesktopError};

/// The store setting holding [`Onboarding`].
pub const ONBOARDING_SETTING: &str = "app.onboarding";

impl Onboarding {
    fn fresh(identity: Identity) -> Self {
        Onboarding {
            step: OnboardingStep::Welcome,
            completed: false,
            identity,
            broker: "paper".into(),
        }
    }
}

impl Desktop {
    /// Who the app runs as: the installed key's account and scopes, or guest mode.
    pub async fn identity(&self) -> Result<Identity, DesktopError> {
        let verifier = Verifier::from_env()?;
        let state = account::load(
            &self.store,
            SecretStore::from_env,
            &verifier,
            account::now(),
        )
        .await;
        let narrowed = account::narrowed_scopes(&self.store).await?;
        let narrow = |s: Scopes| match &narrowed {
            Some(n) => s.narrow(n).names(),
            None => s.names(),
        };
        Ok(match state {
            KeyState::Guest => Identity {
                guest: true,
                account_id: None,
                key_id: None,
                scopes: narrow(Scopes::guest()),
                problem: None,
            },
            KeyState::Active(claims) => Identity {
                guest: false,
                account_id: Some(claims.account_id.clone()),
                key_id: Some(claims.key_id.clone()),
                scopes: narrow(claims.scopes.clone()),
                problem: None,
            },
            KeyState::Unusable { key_id, reason } => Identity {
                guest: false,
                account_id: None,
                key_id,
                scopes: Vec::new(),
                problem: Some(reason),
            },
        })
    }

    pub async fn onboarding(&self) -> Result<Onboarding, DesktopError> {
        let identity = self.identity().await?;
        let mut state = self
            .store
            .setting::<Onboarding>(ONBOARDING_SETTING)
            .await?
            .unwrap_or_else(|| Onboarding::fresh(identity.clone()));
        state.identity = identity;
        Ok(state)
    }

    async fn save_onboarding(&self, state: &Onboarding) -> Result<(), DesktopError> {
        Ok(self.store.set_setting(ONBOARDING_SETTING, state).await?)
    }

    /// Moves the wizard to `step` (the person pressed Continue or Back).
    pub async fn onboarding_go(&self, step: OnboardingStep) -> Result<Onboarding, DesktopError> {
        let mut state = self.onboarding().await?;
        state.step = step;
        if step == OnboardingStep::Done && !state.completed {
            state.completed = true;
            self.audit(
                "onboarding",
                "ok",
                None,
                json!({ "step": "done", "guest": state.identity.guest, "broker": state.broker }),
            )
            .await?;
        }
        self.save_onboarding(&state).await?;
        Ok(state)
    }

    /// Signs in with an account API key: verified offline, kept in the keychain, only its id
    /// and hash in the store.
    pub async fn sign_in(&self, key_text: &str) -> Result<Onboarding, DesktopError> {
        if key_text.trim().is_empty() {
            return Err(DesktopError::invalid(
                "api_key",
                "Paste your QuantDesk API key",
            ));
        }
        self.install_key(key_text, "pasted").await?;
        self.onboarding_go(OnboardingStep::Broker).await
    }

    /// Installs a key (pasted, or handed over by the browser sign-in) and records it; the
    /// onboarding moves on past the sign-in step if it was there.
    pub(crate) async fn install_key(&self, key_text: &str, how: &str) -> Result<(), DesktopError> {
        let verifier = Verifier::from_env()?;
        let secrets = self.secrets()?;
        let installed =
            account::install(&self.store, &secrets, &verifier, key_text, account::now())
                .await
                .map_err(|err| match err {
                    account::AccountError::Key(e) => {
                        DesktopError::invalid("api_key", e.to_string())
                    }
                    other => other.into(),
                })?;
        self.audit(
            "onboarding",
            "ok",
            None,
            json!({
                "step": "sign_in",
                "how": how,
                "key_id": installed.claims.key_id,
                "account_id": installed.claims.account_id,
                "keychain": installed.backend.to_string(),
            }),
        )
        .await?;
        let state = self.onboarding().await?;
        if state.step == OnboardingStep::SignIn && !state.completed {
            self.onboarding_go(OnboardingStep::Broker).await?;
        }
        Ok(())
    }

    /// Continues without a key: market data, analysis, backtests and paper trading.
    pub async fn continue_as_guest(&self) -> Result<Onboarding, DesktopError> {
        self.audit(
            "onboarding",
            "ok",
            None,
            json!({ "step": "sign_in", "guest": true }),
        )
        .await?;
        self.onboarding_go(OnboardingStep::Broker).await
    }

    /// The built-in paper broker: ready at once.
    pub async fn choose_paper_broker(&self) -> Result<Onboarding, DesktopError> {
        let mut state = self.onboarding().await?;
        state.broker = "paper".into();
        self.save_onboarding(&state).await?;
        self.audit(
            "onboarding",
            "ok",
            None,
            json!({ "step": "broker", "broker": "paper" }),
        )
        .await?;
        self.onboarding_go(OnboardingStep::Limits).await
    }

    pub(crate) async fn set_onboarding_broker(&self, broker: &str) -> Result<(), DesktopError> {
        let mut state = self.onboarding().await?;
        state.broker = broker.into();
        self.save_onboarding(&state).await
    }
}
