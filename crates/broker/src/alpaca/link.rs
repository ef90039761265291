//! Linking an Alpaca account: the key checked with an account call, the data plan's feed found,
//! the key kept in the OS keychain and only the link (endpoint, paper/live, account id, feed)
//! recorded in the store — what the app's Settings and `cargo xtask link-alpaca` both do, and what
//! every sidecar reads back.

use std::sync::Arc;

use apca::api::v2::account;
use apca::{ApiInfo, Client, RequestError};
use quantdesk_market::{AlpacaConfig, AlpacaFeed, AlpacaProvider, MarketData};
use quantdesk_secrets::{Secret, SecretError, SecretStore};
use quantdesk_store::Store;

use super::AlpacaBroker;
use crate::BrokerError;

/// The store setting that records a linked Alpaca account — never its key.
pub const ALPACA_LINK_SETTING: &str = "brokers.alpaca";
/// Keychain entries (OS keychain, service "QuantDesk") holding the linked account's key.
pub const ALPACA_KEY_ID_ENTRY: &str = "broker:alpaca:key-id";
pub const ALPACA_SECRET_ENTRY: &str = "broker:alpaca:secret";

/// Why an Alpaca key could not be linked, in words for the person linking it.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("The Alpaca address {url} is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "Alpaca did not accept this key id and secret. Check both, and that they are for the paper or live account you chose."
    )]
    Rejected,
    #[error("Alpaca answered with an error: {0}")]
    Endpoint(String),
    #[error("Could not reach Alpaca at {0}. Check your internet connection and try again.")]
    Unreachable(String),
    #[error(transparent)]
    Keychain(#[from] SecretError),
    #[error("the keychain could not be reached: {0}")]
    KeychainTask(String),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// The stock feed this key's data plan includes (one request to the data API at `data_url`):
/// SIP when the plan has it, else IEX — also when the question cannot be answered now (said in
/// the log; IEX always works).
pub async fn detect_feed(data_url: &str, key_id: &str, secret: &str) -> AlpacaFeed {
    let mut config = AlpacaConfig::new(key_id, secret);
    config.data_url = data_url.to_string();
    let entitled = match AlpacaProvider::new(config) {
        Ok(provider) => provider.sip_entitled().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match entitled {
        Ok(true) => AlpacaFeed::Sip,
        Ok(false) => AlpacaFeed::Iex,
        Err(err) => {
            tracing::warn!(%err, "could not tell whether the Alpaca plan includes SIP; using IEX");
            AlpacaFeed::Iex
        }
    }
}

/// One call to `/v2/account` at `url` with this key: the account's id, or why not.
pub async fn verify_key(url: &str, key_id: &str, secret: &str) -> Result<String, LinkError> {
    let info = ApiInfo::from_parts(url, key_id, secret).map_err(|e| LinkError::BadUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    match Client::new(info).issue::<account::Get>(&()).await {
        Ok(acct) => Ok(acct.id.to_string()),
        Err(RequestError::Endpoint(account::GetError::AuthenticationFailed(_))) => {
            Err(LinkError::Rejected)
        }
        Err(RequestError::Endpoint(e)) => Err(LinkError::Endpoint(e.to_string())),
        Err(_) => Err(LinkError::Unreachable(url.to_string())),
    }
}

/// What the store remembers of an Alpaca account the person linked in the app: which endpoint,
/// paper or live, and the account id (for recognition). The key id and the secret live only in
/// the OS keychain, under [`ALPACA_KEY_ID_ENTRY`] and [`ALPACA_SECRET_ENTRY`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlpacaLinkRecord {
    /// A live (real-money) account; its orders still need the live-trading switch on.
    pub live: bool,
    pub base_url: String,
    pub account_id: String,
    /// The stock feed the account's data plan includes, found when it was linked: `sip` (all
    /// US exchanges) with a paid plan, else `iex`. Links made before it was recorded read `iex`.
    #[serde(default)]
    pub feed: AlpacaFeed,
}

impl AlpacaLinkRecord {
    /// The linked account, if the person linked one.
    pub async fn load(store: &Store) -> Result<Option<Self>, BrokerError> {
        Ok(store
            .setting::<Option<Self>>(ALPACA_LINK_SETTING)
            .await?
            .flatten())
    }

    /// Records the link (`None` removes it).
    pub async fn save(store: &Store, link: Option<&Self>) -> Result<(), BrokerError> {
        store.set_setting(ALPACA_LINK_SETTING, &link).await?;
        Ok(())
    }
}

/// A linked account with its key, as read from the keychain.
#[derive(Debug)]
pub struct LinkedAlpaca {
    pub link: AlpacaLinkRecord,
    pub key_id: Secret,
    pub secret: Secret,
}

impl LinkedAlpaca {
    /// The account the person linked in the app and its key from the keychain `open` opens —
    /// only when there is a link, and off the async threads, so a start without one never
    /// touches the keychain. `None` when nothing is linked. A link whose key is gone from the
    /// keychain is an error that says what to do: trading on another account than the one the
    /// person chose would be worse.
    pub async fn load(
        store: &Store,
        open: impl FnOnce() -> Result<SecretStore, SecretError> + Send + 'static,
    ) -> Result<Option<Self>, BrokerError> {
        let Some(link) = AlpacaLinkRecord::load(store).await? else {
            return Ok(None);
        };
        let (key_id, secret) = tokio::task::spawn_blocking(move || {
            let keychain = open()?;
            Ok::<_, BrokerError>((
                keychain.get(ALPACA_KEY_ID_ENTRY)?,
                keychain.get(ALPACA_SECRET_ENTRY)?,
            ))
        })
        .await
        .map_err(|e| BrokerError::Invalid(format!("the keychain could not be read: {e}")))??;
        let (Some(key_id), Some(secret)) = (key_id, secret) else {
            return Err(BrokerError::Invalid(format!(
                "the Alpaca account {} is linked in QuantDesk but its key is not in this \
                 keychain: link it again in the QuantDesk app (Settings, Brokers), or remove the \
                 link to trade on the built-in paper account",
                link.account_id
            )));
        };
        Ok(Some(Self {
            link,
            key_id,
            secret,
        }))
    }

    /// Keeps the key in `keychain` and then records the link in `store` (in that order: a link
    /// is never recorded without its key).
    pub async fn save(&self, store: &Store, keychain: SecretStore) -> Result<(), LinkError> {
        let (key_id, secret) = (
            self.key_id.expose().to_string(),
            self.secret.expose().to_string(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), LinkError> {
            keychain.set(ALPACA_KEY_ID_ENTRY, &key_id)?;
            keychain.set(ALPACA_SECRET_ENTRY, &secret)?;
            Ok(())
        })
        .await
        .map_err(|e| LinkError::KeychainTask(e.to_string()))??;
        AlpacaLinkRecord::save(store, Some(&self.link)).await?;
        Ok(())
    }

    /// The account as a broker, live exactly when the linked account is a live one (the guard
    /// still refuses live orders until the person turns live trading on).
    pub fn broker(
        &self,
        store: Store,
        market: Arc<dyn MarketData>,
    ) -> Result<AlpacaBroker, BrokerError> {
        AlpacaBroker::new(
            &self.link.base_url,
            self.key_id.expose(),
            self.secret.expose(),
            self.link.live,
            store,
            market,
        )
    }
}
