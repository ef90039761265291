//! Linking an Alpaca account: the key id and secret are checked with a real account call, then
//! kept in the OS keychain. The store only remembers that a link exists, its endpoint and the
//! account's id (for recognition) — never the key id or the secret. Once linked, the account is
//! where orders go, here and in the sidecar Claude Desktop starts (both read the same link).

use std::sync::Arc;

use quantdesk_broker::{
    ALPACA_KEY_ID_ENTRY, ALPACA_SECRET_ENTRY, AlpacaLinkRecord, Broker, LinkError, LinkedAlpaca,
    detect_feed, verify_key,
};
use quantdesk_live::watch::Stocks;
use quantdesk_market::stream::alpaca::AlpacaStreamConfig;
use quantdesk_market::stream::hub::AlpacaUpstream;
use quantdesk_market::stream::stocks::AlpacaClock;
use quantdesk_market::{
    AlpacaConfig, AlpacaProvider, CachedProvider, DEFAULT_DATA_URL, MarketData,
};
use quantdesk_secrets::{Secret, SecretStore};
use serde_json::json;

use crate::views::{AlpacaLink, LinkedBroker};
use crate::{Desktop, DesktopError};

pub const ALPACA_PAPER_URL: &str = "https://paper-api.alpaca.markets";
pub const ALPACA_LIVE_URL: &str = "https://api.alpaca.markets";
/// Overrides the trading API's base URL (the stand-in server in tests, self-hosted proxies).
pub const ALPACA_URL_ENV: &str = "QUANTDESK_ALPACA_TRADING_URL";

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

fn link_error(e: LinkError) -> DesktopError {
    match e {
        LinkError::Keychain(k) => DesktopError::Keychain(k),
        other => DesktopError::Alpaca(other.to_string()),
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
        let (key_id, secret) = (link.key_id.trim(), link.secret.trim());
        let account_id = verify_key(&url, key_id, secret).await.map_err(link_error)?;
        let data_url = self.alpaca_url.clone().unwrap_or_else(|| {
            std::env::var("QUANTDESK_ALPACA_DATA_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_DATA_URL.to_string())
        });
        let feed = detect_feed(&data_url, key_id, secret).await;
        let linked = LinkedAlpaca {
            link: AlpacaLinkRecord {
                live: link.live,
                base_url: url,
                account_id,
                feed,
            },
            key_id: Secret::new(key_id.to_string()),
            secret: Secret::new(secret.to_string()),
        };
        let broker = self.alpaca_broker(&linked)?;
        linked
            .save(&self.store, self.secrets()?)
            .await
            .map_err(link_error)?;
        self.set_broker(broker);
        if let Err(err) = self.stream_stocks(&linked) {
            tracing::warn!(%err, "stocks are not streamed");
        }
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
            secrets.delete(ALPACA_KEY_ID_ENTRY)?;
            secrets.delete(ALPACA_SECRET_ENTRY)?;
            Ok(())
        })
        .await
        .map_err(|e| DesktopError::Alpaca(format!("the keychain could not be reached: {e}")))??;
        AlpacaLinkRecord::save(&self.store, None).await?;
        self.set_broker(Self::paper_broker(&self.store, &self.markets));
        self.markets.link_stocks(None);
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
        let stored = AlpacaLinkRecord::load(&self.store).await?;
        let active = self.desk().broker().name() == "alpaca";
        Ok(stored.map(|s| LinkedBroker {
            name: "alpaca".into(),
            label: "Alpaca".into(),
            mode: if s.live { "live" } else { "paper" }.into(),
            active,
            account: Some(s.account_id),
        }))
    }

    /// The linked account's market data (REST).
    fn alpaca_data(&self, linked: &LinkedAlpaca) -> Result<Arc<dyn MarketData>, DesktopError> {
        let mut config = AlpacaConfig::new(linked.key_id.expose(), linked.secret.expose());
        config.feed = linked.link.feed;
        if let Some(url) = &self.alpaca_url {
            config.data_url = url.clone();
        }
        let data = AlpacaProvider::new(config)
            .map_err(|e| DesktopError::Alpaca(format!("Alpaca market data: {e}")))?;
        Ok(Arc::new(CachedProvider::new(data, self.store.clone())))
    }

    /// The linked account as a broker, priced from Alpaca's own market data (its orders are
    /// checked against current quotes, not the bundled history).
    fn alpaca_broker(&self, linked: &LinkedAlpaca) -> Result<Arc<dyn Broker>, DesktopError> {
        let market = self.alpaca_data(linked)?;
        Ok(Arc::new(linked.broker(self.store.clone(), market)?))
    }

    /// Streams the linked account's stocks through the app's hub (the Watchlist takes stocks
    /// from now on).
    fn stream_stocks(&self, linked: &LinkedAlpaca) -> Result<(), DesktopError> {
        let data = self.alpaca_data(linked)?;
        let (key_id, secret) = (linked.key_id.expose(), linked.secret.expose());
        let mut config =
            AlpacaStreamConfig::from_env(key_id.into(), secret.into(), linked.link.feed)
                .map_err(|e| DesktopError::Alpaca(format!("Alpaca's market data stream: {e}")))?;
        if let Some(url) = &self.alpaca_url {
            config.data_url = url.clone();
        }
        if let Some(url) = &self.alpaca_stream_url {
            config.stream_url = url.clone();
        }
        let clock = AlpacaClock::new(&linked.link.base_url, key_id, secret)
            .map_err(|e| DesktopError::Alpaca(format!("Alpaca's market clock: {e}")))?;
        self.markets.link_stocks(Some((
            AlpacaUpstream {
                config,
                rest: data.clone(),
            },
            Stocks {
                data,
                hours: Arc::new(clock),
            },
        )));
        Ok(())
    }

    /// Trades through the linked Alpaca account if there is one and its key is in the keychain;
    /// otherwise stays on the paper broker (Home and Settings say which is active).
    pub(crate) async fn use_linked_broker(&self) {
        let found = async {
            match LinkedAlpaca::load(&self.store, SecretStore::from_env).await? {
                Some(linked) => {
                    if let Err(err) = self.stream_stocks(&linked) {
                        tracing::warn!(%err, "stocks are not streamed");
                    }
                    self.alpaca_broker(&linked).map(Some)
                }
                None => Ok(None),
            }
        };
        match found.await {
            Ok(Some(broker)) => self.set_broker(broker),
            Ok(None) => {}
            Err(err) => tracing::warn!(%err, "trading on the paper broker"),
        }
    }
}
