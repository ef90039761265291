//! Property: over random sequences of orders, fills and price moves, no order the guard accepts
//! ever breaks a limit, and once the day's loss reaches the limit every risk-increasing order is
//! refused.
//!
//! The model keeps a position, reservations and cash the way a broker and the journal would; the
//! guard sees them only through the same `Facts` the admission transaction assembles.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use quantdesk_domain::{Decimal, OrderRequest, OrderType, Side, Symbol};
use quantdesk_guard::{Facts, Limits, PricePoint, Rule, evaluate, increases_risk};
use rust_decimal_macros::dec;

#[derive(Debug, Clone)]
enum Step {
    Order {
        side: Side,
        qty: u32,
        limit_offset_pct: Option<i32>,
    },
    FillOldest,
    CancelOldest,
    Move {
        pct: i32,
    },
    NextMinute,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<bool>(), 1u32..60, proptest::option::of(-8i32..8)).prop_map(|(b, qty, off)| Step::Order {
            side: if b { Side::Buy } else { Side::Sell },
            qty,
            limit_offset_pct: off,
        }),
        2 => Just(Step::FillOldest),
        1 => Just(Step::CancelOldest),
        2 => (-12i32..12).prop_map(|pct| Step::Move { pct }),
        1 => Just(Step::NextMinute),
    ]
}

struct Model {
    price: Decimal,
    cash: Decimal,
    position: Decimal,
    open_equity: Decimal,
    /// (signed qty) of accepted, unfilled orders, oldest first.
    open: Vec<Decimal>,
    orders_this_minute: u32,
}

impl Model {
    fn equity(&self) -> Decimal {
        self.cash + self.position * self.price
    }

    fn facts(&self, now: DateTime<Utc>) -> Facts {
        let buys = self.open.iter().filter(|q| **q > Decimal::ZERO).sum();
        let sells = self.open.iter().filter(|q| **q < Decimal::ZERO).sum();
        Facts {
            live: false,
            live_enabled: false,
            last: Some(PricePoint {
                price: self.price,
                at: now,
            }),
            market_now: now,
            market_open: true,
            equity: self.equity(),
            session_open_equity: self.open_equity,
            position_qty: self.position,
            reserved_buy_qty: buys,
            reserved_sell_qty: sells,
            orders_last_minute: self.orders_this_minute,
        }
    }
}

fn limits() -> Limits {
    Limits {
        max_order_value: Some(dec!(10000)),
        max_position_value: Some(dec!(25000)),
        max_position_pct_of_equity: Some(dec!(30)),
        max_daily_loss: Some(dec!(1500)),
        max_orders_per_minute: Some(6),
        price_collar_pct: Some(dec!(5)),
        allow_short_selling: false,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_accepted_order_breaks_a_limit(steps in proptest::collection::vec(step(), 1..80)) {
        let now = DateTime::parse_from_rfc3339("2013-01-02T15:00:00Z").unwrap().to_utc();
        let limits = limits();
        let mut m = Model {
            price: dec!(700),
            cash: dec!(100000),
            position: Decimal::ZERO,
            open_equity: dec!(100000),
            open: Vec::new(),
            orders_this_minute: 0,
        };
        let sym = Symbol::parse("GOOG").unwrap();
        for s in steps {
            match s {
                Step::Order { side, qty, limit_offset_pct } => {
                    let qty = Decimal::from(qty);
                    let mut order = OrderRequest::market(sym.clone(), side, qty);
                    if let Some(off) = limit_offset_pct {
                        order.order_type = OrderType::Limit;
                        order.limit_price =
                            Some((m.price * (Decimal::ONE_HUNDRED + Decimal::from(off)) / Decimal::ONE_HUNDRED).round_dp(2));
                    }
                    let facts = m.facts(now);
                    let loss_reached = facts.session_open_equity - facts.equity >= dec!(1500);
                    let risk_up = increases_risk(&order, &facts, qty);
                    if let Ok(passed) = evaluate(&order, &limits, &facts) {
                        // The daily-loss stop engages for every risk-increasing order.
                        prop_assert!(!(loss_reached && risk_up), "risk added after the daily loss");
                        let price = passed.price;
                        prop_assert!(passed.value <= dec!(10000));
                        prop_assert!(m.orders_this_minute < 6);
                        let buys: Decimal = m.open.iter().filter(|q| **q > Decimal::ZERO).sum::<Decimal>()
                            + passed.signed_qty.max(Decimal::ZERO);
                        let sells: Decimal = m.open.iter().filter(|q| **q < Decimal::ZERO).sum::<Decimal>()
                            + passed.signed_qty.min(Decimal::ZERO);
                        // Never short, whatever fills.
                        prop_assert!(m.position + sells >= Decimal::ZERO);
                        if risk_up {
                            let worst = (m.position + buys).abs().max((m.position + sells).abs()) * price;
                            prop_assert!(worst <= dec!(25000), "position worth {worst}");
                            prop_assert!(worst <= m.equity() * dec!(30) / dec!(100));
                        }
                        m.open.push(passed.signed_qty);
                        m.orders_this_minute += 1;
                    }
                }
                Step::FillOldest => {
                    if !m.open.is_empty() {
                        let q = m.open.remove(0);
                        m.position += q;
                        m.cash -= q * m.price;
                    }
                }
                Step::CancelOldest => {
                    if !m.open.is_empty() {
                        m.open.remove(0);
                    }
                }
                Step::Move { pct } => {
                    m.price = (m.price * (Decimal::ONE_HUNDRED + Decimal::from(pct)) / Decimal::ONE_HUNDRED)
                        .round_dp(2)
                        .max(dec!(1));
                }
                Step::NextMinute => m.orders_this_minute = 0,
            }
        }
    }
}

/// Once the loss reaches the limit, a buy is refused by `max_daily_loss` even when every other
/// limit would allow it, and a sell that only reduces the position still goes through.
#[test]
fn the_daily_loss_stop_engages() {
    let now = DateTime::parse_from_rfc3339("2013-01-02T15:00:00Z")
        .unwrap()
        .to_utc();
    let facts = Facts {
        live: false,
        live_enabled: false,
        last: Some(PricePoint {
            price: dec!(600),
            at: now,
        }),
        market_now: now,
        market_open: true,
        equity: dec!(98500),
        session_open_equity: dec!(100000),
        position_qty: dec!(15),
        reserved_buy_qty: Decimal::ZERO,
        reserved_sell_qty: Decimal::ZERO,
        orders_last_minute: 0,
    };
    let sym = Symbol::parse("GOOG").unwrap();
    let err = evaluate(
        &OrderRequest::market(sym.clone(), Side::Buy, dec!(1)),
        &limits(),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err.rule, Rule::MaxDailyLoss);
    assert!(
        evaluate(
            &OrderRequest::market(sym, Side::Sell, dec!(5)),
            &limits(),
            &facts
        )
        .is_ok()
    );
}
