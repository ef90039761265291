//! What the QuantDesk desktop app shows and changes, without a window: the onboarding steps, the
//! Home screen (account, positions, today's P&L against the daily-loss limit, open orders,
//! pending approvals, the last tool calls, whether Claude Desktop is connected), the settings
//! (limits, approval policy, scopes, live trading, the kill switch, brokers), the approval
//! decisions, and the audit viewer (filters, search, CSV export, chain verification). The Tauri
//! shell in `src-tauri/` turns each public method of [`Desktop`] into a command of a few lines;
//! every view type here derives `specta::Type`, and the shell exports them, with each
//! command's typed wrapper, to `ui/src/bindings.ts` (tauri-specta), so neither the UI's types
//! nor its calls are written by hand. The crate itself stays free of Tauri.
//!
//! It must never return, log, audit or store a secret (account keys and broker secrets go
//! straight to the OS keychain), never decide whether an order passes a limit (that is the
//! guard's one job; here limits are only displayed and edited), never approve anything except on
//! a call that stands for the person's click, and never know anything of Tauri.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod alpaca;
mod approvals;
mod audit;
mod channel;
mod claude;
mod error;
mod fmt;
mod home;
mod markets;
mod onboarding;
mod platform;
mod seal;
mod settings;
mod update;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quantdesk_broker::{Broker, PaperBroker, PaperConfig};
use quantdesk_claude::ClaudeConfig;
use quantdesk_guard::seal::SealKey;
use quantdesk_market::{BundledProvider, MarketData};
use quantdesk_secrets::SecretStore;
use quantdesk_store::{AuditRecord, Store};
use quantdesk_trading::Desk;
use serde_json::Value;

pub use alpaca::{ALPACA_LIVE_URL, ALPACA_PAPER_URL, ALPACA_URL_ENV};
pub use approvals::{approval_card, rule_name};
pub use audit::csv_escape;
pub use error::{DesktopError, UiError};
pub use markets::LiveConfig;
pub use platform::OPEN_BROWSER_ENV;
pub use update::{UpdateInfo, UpdateProgress};

/// The actor the app's own audit entries carry.
pub const ACTOR: &str = "app";

/// Where things are, decided by the shell at start-up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data folder shared with the sidecar (`quantdesk.db`, `logs/`).
    pub data_dir: PathBuf,
    /// Claude Desktop's config file (found per OS by the shell, or given for tests).
    pub claude_config: PathBuf,
    /// The sidecar Claude Desktop should launch, by absolute path.
    pub sidecar: PathBuf,
}

/// The app's view of QuantDesk: one per running app.
#[derive(Debug, Clone)]
pub struct Desktop {
    store: Store,
    /// The desk over the broker in use: the linked Alpaca account, else the paper broker.
    /// Linking or unlinking swaps it.
    desk: Arc<std::sync::RwLock<Desk>>,
    claude: ClaudeConfig,
    sidecar: PathBuf,
    data_dir: PathBuf,
    waiting: Arc<channel::Waiting>,
    /// Alpaca's trading API base URL, when not the default (tests point it at the stand-in).
    alpaca_url: Option<String>,
    /// Alpaca's market data stream, when not the default or `QUANTDESK_ALPACA_STREAM_URL`.
    alpaca_stream_url: Option<String>,
    /// The browser sign-in in progress.
    sign_in: Arc<platform::SignInSlot>,
    /// The key that seals the limits, approval policy and live switch (see `seal`); `None`
    /// when the keychain cannot hold it.
    seal: Option<Arc<SealKey>>,
    /// The live stream, watchlist and alerts (`markets`).
    markets: Arc<markets::Markets>,
}

impl Desktop {
    /// Opens the store in `options.data_dir` (creating it) and the desk over the broker the
    /// sidecar also uses: the Alpaca account linked here, else the paper broker.
    pub async fn open(options: Options) -> Result<Self, DesktopError> {
        Self::open_with(options, LiveConfig::from_env()).await
    }

    /// [`open`](Self::open) with the live stream's endpoints given (tests point them at the
    /// Coinbase stand-in).
    pub async fn open_with(options: Options, live: LiveConfig) -> Result<Self, DesktopError> {
        let keychain = quantdesk_secrets::Backend::from_env()?;
        let store = Store::open_desk(&options.data_dir, keychain).await?;
        tracing::info!(at_rest = %store.at_rest(), "store opened");
        let seal = seal::open(&store).await.map(Arc::new);
        let markets = Arc::new(markets::Markets::start(&options.data_dir, &store, live).await?);
        let paper = Desk::new(store.clone(), Self::paper_broker(&store, &markets), ACTOR)
            .with_seal(seal.as_ref().map(|k| k.check()));
        let app = Self {
            store,
            desk: Arc::new(std::sync::RwLock::new(paper)),
            claude: ClaudeConfig::at(options.claude_config),
            sidecar: options.sidecar,
            data_dir: options.data_dir,
            waiting: Arc::default(),
            alpaca_url: None,
            alpaca_stream_url: None,
            sign_in: Arc::default(),
            seal,
            markets,
        };
        app.use_linked_broker().await;
        Ok(app)
    }

    /// Links Alpaca through `url` instead of Alpaca's own endpoints (its trading and its data
    /// API: tests point both at the stand-in).
    pub async fn with_alpaca_url(mut self, url: impl Into<String>) -> Self {
        self.alpaca_url = Some(url.into());
        self.use_linked_broker().await;
        self
    }

    /// Streams a linked account's stocks from `url` instead of Alpaca's market data stream
    /// (tests point it at the stand-in's websocket).
    pub async fn with_alpaca_stream_url(mut self, url: impl Into<String>) -> Self {
        self.alpaca_stream_url = Some(url.into());
        self.use_linked_broker().await;
        self
    }

    /// The paper broker the sidecars use too: the bundled replay, crypto at live prices.
    fn paper_broker(store: &Store, markets: &markets::Markets) -> Arc<dyn Broker> {
        let market: Arc<dyn MarketData> = Arc::new(BundledProvider::new());
        Arc::new(
            PaperBroker::new(store.clone(), market, PaperConfig::default())
                .with_live_crypto(markets.crypto.clone()),
        )
    }

    /// The desk as it is now (a cheap clone: it shares the broker and the store).
    fn desk(&self) -> Desk {
        self.desk
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_broker(&self, broker: Arc<dyn Broker>) {
        let desk = Desk::new(self.store.clone(), broker, ACTOR)
            .with_seal(self.seal.as_ref().map(|k| k.check()));
        *self
            .desk
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = desk;
    }

    /// The public half of the app's settings seal, as the sidecar reads it from the keychain:
    /// what a desk over this store verifies the limits with.
    pub fn seal_check(&self) -> Option<quantdesk_guard::seal::SealCheck> {
        self.seal.as_ref().map(|k| k.check())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The keychain, opened only when a secret is about to be stored or removed.
    fn secrets(&self) -> Result<SecretStore, DesktopError> {
        Ok(SecretStore::from_env()?)
    }

    /// One entry in the audit log, as the app. `detail` must never hold a secret.
    async fn audit(
        &self,
        kind: &str,
        outcome: &str,
        symbol: Option<&str>,
        detail: Value,
    ) -> Result<(), DesktopError> {
        self.store
            .append_audit(&AuditRecord {
                actor: ACTOR.into(),
                kind: kind.into(),
                tool: None,
                symbol: symbol.map(str::to_string),
                args: serde_json::json!({}),
                outcome: outcome.into(),
                detail,
            })
            .await?;
        Ok(())
    }
}
