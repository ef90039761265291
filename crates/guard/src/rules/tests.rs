use super::*;
use chrono::DateTime;
use quantdesk_domain::Symbol;
use rust_decimal_macros::dec;

fn facts() -> Facts {
    let now = DateTime::parse_from_rfc3339("2013-01-02T00:00:00Z")
        .unwrap()
        .to_utc();
    Facts {
        live: false,
        live_enabled: false,
        last: Some(PricePoint {
            price: dec!(700),
            at: now,
        }),
        market_now: now,
        market_open: true,
        equity: dec!(100000),
        session_open_equity: dec!(100000),
        position_qty: dec!(0),
        reserved_buy_qty: dec!(0),
        reserved_sell_qty: dec!(0),
        orders_last_minute: 0,
    }
}

fn buy(qty: Decimal) -> OrderRequest {
    OrderRequest::market(Symbol::parse("GOOG").unwrap(), Side::Buy, qty)
}

#[test]
fn an_order_over_max_order_value_names_the_limit_and_both_values() {
    let err = evaluate(&buy(dec!(20)), &Limits::default(), &facts()).unwrap_err();
    assert_eq!(err.rule, Rule::MaxOrderValue);
    assert!(
        err.message.contains("max_order_value $10000"),
        "{}",
        err.message
    );
    assert!(err.message.contains("$14000"), "{}", err.message);
}

#[test]
fn a_market_order_needs_a_fresh_price() {
    let mut f = facts();
    f.market_now += chrono::Duration::days(3);
    let err = evaluate(&buy(dec!(1)), &Limits::default(), &f).unwrap_err();
    assert_eq!(err.rule, Rule::FreshQuote);
}

#[test]
fn the_collar_refuses_a_far_limit() {
    let order = OrderRequest::limit(
        Symbol::parse("GOOG").unwrap(),
        Side::Buy,
        dec!(1),
        dec!(800),
    );
    let err = evaluate(&order, &Limits::default(), &facts()).unwrap_err();
    assert_eq!(err.rule, Rule::PriceCollar);
}

#[test]
fn after_the_daily_loss_only_reducing_orders_pass() {
    let mut f = facts();
    f.equity = dec!(97000);
    f.position_qty = dec!(10);
    assert_eq!(
        evaluate(&buy(dec!(1)), &Limits::default(), &f)
            .unwrap_err()
            .rule,
        Rule::MaxDailyLoss
    );
    let mut sell = buy(dec!(5));
    sell.side = Side::Sell;
    assert!(evaluate(&sell, &Limits::default(), &f).is_ok());
}

#[test]
fn open_orders_count_toward_the_position() {
    let mut f = facts();
    f.reserved_buy_qty = dec!(30);
    let err = evaluate(&buy(dec!(10)), &Limits::default(), &f).unwrap_err();
    assert_eq!(err.rule, Rule::MaxPositionValue);
}

#[test]
fn no_short_selling_by_default() {
    let mut sell = buy(dec!(1));
    sell.side = Side::Sell;
    assert_eq!(
        evaluate(&sell, &Limits::default(), &facts())
            .unwrap_err()
            .rule,
        Rule::ShortSelling
    );
}
