//! Linking an Alpaca account: the key id and secret are checked with a real account call, then
//! kept in the OS keychain. The store only remembers that a link exists, its endpoint and the
//! account's id (for recognition) — never the key id or the secret.

use apca::api::v2::account;
use apca::{ApiInfo, Client, RequestError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::views::{AlpacaLink, LinkedBroker};
use crate::{Desktop, DesktopError};

pub const ALPACA_PAPER_URL: &str = "https://paper-api.alpaca.markets";
pub const ALPACA_LIVE_URL: &str = "https://api.alpaca.markets";
/// Overrides the trading API's base URL (the stand-in server in tests, self-hosted proxies).
pub const ALPACA_URL_ENV: &str = "QUANTDESK_ALPACA_TRADING_URL";

const LINK_SETTING: &str = "brokers.alpaca";
const KEY_ID_ENTRY: &str = "broker:alpaca:key-id";
const SECRET_ENTRY: &str = "broker:alpaca:secret";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredLink {
    live: bool,
    base_url: String,
    account_id: String,
}

fn base_url(live: bool) -> String {
    std::env::var(ALPACA_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| {
            if live {
                ALPACA_LIVE_URL
            } else {
                ALPACA_PAPER_URL
            }
            .to_string()
        })
}

/// One call to `/v2/account` with the given credentials; a wrong key or no network is said
/// plainly.
async fn check(url: &str, link: &AlpacaLink) -> Result<String, DesktopError> {
    let info = ApiInfo::from_parts(url, link.key_id.trim(), link.secret.trim())
        .map_err(|e| DesktopError::Alpaca(format!("The Alpaca address {url} is not valid: {e}")))?;
    let client = Client::new(info);
    match client.issue::<account::Get>(&()).await {
        Ok(acct) => Ok(acct.id.to_string()),
        Err(RequestError::Endpoint(account::GetError::AuthenticationFailed(_))) => {
            Err(DesktopError::Alpaca(
                "Alpaca did not accept this key id and secret. Check both, and that they are for \
                 the paper or live account you chose."
                    .into(),
            ))
        }
        Err(RequestError::Endpoint(e)) => Err(DesktopError::Alpaca(format!(
            "Alpaca answered with an error: {e}"
        ))),
        Err(_) => Err(DesktopError::Alpaca(format!(
            "Could not reach Alpaca at {url}. Check your internet connection and try again."
        ))),
    }
}

impl Desktop {
    /// Checks the credentials with Alpaca, then stores them in the keychain.
    pub async fn link_alpaca(&self, link: &AlpacaLink) -> Result<LinkedBroker, DesktopError> {
        if link.key_id.trim().is_empty() {
            return Err(DesktopError::invalid("alpaca_key_id", "Enter the key id"));
        }
        if link.secret.trim().is_empty() {
            return Err(DesktopError::invalid(
                "alpaca_secret",
                "Enter the secret key",
            ));
        }
        let url = self
            .alpaca_url
            .clone()
            .unwrap_or_else(|| base_url(link.live));
        let account_id = check(&url, link).await?;
        let secrets = self.secrets()?;
        let (key_id, secret) = (
            link.key_id.trim().to_string(),
            link.secret.trim().to_string(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), DesktopError> {
            secrets.set(KEY_ID_ENTRY, &key_id)?;
            secrets.set(SECRET_ENTRY, &secret)?;
            Ok(())
        })
        .await
        .map_err(|e| DesktopError::Alpaca(format!("the keychain could not be reached: {e}")))??;
        let stored = StoredLink {
            live: link.live,
            base_url: url,
            account_id,
        };
        self.store.set_setting(LINK_SETTING, &stored).await?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({ "setting": "broker", "action": "linked", "broker": "alpaca",
                    "mode": if link.live { "live" } else { "paper" } }),
        )
        .await?;
        self.set_onboarding_broker("alpaca").await?;
        self.alpaca_link()
            .await?
            .ok_or_else(|| DesktopError::Alpaca("the link was not recorded".into()))
    }

    /// Removes the Alpaca link and its keychain entries.
    pub async fn unlink_alpaca(&self) -> Result<(), DesktopError> {
        let secrets = self.secrets()?;
        tokio::task::spawn_blocking(move || -> Result<(), DesktopError> {
            secrets.delete(KEY_ID_ENTRY)?;
            secrets.delete(SECRET_ENTRY)?;
            Ok(())
        })
        .await
        .map_err(|e| DesktopError::Alpaca(format!("the keychain could not be reached: {e}")))??;
        self.store
            .set_setting(LINK_SETTING, &None::<StoredLink>)
            .await?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({ "setting": "broker", "action": "unlinked", "broker": "alpaca" }),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn alpaca_link(&self) -> Result<Option<LinkedBroker>, DesktopError> {
        let stored = self
            .store
            .setting::<Option<StoredLink>>(LINK_SETTING)
            .await?
            .flatten();
        Ok(stored.map(|s| LinkedBroker {
            name: "alpaca".into(),
            label: "Alpaca".into(),
            mode: if s.live { "live" } else { "paper" }.into(),
            // Orders go through the built-in paper broker until Alpaca trading lands in the
            // broker crate.
            active: false,
            account: Some(s.account_id),
        }))
    }
}
