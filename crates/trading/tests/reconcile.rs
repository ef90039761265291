//! The desk's second chances, on the paper broker: reconciliation of orders a dead process
//! stranded, and what a sealed desk demands of a decision or a late send.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side};
use quantdesk_guard::{ApprovalPolicy, Limits, set_approval_policy, set_limits};
use quantdesk_store::Store;
use quantdesk_trading::Desk;
use rust_decimal_macros::dec;

mod support;
use support::{desk, goog};

/// Places `id` (2 GOOG), approves it through the guard only, then strands it as a dead process
/// would: claimed (`sending`) long ago, never sent.
async fn strand(store: &Store, desk: &Desk, id: &str) {
    set_approval_policy(store, &ApprovalPolicy::Always)
        .await
        .unwrap();
    let placed = desk
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(2)), Some(id))
        .await
        .unwrap();
    assert_eq!(placed.outcome, "pending_approval");
    set_limits(store, &Limits::default()).await.unwrap();
    approve_in_guard(desk, id, None).await;
    claimed_by_a_dead_process(store, id).await;
}

fn paper_venue() -> quantdesk_guard::Venue {
    quantdesk_guard::Venue {
        broker: "paper".into(),
        live: false,
    }
}

/// The person's approval as the guard takes it (no send: the order stays `accepted`).
async fn approve_in_guard(desk: &Desk, id: &str, signature: Option<&str>) {
    let clock = desk.broker().clock().await.unwrap();
    let market = quantdesk_guard::MarketFacts {
        last: desk.broker().last_price(&goog()).await.unwrap(),
        market_now: clock.now,
        market_open: true,
        session_date: clock.session_date,
        equity: dec!(100000),
        position_qty: None,
    };
    let now = chrono::Utc::now();
    let admitted = desk
        .guard()
        .admit_approved(&paper_venue(), id, "test", signature, &market, now)
        .await
        .unwrap();
    assert!(
        matches!(admitted, quantdesk_guard::Admission::Accepted { .. }),
        "{admitted:?}"
    );
}

/// Order `id` as a process that died after claiming it leaves it — or as another program
/// writes it straight into the journal.
async fn claimed_by_a_dead_process(store: &Store, id: &str) {
    sqlx::query(
        "UPDATE orders SET status = 'sending', sending_by = 'dead', \
         sending_at = '2000-01-01T00:00:00.000000Z', updated_at = '2000-01-01T00:00:00.000000Z' \
         WHERE client_order_id = ?",
    )
    .bind(id)
    .execute(store.pool())
    .await
    .unwrap();
}

async fn paper_fills(store: &Store) -> i64 {
    let (fills,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM paper_fills")
        .fetch_one(store.pool())
        .await
        .unwrap();
    fills
}

/// A process that died after claiming an order (`sending`) leaves it for the next start:
/// reconciliation sends it exactly once.
#[tokio::test]
async fn reconcile_sends_a_stranded_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _paper, desk) = desk(dir.path()).await;
    strand(&store, &desk, "stranded").await;
    let done = desk.reconcile().await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, OrderStatus::Filled);
    assert!(desk.reconcile().await.unwrap().is_empty());
    assert_eq!(paper_fills(&store).await, 1);
    assert_eq!(desk.positions().await.unwrap()[0].qty, dec!(2));
}

/// A stranded order is checked against the rules as they are now before it is sent late: the
/// kill switch pulled while it was stranded (or a row another program wrote straight into the
/// journal) does not reach the broker.
#[tokio::test]
async fn reconcile_checks_a_stranded_order_again_before_a_late_send() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _paper, desk) = desk(dir.path()).await;
    strand(&store, &desk, "late").await;
    let stop = Limits {
        kill_switch: true,
        ..Limits::default()
    };
    set_limits(&store, &stop).await.unwrap();
    let done = desk.reconcile().await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        done[0].status,
        OrderStatus::RejectedByGuard,
        "{:?}",
        done[0]
    );
    let reason = done[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("checked again before a late send"),
        "{reason}"
    );
    assert_eq!(paper_fills(&store).await, 0);
    assert_eq!(
        desk.guard().reserved_notional().await.unwrap(),
        Decimal::ZERO
    );
    let logged = store
        .audit_entries(&quantdesk_store::AuditFilter::default())
        .await
        .unwrap();
    assert!(
        logged
            .iter()
            .any(|e| e.outcome == "refused_before_late_send"),
        "{logged:#?}"
    );
    assert!(desk.reconcile().await.unwrap().is_empty());
}
#[tokio::test]
async fn a_sealed_desk_refuses_and_logs_a_decision_the_app_did_not_sign() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _paper, desk) = desk(dir.path()).await;
    let key = quantdesk_guard::seal::SealKey::generate().unwrap();
    key.seal_current(&store).await.unwrap();
    key.write(
        &store,
        quantdesk_guard::APPROVAL_SETTING,
        &ApprovalPolicy::Always,
    )
    .await
    .unwrap();
    let desk = desk.with_seal(Some(key.check()));
    let placed = desk
        .place(
            &OrderRequest::market(goog(), Side::Buy, dec!(1)),
            Some("s1"),
        )
        .await
        .unwrap();
    assert_eq!(placed.outcome, "pending_approval", "{placed:?}");
    let order = placed.order.unwrap();

    // A shell tool approves without the app's signature: refused, logged, still waiting.
    let err = desk.approve("s1", "a shell", None).await.unwrap_err();
    assert!(err.to_string().contains("not signed"), "{err}");
    let forged = quantdesk_guard::seal::SealKey::generate()
        .unwrap()
        .sign_decision(&order, true);
    assert!(desk.approve("s1", "a shell", Some(&forged)).await.is_err());
    assert!(desk.reject("s1", "a shell", None).await.is_err());
    assert_eq!(
        desk.order("s1").await.unwrap().status,
        OrderStatus::PendingApproval
    );
    let logged = store
        .audit_entries(&quantdesk_store::AuditFilter::default())
        .await
        .unwrap();
    let refused: Vec<_> = logged
        .iter()
        .filter(|e| e.outcome == "decision_refused")
        .collect();
    assert_eq!(refused.len(), 3, "{logged:#?}");
    assert_eq!(refused[0].detail["by"], "a shell");
    assert!(!logged.iter().any(|e| e.outcome == "approved"));

    // The app's own signature: approved and filled.
    let signed = key.sign_decision(&order, true);
    let placed = desk.approve("s1", "the app", Some(&signed)).await.unwrap();
    assert_eq!(placed.outcome, "filled", "{placed:?}");
    assert!(store.verify_audit().await.unwrap().intact());
}

/// On a sealed desk whose approval policy holds orders for the person, a late send needs the
/// app's signed approval kept in the journal: a pending order another program moved straight
/// to `sending` is refused (rule `approval_signature`) and never reaches the broker; an order
/// the person approved in the app, stranded the same way, is sent.
#[tokio::test]
async fn a_late_send_on_a_sealed_desk_needs_the_apps_signed_approval() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _paper, desk) = desk(dir.path()).await;
    let key = quantdesk_guard::seal::SealKey::generate().unwrap();
    key.seal_current(&store).await.unwrap();
    key.write(
        &store,
        quantdesk_guard::APPROVAL_SETTING,
        &ApprovalPolicy::Always,
    )
    .await
    .unwrap();
    let desk = desk.with_seal(Some(key.check()));
    let buy = OrderRequest::market(goog(), Side::Buy, dec!(1));
    for id in ["forged", "approved"] {
        let placed = desk.place(&buy, Some(id)).await.unwrap();
        assert_eq!(placed.outcome, "pending_approval", "{placed:?}");
    }
    claimed_by_a_dead_process(&store, "forged").await;
    let order = desk.order("approved").await.unwrap();
    approve_in_guard(&desk, "approved", Some(&key.sign_decision(&order, true))).await;
    claimed_by_a_dead_process(&store, "approved").await;

    let done = desk.reconcile().await.unwrap();
    let status = |id: &str| {
        done.iter()
            .find(|o| o.client_order_id == id)
            .map(|o| (o.status, o.reason.clone().unwrap_or_default()))
            .unwrap()
    };
    let (forged, why) = status("forged");
    assert_eq!(forged, OrderStatus::RejectedByGuard, "{why}");
    assert!(why.contains("no approval the app signed"), "{why}");
    assert_eq!(status("approved").0, OrderStatus::Filled);
    assert_eq!(
        paper_fills(&store).await,
        1,
        "only the approved order reached the broker"
    );
    let refused = desk.guard().refusals(10).await.unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r.client_order_id == "forged" && r.rule == "approval_signature"),
        "{refused:?}"
    );
}
