//! The rules themselves, as one pure function over the facts gathered inside the admission
//! transaction. Keeping it pure lets the property tests run thousands of cases; keeping it the
//! only function that says yes keeps "one rule, one place".

use chrono::{DateTime, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderType, Side};
use serde::{Deserialize, Serialize};

use crate::Limits;

/// Which limit refused an order. The names are what the audit log and the person see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    InvalidOrder,
    KillSwitch,
    LiveTradingOff,
    AllowedSymbols,
    BlockedSymbols,
    AssetClasses,
    TradingHours,
    FreshQuote,
    PriceCollar,
    MaxOrderValue,
    ShortSelling,
    MaxPositionValue,
    MaxPositionPctOfEquity,
    MaxDailyLoss,
    MaxOrdersPerMinute,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::InvalidOrder => "invalid_order",
            Rule::KillSwitch => "kill_switch",
            Rule::LiveTradingOff => "live_trading_off",
            Rule::AllowedSymbols => "allowed_symbols",
            Rule::BlockedSymbols => "blocked_symbols",
            Rule::AssetClasses => "allowed_asset_classes",
            Rule::TradingHours => "market_hours_only",
            Rule::FreshQuote => "max_quote_age_secs",
            Rule::PriceCollar => "price_collar_pct",
            Rule::MaxOrderValue => "max_order_value",
            Rule::ShortSelling => "allow_short_selling",
            Rule::MaxPositionValue => "max_position_value",
            Rule::MaxPositionPctOfEquity => "max_position_pct_of_equity",
            Rule::MaxDailyLoss => "max_daily_loss",
            Rule::MaxOrdersPerMinute => "max_orders_per_minute",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the rule and a sentence naming the limit's value and the order's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub rule: Rule,
    pub message: String,
}

/// A price and when it was true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricePoint {
    pub price: Decimal,
    pub at: DateTime<Utc>,
}

/// Everything the rules look at, gathered for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub live: bool,
    pub live_enabled: bool,
    /// The last price of the order's symbol, if any.
    pub last: Option<PricePoint>,
    /// The market's now (the paper broker's replay clock offline).
    pub market_now: DateTime<Utc>,
    pub market_open: bool,
    pub equity: Decimal,
    /// Equity when the session opened.
    pub session_open_equity: Decimal,
    /// The symbol's position, in shares (negative short).
    pub position_qty: Decimal,
    /// Shares open orders may still add to the symbol: buys (≥ 0) and sells (≤ 0) apart.
    pub reserved_buy_qty: Decimal,
    pub reserved_sell_qty: Decimal,
    /// Orders admitted in the 60 seconds before this one.
    pub orders_last_minute: u32,
}

/// What an accepted order reserves and is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passed {
    /// Shares the order may add (+ buy, - sell).
    pub signed_qty: Decimal,
    /// Its value at the price it was checked at.
    pub value: Decimal,
    /// The price it was checked at.
    pub price: Decimal,
}

fn money(d: Decimal) -> String {
    format!("${}", d.round_dp(2).normalize())
}

/// The price an order's value and exposure are measured at: the worse of the last price and the
/// order's own price, so a limit far above the market cannot sneak past a value limit.
fn check_price(order: &OrderRequest, last: Option<Decimal>) -> Option<Decimal> {
    let own = [order.limit_price, order.stop_price]
        .into_iter()
        .flatten()
        .max();
    match (last, own) {
        (Some(l), Some(o)) => Some(l.max(o)),
        (l, o) => l.or(o),
    }
}

/// Whether the order can make the position larger (in either direction). Only orders that
/// shrink an existing position without flipping it are risk-reducing.
pub fn increases_risk(order: &OrderRequest, facts: &Facts, qty: Decimal) -> bool {
    match order.side {
        Side::Sell => {
            !(facts.position_qty > Decimal::ZERO
                && facts.position_qty + facts.reserved_sell_qty - qty >= Decimal::ZERO)
        }
        Side::Buy => {
            !(facts.position_qty < Decimal::ZERO
                && facts.position_qty + facts.reserved_buy_qty + qty <= Decimal::ZERO)
        }
    }
}

/// Checks `order` against every limit, in the order a person would want to hear about them.
pub fn evaluate(order: &OrderRequest, limits: &Limits, facts: &Facts) -> Result<Passed, Refusal> {
    let refuse = |rule: Rule, message: String| Err(Refusal { rule, message });
    if let Err(why) = order.validate() {
        return refuse(Rule::InvalidOrder, why);
    }
    if limits.kill_switch {
        return refuse(
            Rule::KillSwitch,
            "the kill switch is on in QuantDesk: every new order is refused until the person \
             turns it off"
                .into(),
        );
    }
    if facts.live && !facts.live_enabled {
        return refuse(
            Rule::LiveTradingOff,
            "live trading is off; only the person can turn it on in QuantDesk".into(),
        );
    }
    let sym = &order.symbol;
    if !limits.allowed_symbols.is_empty() && !limits.allowed_symbols.contains(sym) {
        return refuse(
            Rule::AllowedSymbols,
            format!(
                "{sym} is not in the allowed symbols ({})",
                join(&limits.allowed_symbols)
            ),
        );
    }
    if limits.blocked_symbols.contains(sym) {
        return refuse(
            Rule::BlockedSymbols,
            format!("{sym} is blocked in QuantDesk"),
        );
    }
    if !limits.allowed_asset_classes.contains(&order.asset_class) {
        return refuse(
            Rule::AssetClasses,
            format!(
                "{} is not an allowed asset class ({})",
                order.asset_class,
                join(&limits.allowed_asset_classes)
            ),
        );
    }
    if limits.market_hours_only && !facts.market_open && !order.asset_class.trades_24h() {
        return refuse(
            Rule::TradingHours,
            format!(
                "the market is closed at {} and market_hours_only is on",
                facts.market_now.format("%Y-%m-%d %H:%M UTC")
            ),
        );
    }
    let fresh = facts.last.filter(|p| {
        let age = facts.market_now.signed_duration_since(p.at);
        age.num_seconds() <= limits.max_quote_age_secs as i64
    });
    if (order.order_type == OrderType::Market || order.notional.is_some()) && fresh.is_none() {
        return refuse(
            Rule::FreshQuote,
            match facts.last {
                None => {
                    format!("there is no price for {sym}, so a market order cannot be checked")
                }
                Some(p) => format!(
                    "the last price of {sym} is from {}, older than max_quote_age_secs {} s: a \
                     market order needs a fresh one",
                    p.at.format("%Y-%m-%d %H:%M UTC"),
                    limits.max_quote_age_secs
                ),
            },
        );
    }
    if let (Some(collar), Some(last)) = (limits.price_collar_pct, facts.last) {
        for (name, price) in [("limit", order.limit_price), ("stop", order.stop_price)] {
            let Some(price) = price else { continue };
            if last.price <= Decimal::ZERO {
                continue;
            }
            let off = ((price - last.price) / last.price * Decimal::ONE_HUNDRED).abs();
            if off > collar {
                return refuse(
                    Rule::PriceCollar,
                    format!(
                        "the {name} price {} is {}% from the last price {}, outside \
                         price_collar_pct {}%",
                        money(price),
                        off.round_dp(2).normalize(),
                        money(last.price),
                        collar.normalize()
                    ),
                );
            }
        }
    } else if limits.price_collar_pct.is_some()
        && (order.limit_price.is_some() || order.stop_price.is_some())
    {
        return refuse(
            Rule::PriceCollar,
            format!("there is no last price for {sym} to check the order's price against"),
        );
    }
    let Some(price) = check_price(order, fresh.or(facts.last).map(|p| p.price)) else {
        return refuse(Rule::FreshQuote, format!("there is no price for {sym}"));
    };
    let (qty, value) = match (order.qty, order.notional) {
        (Some(q), _) => (q, q * price),
        (None, Some(n)) if price > Decimal::ZERO => (n / price, n),
        _ => return refuse(Rule::InvalidOrder, "give qty or notional".into()),
    };
    if let Some(max) = limits.max_order_value
        && value > max
    {
        return refuse(
            Rule::MaxOrderValue,
            format!(
                "the order is worth {} ({} × {}), above max_order_value {}",
                money(value),
                qty.normalize(),
                money(price),
                money(max)
            ),
        );
    }
    let risk_up = increases_risk(order, facts, qty);
    if order.side == Side::Sell
        && !limits.allow_short_selling
        && facts.position_qty + facts.reserved_sell_qty - qty < Decimal::ZERO
    {
        return refuse(
            Rule::ShortSelling,
            format!(
                "selling {} {sym} would go short (position {}, open sells {}) and \
                 allow_short_selling is off",
                qty.normalize(),
                facts.position_qty.normalize(),
                (-facts.reserved_sell_qty).normalize()
            ),
        );
    }
    // The largest the position can become if every open order and this one fill.
    let projected = match order.side {
        Side::Buy => facts.position_qty + facts.reserved_buy_qty + qty,
        Side::Sell => facts.position_qty + facts.reserved_sell_qty - qty,
    }
    .abs();
    let projected_value = projected * price;
    if risk_up {
        if let Some(max) = limits.max_position_value
            && projected_value > max
        {
            return refuse(
                Rule::MaxPositionValue,
                format!(
                    "{sym} would be worth {} with this order ({} shares counting open orders), \
                     above max_position_value {}; the order is worth {}",
                    money(projected_value),
                    projected.normalize(),
                    money(max),
                    money(value)
                ),
            );
        }
        if let Some(pct) = limits.max_position_pct_of_equity {
            let cap = facts.equity.max(Decimal::ZERO) * pct / Decimal::ONE_HUNDRED;
            if projected_value > cap {
                return refuse(
                    Rule::MaxPositionPctOfEquity,
                    format!(
                        "{sym} would be worth {} with this order, above \
                         max_position_pct_of_equity {}% of equity {} = {}; the order is worth {}",
                        money(projected_value),
                        pct.normalize(),
                        money(facts.equity),
                        money(cap),
                        money(value)
                    ),
                );
            }
        }
        if let Some(max) = limits.max_daily_loss {
            let loss = facts.session_open_equity - facts.equity;
            if loss >= max {
                return refuse(
                    Rule::MaxDailyLoss,
                    format!(
                        "today's loss is {} (equity {} at the session open, {} now), at or above \
                         max_daily_loss {}: only orders that reduce a position are allowed; this \
                         order is worth {}",
                        money(loss),
                        money(facts.session_open_equity),
                        money(facts.equity),
                        money(max),
                        money(value)
                    ),
                );
            }
        }
    }
    if let Some(max) = limits.max_orders_per_minute
        && facts.orders_last_minute >= max
    {
        return refuse(
            Rule::MaxOrdersPerMinute,
            format!(
                "{} orders were placed in the last minute; max_orders_per_minute is {max}",
                facts.orders_last_minute
            ),
        );
    }
    Ok(Passed {
        signed_qty: qty * order.side.sign(),
        value,
        price,
    })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
