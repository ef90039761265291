//! `cargo xtask approve <id>` / `cargo xtask reject <id>`: the person's click, until the desktop
//! app's approval window is the only way. It does what the app does — the decision goes through
//! the desk, so an approval is checked by the guard again at this moment and sent only if it
//! still passes; an expired order is never sent. A waiting sidecar sees the outcome in the
//! store's order journal. This is a person's tool: no MCP tool can do this.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use quantdesk_broker::{Desk, PaperBroker, PaperConfig};
use quantdesk_market::BundledProvider;
use quantdesk_store::Store;

pub fn decide(id: &str, approve: bool, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let data_dir = quantdesk_store::resolve_data_dir(data_dir)?;
        let store = Store::open_in(&data_dir)
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        // The built-in paper broker is the only one an approval can be sent to from here until
        // linked brokers' keys come from the keychain.
        let paper = Arc::new(PaperBroker::new(
            store.clone(),
            Arc::new(BundledProvider::new()),
            PaperConfig::default(),
        ));
        let desk = Desk::new(store.clone(), paper, "xtask (standing in for the person)");
        let by = "person (cargo xtask)";
        let answer = if approve {
            serde_json::to_value(desk.approve(id, by).await?)?
        } else {
            let done = desk.reject(id, by).await?;
            let order = desk.order(id).await?;
            serde_json::json!({ "rejected": done, "status": order.status })
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
        store.close().await;
        Ok(())
    })
}
