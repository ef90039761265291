//! Property: the approval window's card and the guard never disagree. For random orders,
//! limits and market facts, the card says every limit is "within" exactly when the guard
//! would admit the order, and when the guard refuses, the card shows that very rule as not
//! within — because the card is drawn from the guard's own explanation.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use quantdesk_desktop::{approval_card, rule_name};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side, Symbol};
use quantdesk_guard::{Facts, Limits, OrderRecord, PricePoint, evaluate, explain};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2020-03-02T15:00:00Z")
        .map(|t| t.to_utc())
        .unwrap_or_default()
}

fn opt(d: Option<u32>) -> Option<Decimal> {
    d.map(Decimal::from)
}

prop_compose! {
    fn order()(buy in any::<bool>(), qty in 1u32..200, limit in proptest::option::of(50u32..150),
               notional in proptest::option::of(100u32..30_000), blocked in any::<bool>())
        -> OrderRequest {
        let symbol = Symbol::parse(if blocked { "TSLA" } else { "GOOG" }).unwrap_or_else(|_| unreachable!());
        let side = if buy { Side::Buy } else { Side::Sell };
        match (limit, notional) {
            (Some(l), _) => OrderRequest::limit(symbol, side, Decimal::from(qty), Decimal::from(l)),
            (None, Some(n)) => {
                let mut o = OrderRequest::market(symbol, side, Decimal::ONE);
                o.qty = None;
                o.notional = Some(Decimal::from(n));
                o
            }
            (None, None) => OrderRequest::market(symbol, side, Decimal::from(qty)),
        }
    }
}

prop_compose! {
    fn limits()(order_value in proptest::option::of(500u32..20_000),
                position_value in proptest::option::of(1_000u32..30_000),
                pct in proptest::option::of(1u32..100), daily in proptest::option::of(100u32..5_000),
                per_minute in proptest::option::of(1u32..20), collar in proptest::option::of(1u32..30),
                kill in proptest::bool::weighted(0.1), hours in any::<bool>(),
                shorts in any::<bool>(), block_tsla in any::<bool>(), age in 10u64..3_600)
        -> Limits {
        Limits {
            max_order_value: opt(order_value),
            max_position_value: opt(position_value),
            max_position_pct_of_equity: opt(pct),
            max_daily_loss: opt(daily),
            max_orders_per_minute: per_minute,
            price_collar_pct: opt(collar),
            max_quote_age_secs: age,
            blocked_symbols: if block_tsla { Symbol::parse("TSLA").into_iter().collect() } else { Vec::new() },
            market_hours_only: hours,
            allow_short_selling: shorts,
            kill_switch: kill,
            ..Limits::default()
        }
    }
}

prop_compose! {
    fn facts()(price in 60u32..140, age in 0i64..7_200, has_price in proptest::bool::weighted(0.9),
               open in any::<bool>(), equity in 5_000u32..200_000, loss in -3_000i32..6_000,
               position in -50i32..150, buys in 0u32..50, sells in 0u32..50, minute in 0u32..25)
        -> Facts {
        Facts {
            live: false,
            live_enabled: false,
            last: has_price.then(|| PricePoint { price: Decimal::from(price), at: now() - Duration::seconds(age) }),
            market_now: now(),
            market_open: open,
            equity: Decimal::from(equity),
            session_open_equity: Decimal::from(equity) + Decimal::from(loss),
            position_qty: Decimal::from(position),
            reserved_buy_qty: Decimal::from(buys),
            reserved_sell_qty: -Decimal::from(sells),
            orders_last_minute: minute,
        }
    }
}

fn record(request: OrderRequest) -> OrderRecord {
    OrderRecord {
        client_order_id: "qd-card".into(),
        broker: "paper".into(),
        mode: "paper".into(),
        broker_order_id: None,
        request,
        status: OrderStatus::PendingApproval,
        reason: None,
        filled_qty: Decimal::ZERO,
        avg_fill_price: None,
        created_at: now(),
        updated_at: now(),
        session_date: now().date_naive(),
        approval_expires_at: Some(now() + Duration::minutes(15)),
        decided_by: None,
        decided_at: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn the_card_says_within_exactly_when_the_guard_admits(o in order(), l in limits(), f in facts()) {
        let verdict = evaluate(&o, &l, &f);
        let card = approval_card(&record(o.clone()), &explain(&o, &l, &f), None);
        let all_within = card.checks.iter().all(|c| c.within);
        prop_assert_eq!(all_within, verdict.is_ok(), "card {:?} guard {:?}", card.checks, verdict);
        if let Err(refusal) = verdict {
            let shown = card.checks.iter().find(|c| c.name == rule_name(refusal.rule));
            prop_assert!(shown.is_some_and(|c| !c.within),
                "the refusing rule {:?} is not shown as outside: {:?}", refusal.rule, card.checks);
            // The first rule the card shows as outside is the one that refuses.
            let first = card.checks.iter().find(|c| !c.within).map(|c| c.name.clone());
            prop_assert_eq!(first.as_deref(), Some(rule_name(refusal.rule)));
        } else if let Ok(passed) = verdict {
            prop_assert_eq!(card.estimated_value.is_some(), true);
            prop_assert!(passed.value > Decimal::ZERO);
        }
    }
}
