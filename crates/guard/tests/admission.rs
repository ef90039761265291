//! Admission against a real store: check and reservation in one transaction, across handles
//! (two handles on one file behave like two processes), approvals, expiry and retries.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, Duration, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::{
    Admission, ApprovalPolicy, Guard, Limits, MarketFacts, PricePoint, Rule, Venue,
    set_approval_policy, set_limits,
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

fn market(price: Decimal) -> MarketFacts {
    MarketFacts {
        last: Some(PricePoint { price, at: t0() }),
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

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn an_order_over_max_order_value_is_refused_and_recorded() {
    let (_dir, store) = store().await;
    let guard = Guard::new(store);
    let a = guard
        .admit(&paper(), &buy(dec!(20)), None, &market(dec!(700)), t0())
        .await
        .unwrap();
    let Admission::Refused { refusal, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(refusal.rule, Rule::MaxOrderValue);
    assert!(
        refusal.message.contains("$10000") && refusal.message.contains("$14000"),
        "{}",
        refusal.message
    );
    assert_eq!(guard.refusals(10).await.unwrap().len(), 1);
    assert_eq!(guard.reserved_notional().await.unwrap(), Decimal::ZERO);
}

#[tokio::test]
async fn a_retried_request_is_the_same_order() {
    let (_dir, store) = store().await;
    let guard = Guard::new(store);
    let first = guard
        .admit(&paper(), &buy(dec!(1)), None, &market(dec!(700)), t0())
        .await
        .unwrap();
    assert!(matches!(first, Admission::Accepted { .. }));
    // Same request a minute later, and across the ten-minute window edge: a retry.
    for later in [Duration::minutes(1), Duration::minutes(11)] {
        let again = guard
            .admit(
                &paper(),
                &buy(dec!(1)),
                None,
                &market(dec!(700)),
                t0() + later,
            )
            .await
            .unwrap();
        assert!(matches!(again, Admission::Duplicate { .. }), "{again:?}");
    }
    // A caller's own id for a deliberate repeat is a new order.
    let repeat = guard
        .admit(
            &paper(),
            &buy(dec!(1)),
            Some("mine-2"),
            &market(dec!(700)),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(repeat, Admission::Accepted { .. }));
    assert_eq!(guard.reserved_notional().await.unwrap(), dec!(1400));
}

/// Sixteen orders, from two handles at once, each just under the position limit: exactly one
/// gets through, and the reserved exposure never exceeds the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_orders_never_jointly_pass_a_limit() {
    let (dir, first) = store().await;
    let second = Store::open_in(dir.path()).await.unwrap();
    set_limits(
        &first,
        &Limits {
            max_order_value: Some(dec!(30000)),
            max_orders_per_minute: None,
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    for round in 0..5 {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let guard = Guard::new(if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            });
            tasks.push(tokio::spawn(async move {
                // $24,500 of a $25,000 position limit.
                guard
                    .admit(
                        &paper(),
                        &buy(dec!(35)),
                        Some(&format!("r{round}-{i}")),
                        &market(dec!(700)),
                        t0(),
                    )
                    .await
                    .unwrap()
            }));
        }
        let mut accepted = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Admission::Accepted { .. }) {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "round {round}");
        let guard = Guard::new(first.clone());
        assert!(guard.reserved_notional().await.unwrap() <= dec!(25000));
        // Cancel the winner so the next round starts empty.
        for o in guard.orders(&[OrderStatus::Accepted], 100).await.unwrap() {
            guard
                .transition(
                    &o.client_order_id,
                    &[OrderStatus::Accepted],
                    OrderStatus::Canceled,
                    &Default::default(),
                    t0(),
                )
                .await
                .unwrap();
        }
        assert_eq!(guard.reserved_notional().await.unwrap(), Decimal::ZERO);
    }
}

#[tokio::test]
async fn an_approved_order_is_checked_again_and_an_expired_one_never_passes() {
    let (_dir, store) = store().await;
    set_approval_policy(&store, &ApprovalPolicy::Always)
        .await
        .unwrap();
    let guard = Guard::new(store.clone());
    let Admission::PendingApproval { order, .. } = guard
        .admit(
            &paper(),
            &buy(dec!(10)),
            Some("p1"),
            &market(dec!(700)),
            t0(),
        )
        .await
        .unwrap()
    else {
        panic!("not pending")
    };
    assert_eq!(order.status, OrderStatus::PendingApproval);
    // Nothing is reserved while it waits.
    assert_eq!(guard.reserved_notional().await.unwrap(), Decimal::ZERO);
    // Approved later, when the price has moved so the order is now over the limit: refused.
    let a = guard
        .admit_approved(&paper(), "p1", "xtask", None, &market(dec!(1100)), t0())
        .await
        .unwrap();
    assert!(
        matches!(&a, Admission::Refused { refusal, .. } if refusal.rule == Rule::MaxOrderValue),
        "{a:?}"
    );
    assert_eq!(
        guard.order("p1").await.unwrap().unwrap().status,
        OrderStatus::RejectedByGuard
    );

    // A second one approved in time at a fine price: accepted and reserved.
    guard
        .admit(
            &paper(),
            &buy(dec!(10)),
            Some("p2"),
            &market(dec!(700)),
            t0(),
        )
        .await
        .unwrap();
    let a = guard
        .admit_approved(&paper(), "p2", "xtask", None, &market(dec!(700)), t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::Accepted { .. }), "{a:?}");
    assert_eq!(guard.reserved_notional().await.unwrap(), dec!(7000));
    // Approving again changes nothing.
    let again = guard
        .admit_approved(&paper(), "p2", "xtask", None, &market(dec!(700)), t0())
        .await
        .unwrap();
    assert!(matches!(again, Admission::Duplicate { .. }));

    // A third expires: the sweep marks it, and a late approval cannot revive it.
    guard
        .admit(
            &paper(),
            &buy(dec!(1)),
            Some("p3"),
            &market(dec!(700)),
            t0(),
        )
        .await
        .unwrap();
    let late = t0() + Duration::minutes(16);
    let expired = guard.expire_pending(late).await.unwrap();
    assert_eq!(expired.len(), 1);
    let a = guard
        .admit_approved(&paper(), "p3", "xtask", None, &market(dec!(700)), late)
        .await
        .unwrap();
    assert!(
        matches!(&a, Admission::Duplicate { order } if order.status == OrderStatus::ApprovalExpired)
    );

    // A fourth is rejected by the person.
    guard
        .admit(
            &paper(),
            &buy(dec!(1)),
            Some("p4"),
            &market(dec!(700)),
            t0(),
        )
        .await
        .unwrap();
    assert!(guard.reject("p4", "xtask", None, t0()).await.unwrap());
    assert!(!guard.reject("p4", "xtask", None, t0()).await.unwrap());
}

#[tokio::test]
async fn the_kill_switch_refuses_everything() {
    let (_dir, store) = store().await;
    set_limits(
        &store,
        &Limits {
            kill_switch: true,
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    let guard = Guard::new(store);
    let a = guard
        .admit(&paper(), &buy(dec!(1)), None, &market(dec!(700)), t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::Refused { refusal, .. } if refusal.rule == Rule::KillSwitch));
}

#[tokio::test]
async fn live_orders_are_refused_until_the_person_turns_live_on() {
    let (_dir, store) = store().await;
    let guard = Guard::new(store.clone());
    let live = Venue {
        broker: "alpaca".into(),
        live: true,
    };
    let mut m = market(dec!(700));
    m.position_qty = Some(Decimal::ZERO);
    let a = guard
        .admit(&live, &buy(dec!(1)), None, &m, t0())
        .await
        .unwrap();
    assert!(
        matches!(a, Admission::Refused { refusal, .. } if refusal.rule == Rule::LiveTradingOff)
    );
    store
        .set_setting(quantdesk_guard::LIVE_TRADING_SETTING, &true)
        .await
        .unwrap();
    // With live on, the default policy holds every live order for the person.
    let a = guard
        .admit(&live, &buy(dec!(1)), Some("l2"), &m, t0())
        .await
        .unwrap();
    assert!(matches!(a, Admission::PendingApproval { .. }), "{a:?}");
}
