//! A sealed desk acts only on decisions the app signed: an unsigned or forged approval or
//! rejection is refused and the order keeps waiting; a signature for one order or verdict says
//! nothing about another.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::seal::SealKey;
use quantdesk_guard::{
    APPROVAL_SETTING, Admission, ApprovalPolicy, Guard, GuardError, MarketFacts, PricePoint, Venue,
};
use quantdesk_store::Store;
use rust_decimal_macros::dec;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2013-01-02T15:00:00Z")
        .unwrap()
        .to_utc()
}

fn paper() -> Venue {
    Venue {
        broker: "paper".into(),
        live: false,
    }
}

fn market() -> MarketFacts {
    MarketFacts {
        last: Some(PricePoint {
            price: dec!(700),
            at: t0(),
        }),
        market_now: t0(),
        market_open: true,
        session_date: NaiveDate::from_ymd_opt(2013, 1, 2).unwrap(),
        equity: dec!(100000),
        position_qty: None,
    }
}

fn buy(qty: Decimal) -> OrderRequest {
    OrderRequest::market(Symbol::parse("GOOG").unwrap(), Side::Buy, qty)
}

/// Order `id` asks the person and waits.
async fn pending(guard: &Guard, id: &str, qty: Decimal) {
    let a = guard
        .admit(&paper(), &buy(qty), Some(id), &market(), t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::PendingApproval { .. }), "{a:?}");
}

async fn approve(guard: &Guard, id: &str, sig: Option<String>) -> Result<Admission, GuardError> {
    guard
        .admit_approved(&paper(), id, "test", sig.as_deref(), &market(), t0())
        .await
}

/// A desk sealed by the app's key that asks the person about every order.
async fn sealed_desk() -> (tempfile::TempDir, Store, SealKey, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let key = SealKey::generate().unwrap();
    key.seal_current(&store).await.unwrap();
    key.write(&store, APPROVAL_SETTING, &ApprovalPolicy::Always)
        .await
        .unwrap();
    let guard = Guard::new(store.clone()).with_seal(Some(key.check()));
    (dir, store, key, guard)
}

async fn status(guard: &Guard, id: &str) -> OrderStatus {
    guard.order(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn an_unsigned_or_forged_approval_leaves_the_order_waiting() {
    let (_dir, _store, key, guard) = sealed_desk().await;
    pending(&guard, "a1", dec!(1)).await;
    pending(&guard, "a2", dec!(2)).await;
    let a1 = guard.order("a1").await.unwrap().unwrap();
    let a2 = guard.order("a2").await.unwrap().unwrap();
    // No signature at all.
    let err = approve(&guard, "a1", None).await.unwrap_err();
    assert!(
        matches!(&err, GuardError::UnsignedDecision { client_order_id, verdict }
            if client_order_id == "a1" && *verdict == "approval"),
        "{err:?}"
    );
    // Signed by a key that is not the app's.
    let other = SealKey::generate().unwrap();
    assert!(
        approve(&guard, "a1", Some(other.sign_decision(&a1, true)))
            .await
            .is_err()
    );
    // The app's signature, but over another order, or over the other verdict.
    assert!(
        approve(&guard, "a1", Some(key.sign_decision(&a2, true)))
            .await
            .is_err()
    );
    assert!(
        approve(&guard, "a1", Some(key.sign_decision(&a1, false)))
            .await
            .is_err()
    );
    // Garbage.
    assert!(
        approve(&guard, "a1", Some("not a signature".into()))
            .await
            .is_err()
    );
    assert_eq!(status(&guard, "a1").await, OrderStatus::PendingApproval);

    // The app's signature over this order's approval: admitted.
    let a = approve(&guard, "a1", Some(key.sign_decision(&a1, true)))
        .await
        .unwrap();
    assert!(matches!(a, Admission::Accepted { .. }), "{a:?}");
    assert_eq!(status(&guard, "a1").await, OrderStatus::Accepted);

    // A rejection needs the app's signature just the same.
    let err = guard.reject("a2", "test", None, t0()).await.unwrap_err();
    assert!(
        matches!(&err, GuardError::UnsignedDecision { verdict, .. } if *verdict == "rejection"),
        "{err:?}"
    );
    let wrong = key.sign_decision(&a2, true);
    assert!(
        guard
            .reject("a2", "test", Some(&wrong), t0())
            .await
            .is_err()
    );
    assert_eq!(status(&guard, "a2").await, OrderStatus::PendingApproval);
    let right = key.sign_decision(&a2, false);
    assert!(
        guard
            .reject("a2", "test", Some(&right), t0())
            .await
            .unwrap()
    );
    assert_eq!(status(&guard, "a2").await, OrderStatus::RejectedByPerson);
}

#[tokio::test]
async fn a_desk_never_sealed_takes_the_persons_tools_at_their_word() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    quantdesk_guard::set_approval_policy(&store, &ApprovalPolicy::Always)
        .await
        .unwrap();
    let guard = Guard::new(store.clone());
    let a = guard
        .admit(&paper(), &buy(dec!(1)), Some("u1"), &market(), t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::PendingApproval { .. }), "{a:?}");
    let a = guard
        .admit_approved(&paper(), "u1", "test", None, &market(), t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::Accepted { .. }), "{a:?}");
}
