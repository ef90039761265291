//! The same property as `properties.rs`, through the real admission transaction and store:
//! random sequences of orders, fills (position rows written as the paper broker writes them) and
//! price moves. After every step the store's own state — positions plus open reservations —
//! stays inside the position limit, and once the day's loss reaches its limit no risk-increasing
//! order is admitted.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::{Admission, Guard, Limits, MarketFacts, PricePoint, Venue, set_limits};
use quantdesk_store::Store;
use rust_decimal_macros::dec;

#[derive(Debug, Clone)]
enum Step {
    Order { buy: bool, qty: u32 },
    FillOldest,
    Move { pct: i32 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<bool>(), 1u32..40).prop_map(|(buy, qty)| Step::Order { buy, qty }),
        2 => Just(Step::FillOldest),
        2 => (-10i32..10).prop_map(|pct| Step::Move { pct }),
    ]
}

fn limits() -> Limits {
    Limits {
        max_order_value: Some(dec!(15000)),
        max_position_value: Some(dec!(25000)),
        max_position_pct_of_equity: None,
        max_daily_loss: Some(dec!(1500)),
        max_orders_per_minute: None,
        ..Limits::default()
    }
}

async fn position(store: &Store) -> Decimal {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT qty FROM paper_positions WHERE symbol = 'GOOG'")
            .fetch_optional(store.pool())
            .await
            .unwrap();
    row.map_or(Decimal::ZERO, |(q,)| q.parse().unwrap())
}

async fn reserved_buys(store: &Store) -> Decimal {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT signed_qty FROM order_reservations")
        .fetch_all(store.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|(q,)| q.parse::<Decimal>().unwrap())
        .filter(|q| *q > Decimal::ZERO)
        .sum()
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    set_limits(&store, &limits()).await.unwrap();
    let guard = Guard::new(store.clone());
    let venue = Venue {
        broker: "paper".into(),
        live: false,
    };
    let now: DateTime<Utc> = "2013-01-02T15:00:00Z".parse().unwrap();
    let session = NaiveDate::from_ymd_opt(2013, 1, 2).unwrap();
    let (mut price, mut cash) = (dec!(700), dec!(100000));
    let start_equity = cash;
    for (n, s) in steps.into_iter().enumerate() {
        let pos = position(&store).await;
        let equity = cash + pos * price;
        match s {
            Step::Order { buy, qty } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let order =
                    OrderRequest::market(Symbol::parse("GOOG").unwrap(), side, Decimal::from(qty));
                let facts = MarketFacts {
                    last: Some(PricePoint { price, at: now }),
                    market_now: now,
                    market_open: true,
                    session_date: session,
                    equity,
                    position_qty: None,
                };
                let worst_before = (pos + reserved_buys(&store).await) * price;
                let a = guard
                    .admit(&venue, &order, Some(&format!("o{n}")), &facts, now)
                    .await
                    .unwrap();
                if let Admission::Accepted { .. } = a {
                    let loss_reached = start_equity - equity >= dec!(1500);
                    let reduces = !buy && pos > Decimal::ZERO;
                    prop_assert!(!loss_reached || reduces, "risk added after the daily loss");
                    let worst = (pos + reserved_buys(&store).await) * price;
                    if buy {
                        prop_assert!(worst <= dec!(25000), "position could reach {worst}");
                    } else {
                        // A market move may carry a position past the limit on its own; a sell
                        // must still be admitted then, and it never adds exposure.
                        prop_assert!(worst <= worst_before, "a sell raised exposure to {worst}");
                    }
                    prop_assert!(Decimal::from(qty) * price <= dec!(15000));
                }
            }
            Step::FillOldest => {
                let open = guard.orders(&[OrderStatus::Accepted], 1).await.unwrap();
                if let Some(o) = open.last() {
                    let signed = o.request.qty.unwrap() * o.request.side.sign();
                    sqlx::query(
                        "INSERT INTO paper_positions (symbol, asset_class, qty, avg_price) \
                         VALUES ('GOOG', 'stock', ?, ?) ON CONFLICT (symbol) DO UPDATE SET qty = excluded.qty",
                    )
                    .bind((pos + signed).to_string())
                    .bind(price.to_string())
                    .execute(store.pool())
                    .await
                    .unwrap();
                    cash -= signed * price;
                    guard
                        .transition(
                            &o.client_order_id,
                            &[OrderStatus::Accepted],
                            OrderStatus::Filled,
                            &Default::default(),
                            now,
                        )
                        .await
                        .unwrap();
                }
            }
            Step::Move { pct } => {
                price = (price * (Decimal::ONE_HUNDRED + Decimal::from(pct))
                    / Decimal::ONE_HUNDRED)
                    .round_dp(2)
                    .max(dec!(1));
            }
        }
        // Never short: no sell was admitted beyond the position.
        prop_assert!(position(&store).await >= Decimal::ZERO);
    }
    store.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_admitted_order_breaks_a_limit_through_the_store(steps in proptest::collection::vec(step(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(steps))?;
    }
}
