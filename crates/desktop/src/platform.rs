//! The app and the QuantDesk platform: "Sign in with your browser" (the RFC 8628 device flow:
//! the code shown, the verification page opened in the system browser, polling in the
//! background, the key installed exactly as a pasted one), signing out (the key leaves the
//! keychain and is revoked on the platform), the revocation list refreshed from the platform
//! (at start and hourly, by ETag) into the store the sidecar honours, and the platform URL
//! setting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quantdesk_keys::Verifier;
use quantdesk_keys::account::{self, keychain_name};
use quantdesk_keys::platform::{PLATFORM_URL_SETTING, PlatformClient, normalise_url};
use serde_json::json;

use crate::views::{BrowserSignIn, RevocationRefresh, SignedOut};
use crate::{Desktop, DesktopError};

/// Set to `0` to never open the system browser (tests, headless machines).
pub const OPEN_BROWSER_ENV: &str = "QUANTDESK_OPEN_BROWSER";

/// The sign-in in progress, shared by the app's clones.
#[derive(Debug, Default)]
pub(crate) struct SignInSlot {
    state: std::sync::Mutex<Option<BrowserSignIn>>,
    cancel: std::sync::Mutex<Arc<AtomicBool>>,
}

impl SignInSlot {
    fn set(&self, state: BrowserSignIn) {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(state);
    }

    fn get(&self) -> BrowserSignIn {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or(BrowserSignIn::Idle)
    }

    /// Cancels the running sign-in (if any) and returns the new one's cancel flag.
    fn renew(&self) -> Arc<AtomicBool> {
        let mut cancel = self
            .cancel
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cancel.store(true, Ordering::SeqCst);
        *cancel = Arc::new(AtomicBool::new(false));
        cancel.clone()
    }
}

/// This computer's name, for the approval page ("QuantDesk on …").
fn device_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty());
    match name {
        Some(n) => format!("QuantDesk on {n}"),
        None => "QuantDesk on this computer".into(),
    }
}

/// Opens `url` in the system browser; false when it could not (or must not).
fn open_browser(url: &str) -> bool {
    if std::env::var(OPEN_BROWSER_ENV).is_ok_and(|v| v == "0") {
        return false;
    }
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

impl Desktop {
    /// The platform this app talks to.
    pub async fn platform_url(&self) -> Result<String, DesktopError> {
        Ok(account::platform_url(&self.store).await?)
    }

    async fn platform(&self) -> Result<PlatformClient, DesktopError> {
        Ok(PlatformClient::new(&self.platform_url().await?)?)
    }

    /// Changes the platform URL (an empty one goes back to the default).
    pub async fn set_platform_url(&self, url: &str) -> Result<String, DesktopError> {
        let value = if url.trim().is_empty() {
            None
        } else {
            Some(
                normalise_url(url)
                    .map_err(|e| DesktopError::invalid("platform_url", e.to_string()))?,
            )
        };
        self.store.set_setting(PLATFORM_URL_SETTING, &value).await?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({ "setting": "platform_url", "value": value }),
        )
        .await?;
        self.platform_url().await
    }

    /// Starts "Sign in with your browser": asks the platform for a code, opens its page in the
    /// system browser and polls in the background. [`Desktop::browser_sign_in`] tells how it
    /// goes; a new start or [`Desktop::cancel_browser_sign_in`] stops the previous one.
    pub async fn start_browser_sign_in(&self) -> Result<BrowserSignIn, DesktopError> {
        let cancel = self.sign_in.renew();
        let client = self.platform().await?;
        let auth = client.start_device_sign_in(&device_name(), None).await?;
        let opened = auth
            .verification_uri_complete
            .starts_with(client.base_url())
            && open_browser(&auth.verification_uri_complete);
        let waiting = BrowserSignIn::Waiting {
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.clone(),
            verification_uri_complete: auth.verification_uri_complete.clone(),
            expires_in: u32::try_from(auth.expires_in).unwrap_or(u32::MAX),
            browser_opened: opened,
        };
        self.sign_in.set(waiting.clone());
        let app = self.clone();
        tokio::spawn(async move {
            let flag = cancel.clone();
            let outcome = client
                .wait_for_approval(&auth, move || flag.load(Ordering::SeqCst))
                .await;
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            let next = match outcome {
                Ok(key) => match app.install_key(&key.access_token, "browser").await {
                    Ok(()) => match app.identity().await {
                        Ok(identity) => BrowserSignIn::SignedIn { identity },
                        Err(e) => BrowserSignIn::Failed {
                            message: e.to_string(),
                        },
                    },
                    Err(e) => BrowserSignIn::Failed {
                        message: e.to_string(),
                    },
                },
                Err(e) => BrowserSignIn::Failed {
                    message: e.to_string(),
                },
            };
            if !cancel.load(Ordering::SeqCst) {
                app.sign_in.set(next);
            }
        });
        Ok(waiting)
    }

    /// How the browser sign-in goes.
    pub fn browser_sign_in(&self) -> BrowserSignIn {
        self.sign_in.get()
    }

    pub fn cancel_browser_sign_in(&self) -> BrowserSignIn {
        self.sign_in.renew();
        self.sign_in.set(BrowserSignIn::Idle);
        BrowserSignIn::Idle
    }

    /// Signs out: the key leaves the keychain and the app runs as a guest; the key is revoked
    /// on the platform too, or the answer says why it could not be.
    pub async fn sign_out(&self) -> Result<SignedOut, DesktopError> {
        let installed = self.store.active_account_key().await?;
        let text = match &installed {
            Some(record) => {
                let (secrets, name) = (self.secrets()?, keychain_name(&record.key_id));
                tokio::task::spawn_blocking(move || secrets.get(&name))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
            }
            None => None,
        };
        let removed = account::remove(&self.store, &self.secrets()?).await?;
        let (revoked_on_platform, message) = match (&removed, text) {
            (None, _) => (false, "No key was installed.".to_string()),
            (Some(id), None) => (
                false,
                format!(
                    "Signed out. The key {id} was not in the keychain, so it could not be revoked on the platform; revoke it on your account page."
                ),
            ),
            (Some(id), Some(text)) => match self.platform().await {
                Ok(client) => match client.revoke_self(text.expose()).await {
                    Ok(_) => (
                        true,
                        format!("Signed out. The key {id} is revoked on the platform."),
                    ),
                    Err(e) => (
                        false,
                        format!(
                            "Signed out on this computer, but the key {id} could not be revoked on the platform ({e}); revoke it on your account page."
                        ),
                    ),
                },
                Err(e) => (
                    false,
                    format!("Signed out on this computer; the key {id} could not be revoked: {e}"),
                ),
            },
        };
        self.audit(
            "settings",
            "ok",
            None,
            json!({ "setting": "account_key", "action": "removed", "key_id": removed, "revoked_on_platform": revoked_on_platform }),
        )
        .await?;
        Ok(SignedOut {
            identity: self.identity().await?,
            revoked_on_platform,
            message,
        })
    }

    /// Fetches the platform's revocation list (by ETag) into the store, where the sidecar
    /// honours it at its next start.
    pub async fn refresh_revocations(&self) -> Result<RevocationRefresh, DesktopError> {
        let client = self.platform().await?;
        let mut verifier = Verifier::from_env()?;
        let status = account::refresh_from_platform(&self.store, &mut verifier, &client).await;
        for problem in &status.problems {
            tracing::warn!(%problem, "revocation list");
        }
        Ok(RevocationRefresh {
            platform_url: client.base_url().to_string(),
            revoked_keys: u32::try_from(status.revoked).unwrap_or(u32::MAX),
            problems: status.problems,
        })
    }
}
