//! A fill is never reported as a failure: when the audit log cannot be written after the broker
//! filled (a fault hook breaks it right after the fill), the answer still says "filled", adds
//! that the audit entry is pending, the entry waits in the store's pending file, and the next
//! start writes it into an intact chain.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::Arc;

use async_trait::async_trait;
use quantdesk_broker::{
    AccountInfo, Broker, BrokerError, BrokerEvent, MarketClock, PaperBroker, PaperConfig,
    PositionInfo, Sent,
};
use quantdesk_domain::{OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::{OrderRecord, PricePoint};
use quantdesk_market::BundledProvider;
use quantdesk_store::{AuditFilter, Store};
use quantdesk_trading::Desk;
use rust_decimal_macros::dec;

/// The paper broker, with a fault hook: right after it fills an order, every audit append
/// fails (a trigger on the audit table, as a failing disk or a locked database would).
#[derive(Debug)]
struct BreaksAuditAfterFill {
    inner: PaperBroker,
    store: Store,
}

async fn break_audit(store: &Store) {
    sqlx::query(
        "CREATE TRIGGER IF NOT EXISTS fail_audit BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error (fault hook)'); END",
    )
    .execute(store.pool())
    .await
    .expect("fault hook");
}

#[async_trait]
impl Broker for BreaksAuditAfterFill {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn live(&self) -> bool {
        self.inner.live()
    }
    fn positions_in_store(&self) -> bool {
        self.inner.positions_in_store()
    }
    async fn clock(&self) -> Result<MarketClock, BrokerError> {
        self.inner.clock().await
    }
    async fn last_price(&self, symbol: &Symbol) -> Result<Option<PricePoint>, BrokerError> {
        self.inner.last_price(symbol).await
    }
    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        self.inner.account().await
    }
    async fn positions(&self) -> Result<Vec<PositionInfo>, BrokerError> {
        self.inner.positions().await
    }
    async fn submit(&self, order: &OrderRecord) -> Result<Sent, BrokerError> {
        let sent = self.inner.submit(order).await?;
        break_audit(&self.store).await;
        Ok(sent)
    }
    async fn cancel(&self, order: &OrderRecord) -> Result<(), BrokerError> {
        self.inner.cancel(order).await
    }
    async fn lookup(&self, order: &OrderRecord) -> Result<Option<Sent>, BrokerError> {
        self.inner.lookup(order).await
    }
    async fn sync(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        self.inner.sync().await
    }
}

#[tokio::test]
async fn a_fill_whose_audit_entry_cannot_be_written_is_answered_as_filled_and_recorded_later() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let broker = Arc::new(BreaksAuditAfterFill {
        inner: PaperBroker::new(
            store.clone(),
            Arc::new(BundledProvider::new()),
            PaperConfig::default(),
        ),
        store: store.clone(),
    });
    let desk = Desk::new(store.clone(), broker, "test");
    let goog = Symbol::parse("GOOG").unwrap();
    let placed = desk
        .place(
            &OrderRequest::market(goog, Side::Buy, dec!(10)),
            Some("fill-1"),
        )
        .await
        .expect("a fill is not an error");
    assert_eq!(placed.outcome, "filled", "{placed:?}");
    assert!(
        placed.message.starts_with("filled 10 GOOG at "),
        "{}",
        placed.message
    );
    assert!(
        placed.message.contains("its audit entry is pending")
            && placed.message.contains("disk I/O error (fault hook)")
            && placed.message.contains("when it next starts"),
        "{}",
        placed.message
    );
    assert_eq!(
        desk.order("fill-1").await.unwrap().status,
        OrderStatus::Filled
    );
    assert_eq!(desk.positions().await.unwrap()[0].qty, dec!(10));

    // Waiting, where the app can list it; not in the log yet.
    let waiting = store.pending_audit().unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert_eq!(
        (
            waiting[0].record.kind.as_str(),
            waiting[0].record.outcome.as_str()
        ),
        ("order", "filled")
    );
    assert_eq!(waiting[0].record.detail["client_order_id"], "fill-1");
    let logged = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert!(!logged.iter().any(|e| e.outcome == "filled"));

    // The store mends; the next start writes the entry.
    sqlx::query("DROP TRIGGER fail_audit")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let next = Store::open_in(dir.path()).await.unwrap();
    assert!(next.pending_audit().unwrap().is_empty());
    let logged = next.audit_entries(&AuditFilter::default()).await.unwrap();
    let filled = logged
        .iter()
        .find(|e| e.outcome == "filled")
        .expect("the fill's entry");
    assert_eq!(filled.detail["client_order_id"], "fill-1");
    assert_eq!(filled.detail["deferred"]["id"], waiting[0].id);
    assert!(next.verify_audit().await.unwrap().intact());
}
