//! What the paper-desk tests share: the symbol they trade and a desk on a fresh store.

use std::sync::Arc;

use quantdesk_broker::{PaperBroker, PaperConfig};
use quantdesk_domain::Symbol;
use quantdesk_market::BundledProvider;
use quantdesk_store::Store;
use quantdesk_trading::Desk;

pub fn goog() -> Symbol {
    Symbol::parse("GOOG").unwrap()
}

/// A paper desk (bundled history, default config) on a store in `dir`.
pub async fn desk(dir: &std::path::Path) -> (Store, Arc<PaperBroker>, Desk) {
    let store = Store::open_in(dir).await.unwrap();
    let paper = Arc::new(PaperBroker::new(
        store.clone(),
        Arc::new(BundledProvider::new()),
        PaperConfig::default(),
    ));
    let desk = Desk::new(store.clone(), paper.clone(), "test");
    (store, paper, desk)
}
