//! The app's logic without a window: each test reads like a line of issue 7.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::path::Path;
use std::sync::Arc;

use quantdesk_broker::{PaperBroker, PaperConfig};
use quantdesk_desktop::views::{ApprovalForm, AuditQuery, OnboardingStep};
use quantdesk_desktop::{Desktop, DesktopError, Options};
use quantdesk_domain::{OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::ApprovalPolicy;
use quantdesk_market::BundledProvider;
use quantdesk_trading::Desk;
use rust_decimal_macros::dec;

async fn desktop(dir: &Path) -> Desktop {
    Desktop::open(Options {
        data_dir: dir.join("data"),
        claude_config: dir.join("Claude").join("claude_desktop_config.json"),
        sidecar: dir.join("bin").join("quantdesk-mcp"),
    })
    .await
    .unwrap()
}

/// A sidecar's desk over the same store: what Claude's `place_order` goes through.
async fn sidecar_desk(app: &Desktop) -> Desk {
    let store = app.store().clone();
    let paper = Arc::new(PaperBroker::new(
        store.clone(),
        Arc::new(BundledProvider::new()),
        PaperConfig::default(),
    ));
    Desk::new(store, paper, "mcp:test").with_seal(app.seal_check())
}

/// The person sets approvals to "always" in the app (a sealed write, as the settings screen does).
async fn always_ask(app: &Desktop) {
    let form = ApprovalForm::from_policy(&ApprovalPolicy::Always);
    app.save_approval_policy(&form).await.unwrap();
}

fn goog() -> Symbol {
    Symbol::parse("GOOG").unwrap()
}

/// Approvals set to "always", then a 1-unit GOOG market buy `id` placed through `sidecar`: an
/// order waiting for the person.
async fn place_waiting(app: &Desktop, sidecar: &Desk, id: &str) {
    always_ask(app).await;
    let placed = sidecar
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(1)), Some(id))
        .await
        .unwrap();
    assert_eq!(placed.outcome, "pending_approval", "{placed:?}");
}

mod approvals;
mod setup;
