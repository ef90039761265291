//! `cargo xtask approve <id>` / `cargo xtask reject <id>` (debug builds only: a release build of
//! xtask has neither command): the person's click, for tests and development, until the desktop
//! app's approval window is the only way. It does what the app does — the decision goes through
//! the desk of the order's own broker, so an approval is checked by the guard again at this
//! moment and sent only if it still passes; an expired order is never sent. A waiting sidecar
//! sees the outcome in the store's order journal. This is a person's tool: no MCP tool can do
//! this. On a sealed desk it signs the decision with the app's seal key from the keychain, as the
//! app does — which shows what `THREAT_MODEL.md` says of Linux: any program of the person's that
//! can reach the Secret Service can do the same.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use quantdesk_broker::{AlpacaBroker, Broker, PaperBroker, PaperConfig};
use quantdesk_guard::seal::{self, SealKey};
use quantdesk_market::{AlpacaConfig, AlpacaProvider, BundledProvider, MarketData};
use quantdesk_secrets::SecretStore;
use quantdesk_store::Store;
use quantdesk_trading::Desk;

pub fn decide(id: &str, approve: bool, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    crate::link::on_store(data_dir, |store| async move {
        let order = quantdesk_guard::Guard::new(store.clone())
            .order(id)
            .await?
            .with_context(|| format!("there is no order '{id}'"))?;
        // The order's own broker: Alpaca's keys from the environment, as the sidecar has them.
        let broker: Arc<dyn Broker> = match order.broker.as_str() {
            "alpaca" => {
                let market: Arc<dyn MarketData> = Arc::new(alpaca_data()?);
                Arc::new(AlpacaBroker::from_env(store.clone(), market).await?)
            }
            _ => Arc::new(PaperBroker::new(
                store.clone(),
                Arc::new(BundledProvider::new()),
                PaperConfig::default(),
            )),
        };
        let key = seal_key(&store)?;
        let desk = Desk::new(store.clone(), broker, "xtask (standing in for the person)")
            .with_seal(key.as_ref().map(|k| k.check()));
        let signature = key.as_ref().map(|k| k.sign_decision(&order, approve));
        let signature = signature.as_deref();
        let by = "person (cargo xtask)";
        let answer = if approve {
            serde_json::to_value(desk.approve(id, by, signature).await?)?
        } else {
            let done = desk.reject(id, by, signature).await?;
            let order = desk.order(id).await?;
            serde_json::json!({ "rejected": done, "status": order.status })
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
        store.close().await;
        Ok(())
    })
}

/// The app's seal key, when the keychain holds one (a desk the app never opened has none).
fn seal_key(store: &Store) -> anyhow::Result<Option<SealKey>> {
    let name = seal::key_name(store);
    let found = match SecretStore::from_env().and_then(|s| s.get(&name)) {
        Ok(found) => found,
        // No keychain at all: the desk cannot have been sealed from this session either.
        Err(_) => return Ok(None),
    };
    found
        .map(|hex| SealKey::from_hex(hex.expose()))
        .transpose()
        .context("the settings seal key in the keychain is unreadable")
}

/// Alpaca market data for the guard's price checks, from the same environment as the sidecar.
fn alpaca_data() -> anyhow::Result<AlpacaProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(key_id), Some(secret)) = (var("APCA_API_KEY_ID"), var("APCA_API_SECRET_KEY")) else {
        anyhow::bail!("an Alpaca order needs APCA_API_KEY_ID and APCA_API_SECRET_KEY");
    };
    let mut config = AlpacaConfig::new(key_id, secret);
    if let Some(url) = var("QUANTDESK_ALPACA_DATA_URL") {
        config.data_url = url;
    }
    AlpacaProvider::new(config).context("configuring Alpaca market data")
}
