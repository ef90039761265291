//! `cargo xtask link-alpaca`: links an Alpaca paper account without the desktop app (a headless
//! machine, a test), exactly as the app's Settings do — the key is checked with an account call,
//! kept in the OS keychain, and only the link (endpoint, account id) is recorded in the store.
//! Every sidecar started afterwards trades on it and streams its stocks. Live accounts are
//! linked in the app only, where the person sees what live means.

use std::path::PathBuf;

use anyhow::Context as _;
use quantdesk_broker::{ALPACA_PAPER_URL, AlpacaLinkRecord, LinkedAlpaca, detect_feed, verify_key};
use quantdesk_secrets::{Secret, SecretStore};
use quantdesk_store::Store;

/// Runs `work` on the store of `data_dir` (default: QUANTDESK_DATA_DIR or the per-user one),
/// opened as the app and the sidecar open it, in a runtime of its own.
pub fn on_store<T, F, Fut>(data_dir: Option<PathBuf>, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let data_dir = quantdesk_store::resolve_data_dir(data_dir)?;
        let store = Store::open_desk(&data_dir, quantdesk_secrets::Backend::from_env()?)
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        work(store).await
    })
}

pub fn link_alpaca(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(key_id), Some(secret)) = (var("APCA_API_KEY_ID"), var("APCA_API_SECRET_KEY")) else {
        anyhow::bail!("set APCA_API_KEY_ID and APCA_API_SECRET_KEY to the paper account's key");
    };
    let url = var("QUANTDESK_ALPACA_TRADING_URL").unwrap_or_else(|| ALPACA_PAPER_URL.to_string());
    on_store(data_dir, |store| async move {
        let (key_id, secret) = (key_id.trim(), secret.trim());
        let account_id = verify_key(&url, key_id, secret).await?;
        let data_url = var("QUANTDESK_ALPACA_DATA_URL")
            .unwrap_or_else(|| quantdesk_market::DEFAULT_DATA_URL.to_string());
        let feed = detect_feed(&data_url, key_id, secret).await;
        let linked = LinkedAlpaca {
            link: AlpacaLinkRecord {
                live: false,
                base_url: url,
                account_id: account_id.clone(),
                feed,
            },
            key_id: Secret::new(key_id.to_string()),
            secret: Secret::new(secret.to_string()),
        };
        linked
            .save(&store, SecretStore::from_env()?)
            .await
            .context("keeping the link")?;
        eprintln!("linked the Alpaca paper account {account_id} (stocks on the {feed} feed)");
        Ok(())
    })
}
