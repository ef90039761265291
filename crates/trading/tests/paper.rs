//! The paper broker through the desk, on the bundled history's replay clock.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_broker::Broker;
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus, Side, TimeInForce};
use quantdesk_guard::{ApprovalPolicy, Limits, set_approval_policy, set_limits};
use quantdesk_market::BundledProvider;
use quantdesk_store::Store;
use rust_decimal_macros::dec;

mod support;
use support::{desk, goog};

#[tokio::test]
async fn buying_ten_goog_moves_cash_into_a_position_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (store, paper, desk) = desk(dir.path()).await;
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let placed = desk
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(10)), None)
        .await
        .unwrap();
    assert_eq!(placed.outcome, "filled", "{placed:?}");
    assert_eq!(
        (placed.broker.as_str(), placed.mode.as_str()),
        ("paper", "paper")
    );
    let order = placed.order.unwrap();
    let fill = order.avg_fill_price.unwrap();
    // Five basis points of slippage on a buy.
    assert_eq!(fill, (price * dec!(1.0005)).round_dp(4));
    let account = desk.account().await.unwrap();
    assert_eq!(account.cash, (dec!(100000) - fill * dec!(10)).round_dp(2));
    let positions = desk.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].qty, dec!(10));
    // Nothing is reserved once the order is filled: the position carries the exposure.
    assert_eq!(
        desk.guard().reserved_notional().await.unwrap(),
        Decimal::ZERO
    );
    store.close().await;

    let (_store, _paper, desk) = self::desk(dir.path()).await;
    assert_eq!(desk.positions().await.unwrap()[0].qty, dec!(10));
    assert_eq!(desk.account().await.unwrap().cash, account.cash);
}

#[tokio::test]
async fn a_limit_order_rests_and_fills_when_the_price_crosses() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, paper, desk) = desk(dir.path()).await;
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let limit = (price * dec!(0.97)).round_dp(2);
    let mut req = OrderRequest::limit(goog(), Side::Buy, dec!(5), limit);
    req.time_in_force = TimeInForce::Gtc;
    let placed = desk.place(&req, Some("rest-1")).await.unwrap();
    assert_eq!(placed.outcome, "open", "{placed:?}");
    assert_eq!(
        desk.guard().reserved_notional().await.unwrap(),
        price * dec!(5)
    );
    let mut days = 0;
    loop {
        paper.advance_clock(1).await.unwrap();
        days += 1;
        desk.refresh().await.unwrap();
        let o = desk.order("rest-1").await.unwrap();
        if o.status == OrderStatus::Filled {
            assert!(o.avg_fill_price.unwrap() <= limit);
            break;
        }
        assert_eq!(o.status, OrderStatus::Open);
        assert!(days < 250, "never filled");
    }
    assert_eq!(desk.positions().await.unwrap()[0].qty, dec!(5));
}

#[tokio::test]
async fn a_day_order_expires_with_its_session_and_cancel_works() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, paper, desk) = desk(dir.path()).await;
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let req = OrderRequest::limit(goog(), Side::Buy, dec!(1), (price * dec!(0.96)).round_dp(2));
    desk.place(&req, Some("day-1")).await.unwrap();
    let mut gtc = OrderRequest::limit(goog(), Side::Buy, dec!(1), (price * dec!(0.95)).round_dp(2));
    gtc.time_in_force = TimeInForce::Gtc;
    desk.place(&gtc, Some("gtc-1")).await.unwrap();
    let c = desk.cancel("gtc-1").await.unwrap();
    assert_eq!(c.status, OrderStatus::Canceled);
    assert!(desk.cancel("gtc-1").await.is_err(), "cancelled twice");
    paper.advance_clock(1).await.unwrap();
    desk.refresh().await.unwrap();
    let o = desk.order("day-1").await.unwrap();
    assert!(
        matches!(o.status, OrderStatus::Expired | OrderStatus::Filled),
        "{o:?}"
    );
    assert_eq!(
        desk.guard().reserved_notional().await.unwrap(),
        Decimal::ZERO
    );
}

#[tokio::test]
async fn an_order_over_the_limit_never_reaches_the_book() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _paper, desk) = desk(dir.path()).await;
    let placed = desk
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(100)), None)
        .await
        .unwrap();
    assert_eq!(placed.outcome, "refused");
    assert_eq!(placed.rule.as_deref(), Some("max_order_value"));
    assert!(
        placed.message.contains("max_order_value $10000"),
        "{}",
        placed.message
    );
    assert!(desk.positions().await.unwrap().is_empty());
    assert!(desk.orders(&[], 10).await.unwrap().is_empty());
}

/// The kill switch's second half: every open and pending order is cancelled, nothing is left
/// reserved, and the switch itself refuses the next order.
#[tokio::test]
async fn the_kill_switch_cancels_everything_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, paper, desk) = desk(dir.path()).await;
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let mut rest =
        OrderRequest::limit(goog(), Side::Buy, dec!(1), (price * dec!(0.97)).round_dp(2));
    rest.time_in_force = TimeInForce::Gtc;
    desk.place(&rest, Some("open-1")).await.unwrap();
    set_approval_policy(&store, &ApprovalPolicy::Always)
        .await
        .unwrap();
    desk.place(&rest, Some("pending-1")).await.unwrap();
    set_limits(
        &store,
        &Limits {
            kill_switch: true,
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    let cancelled = desk.cancel_all().await.unwrap();
    assert_eq!(cancelled.len(), 2);
    assert!(cancelled.iter().all(|o| o.status == OrderStatus::Canceled));
    assert_eq!(
        desk.guard().reserved_notional().await.unwrap(),
        Decimal::ZERO
    );
    let refused = desk.place(&rest, Some("after")).await.unwrap();
    assert_eq!(refused.rule.as_deref(), Some("kill_switch"));
}

/// Daily loss on the replay clock: measured from the last equity seen in the previous session,
/// so a session that opens lower counts. Once it reaches the limit, a buy is refused naming
/// `max_daily_loss`, and a sell that only reduces the position still goes through.
#[tokio::test]
async fn the_daily_loss_stop_engages_on_the_paper_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, paper, desk) = desk(dir.path()).await;
    set_limits(
        &store,
        &Limits {
            max_daily_loss: Some(dec!(20)),
            max_orders_per_minute: None,
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    desk.place(
        &OrderRequest::market(goog(), Side::Buy, dec!(10)),
        Some("hold"),
    )
    .await
    .unwrap();
    let mut day = 0;
    loop {
        let before = desk.account().await.unwrap().equity;
        paper.advance_clock(1).await.unwrap();
        day += 1;
        let now = desk.account().await.unwrap().equity;
        let tiny = OrderRequest::market(goog(), Side::Buy, dec!(0.01));
        let placed = desk
            .place(&tiny, Some(&format!("tiny-{day}")))
            .await
            .unwrap();
        if before - now >= dec!(20) {
            assert_eq!(placed.rule.as_deref(), Some("max_daily_loss"), "{placed:?}");
            assert!(
                placed.message.contains("max_daily_loss $20"),
                "{}",
                placed.message
            );
            let sell = OrderRequest::market(goog(), Side::Sell, dec!(5));
            let out = desk.place(&sell, Some("reduce")).await.unwrap();
            assert_eq!(out.outcome, "filled", "{out:?}");
            break;
        }
        assert_ne!(
            placed.rule.as_deref(),
            Some("max_daily_loss"),
            "day {day}: {placed:?}"
        );
        assert!(day < 60, "GOOG never opened $2 lower in 60 sessions");
    }
}

/// An order parked for another broker (Alpaca, live) is never sent, filled or cancelled by a
/// paper desk that receives the approval.
#[tokio::test]
async fn a_paper_desk_never_touches_another_brokers_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _paper, desk) = desk(dir.path()).await;
    set_approval_policy(&store, &ApprovalPolicy::Always)
        .await
        .unwrap();
    let guard = quantdesk_guard::Guard::new(store.clone());
    let facts = quantdesk_guard::MarketFacts {
        last: desk.broker().last_price(&goog()).await.unwrap(),
        market_now: desk.broker().clock().await.unwrap().now,
        market_open: true,
        session_date: desk.broker().clock().await.unwrap().session_date,
        equity: dec!(100000),
        position_qty: Some(Decimal::ZERO),
    };
    store
        .set_setting(quantdesk_guard::LIVE_TRADING_SETTING, &true)
        .await
        .unwrap();
    let live = quantdesk_guard::Venue {
        broker: "alpaca".into(),
        live: true,
    };
    let admitted = guard
        .admit(
            &live,
            &OrderRequest::market(goog(), Side::Buy, dec!(1)),
            Some("live-1"),
            &facts,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        admitted,
        quantdesk_guard::Admission::PendingApproval { .. }
    ));
    let err = desk.approve("live-1", "test", None).await.unwrap_err();
    assert!(err.to_string().contains("alpaca (live)"), "{err}");
    assert!(desk.cancel("live-1").await.is_err());
    assert_eq!(
        desk.order("live-1").await.unwrap().status,
        OrderStatus::PendingApproval
    );
    assert!(desk.positions().await.unwrap().is_empty());
}

/// Realised P&L is booked at the average entry on a sell; unrealised follows the price.
#[tokio::test]
async fn profit_and_loss_realised_and_unrealised() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, paper, desk) = desk(dir.path()).await;
    let bought = desk
        .place(
            &OrderRequest::market(goog(), Side::Buy, dec!(10)),
            Some("in"),
        )
        .await
        .unwrap()
        .order
        .unwrap()
        .avg_fill_price
        .unwrap();
    paper.advance_clock(5).await.unwrap();
    let pos = desk.positions().await.unwrap().remove(0);
    let now = pos.current_price.unwrap();
    assert_eq!(
        pos.unrealized_pnl,
        Some(((now - bought) * dec!(10)).round_dp(2))
    );
    let sold = desk
        .place(
            &OrderRequest::market(goog(), Side::Sell, dec!(4)),
            Some("out"),
        )
        .await
        .unwrap()
        .order
        .unwrap()
        .avg_fill_price
        .unwrap();
    let account = desk.account().await.unwrap();
    assert_eq!(
        account.realized_pnl,
        ((sold - bought) * dec!(4)).round_dp(2)
    );
    assert_eq!(desk.positions().await.unwrap()[0].qty, dec!(6));
    assert_eq!(desk.positions().await.unwrap()[0].avg_entry_price, bought);
}

/// Places a 5% trailing stop under 10 GOOG bought at the current open, then moves the replay
/// clock `step` trading days at a time until it fills. Returns the fill and the clock then.
async fn trail_until_filled(
    dir: &std::path::Path,
    step: usize,
) -> (quantdesk_guard::OrderRecord, chrono::DateTime<chrono::Utc>) {
    let (_store, paper, desk) = desk(dir).await;
    let bought = desk
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(10)), None)
        .await
        .unwrap();
    assert_eq!(bought.outcome, "filled", "{bought:?}");
    let mut trail = OrderRequest::market(goog(), Side::Sell, dec!(10));
    trail.order_type = quantdesk_domain::OrderType::TrailingStop;
    trail.trail_percent = Some(dec!(5));
    trail.time_in_force = TimeInForce::Gtc;
    let placed = desk.place(&trail, Some("trail-1")).await.unwrap();
    assert_eq!(placed.outcome, "open", "{placed:?}");
    for _ in 0..400 {
        let now = paper.advance_clock(step).await.unwrap();
        desk.refresh().await.unwrap();
        let order = desk.order("trail-1").await.unwrap();
        if order.status == OrderStatus::Filled {
            assert!(desk.positions().await.unwrap().is_empty());
            return (order, now);
        }
        assert_eq!(order.status, OrderStatus::Open);
    }
    panic!("GOOG never fell 5% from a high in 400 steps");
}

/// A trailing stop follows the highest price since it was placed and sells when a bar falls 5%
/// below it — on the bar and at the price the history says (an independent walk over the same
/// bars), and the same however far the clock jumps between looks.
#[tokio::test]
async fn a_trailing_stop_sells_five_percent_under_the_high_since_it_was_placed() {
    use quantdesk_market::{BarsRequest, MarketData};
    let dir = tempfile::tempdir().unwrap();
    let start = {
        let (_store, paper, _desk) = desk(dir.path()).await;
        paper.clock().await.unwrap().now
    };
    let (order, _) = trail_until_filled(dir.path(), 1).await;

    // The oracle: walk GOOG's daily bars from the placement open.
    let mut req = BarsRequest::new(goog(), quantdesk_domain::Timeframe::DAY);
    req.start = Some(start);
    let bars = BundledProvider::new().bars(&req).await.unwrap().bars;
    let mut best = bars[0].open;
    let (mut when, mut price) = (None, None);
    for bar in &bars {
        let stop = best * dec!(0.95);
        if bar.low <= stop {
            when = Some(bar.time);
            price = Some((stop.min(bar.open) * dec!(0.9995)).round_dp(4));
            break;
        }
        best = best.max(bar.high);
    }
    assert_eq!(order.avg_fill_price, price, "{order:?}");
    assert_eq!(order.filled_qty, dec!(10));
    let fills: Vec<(String, String)> =
        sqlx::query_as("SELECT price, at FROM paper_fills WHERE client_order_id = 'trail-1'")
            .fetch_all(Store::open_in(dir.path()).await.unwrap().pool())
            .await
            .unwrap();
    assert_eq!(fills.len(), 1);
    assert!(
        fills[0]
            .1
            .starts_with(&when.unwrap().format("%Y-%m-%d").to_string()),
        "{fills:?} vs {when:?}"
    );

    // Looking once a week instead of daily changes nothing.
    let weekly = tempfile::tempdir().unwrap();
    let (weekly_order, _) = trail_until_filled(weekly.path(), 5).await;
    assert_eq!(weekly_order.avg_fill_price, order.avg_fill_price);
}

#[tokio::test]
async fn a_bracket_order_is_refused_by_the_paper_broker_with_what_to_do_instead() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, paper, desk) = desk(dir.path()).await;
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let mut req = OrderRequest::limit(goog(), Side::Buy, dec!(1), price);
    req.take_profit = Some((price * dec!(1.1)).round_dp(2));
    req.stop_loss = Some((price * dec!(0.95)).round_dp(2));
    let placed = desk.place(&req, Some("bracket-1")).await.unwrap();
    let order = desk.order("bracket-1").await.unwrap();
    assert_eq!(order.status, OrderStatus::RejectedByBroker, "{placed:?}");
    assert!(
        order.reason.as_deref().unwrap_or("").contains("stop order"),
        "{order:?}"
    );
}

/// In the sidecar the paper broker's market data may come through the store's own cache (Alpaca
/// data): the bars a resting order is replayed against are fetched before the replay's write
/// transaction opens, so the cache never waits on a store the replay is holding (it has one
/// connection per process) and each day's look stays quick.
#[tokio::test]
async fn a_resting_order_replays_against_bars_cached_in_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let market = quantdesk_market::CachedProvider::new(BundledProvider::new(), store.clone());
    let paper = std::sync::Arc::new(quantdesk_broker::PaperBroker::new(
        store.clone(),
        std::sync::Arc::new(market),
        quantdesk_broker::PaperConfig::default(),
    ));
    let desk = quantdesk_trading::Desk::new(store.clone(), paper.clone(), "test");
    let price = paper.last_price(&goog()).await.unwrap().unwrap().price;
    let limit = (price * dec!(0.97)).round_dp(2);
    let mut req = OrderRequest::limit(goog(), Side::Buy, dec!(5), limit);
    req.time_in_force = TimeInForce::Gtc;
    let placed = desk.place(&req, Some("cached-1")).await.unwrap();
    assert_eq!(placed.outcome, "open", "{placed:?}");
    let started = std::time::Instant::now();
    for day in 1.. {
        paper.advance_clock(1).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), desk.refresh())
            .await
            .expect("the replay waited on the store")
            .unwrap();
        if desk.order("cached-1").await.unwrap().status == OrderStatus::Filled {
            break;
        }
        assert!(day < 250, "never filled");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let (cached,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM market_cache")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(cached > 0, "the bars went through the store's cache");
}
