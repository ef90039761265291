//! The rules themselves, as one pure function over the facts gathered inside the admission
//! transaction. Keeping it pure lets the property tests run thousands of cases; keeping it the
//! only function that says yes keeps "one rule, one place".

use quantdesk_domain::{AssetClass, Decimal, OrderRequest, OrderType, Side, Symbol};
use serde::Serialize;

use crate::Limits;

mod facts;
mod options;

pub use facts::{Facts, Passed, PricePoint, Refusal, Rule};
pub use options::{OptionLimits, OptionOrder, explain_options};

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

/// One rule as the guard checked it for one order: the limit in words, this order's figure
/// against it, and whether it passed. The approval window, refusal messages and the Home screen
/// show these — never a second computation of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub rule: Rule,
    /// The limit's value in words (`$10000`, `off`, `listed symbols only`).
    pub limit: String,
    /// This order against it (`$1400`, `GOOG`, `not checked`).
    pub this_order: String,
    pub passed: bool,
    /// Why it did not pass (the refusal's sentence), or why it could not be checked.
    pub message: Option<String>,
}

/// The guard's account of one order: every rule in the order a person would want to hear about
/// them, and the verdict — the first rule that did not pass refuses the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub checks: Vec<Check>,
    pub verdict: Result<Passed, Refusal>,
    /// The price the order's value is measured at, and that value, when there was a price.
    pub price: Option<Decimal>,
    pub value: Option<Decimal>,
}

impl Explanation {
    pub fn check(&self, rule: Rule) -> Option<&Check> {
        self.checks.iter().find(|c| c.rule == rule)
    }
}

/// Builds an [`Explanation`] rule by rule; the first failure is the verdict.
struct Account {
    checks: Vec<Check>,
    refusal: Option<Refusal>,
}

impl Account {
    fn pass(&mut self, rule: Rule, limit: String, this_order: String) {
        self.checks.push(Check {
            rule,
            limit,
            this_order,
            passed: true,
            message: None,
        });
    }

    fn fail(&mut self, rule: Rule, limit: String, this_order: String, message: String) {
        if self.refusal.is_none() {
            self.refusal = Some(Refusal {
                rule,
                message: message.clone(),
            });
        }
        self.checks.push(Check {
            rule,
            limit,
            this_order,
            passed: false,
            message: Some(message),
        });
    }

    /// `pass` or `fail` as `failure` says.
    fn rule(&mut self, rule: Rule, limit: String, this_order: String, failure: Option<String>) {
        match failure {
            None => self.pass(rule, limit, this_order),
            Some(message) => self.fail(rule, limit, this_order, message),
        }
    }

    fn done(self, passed: Option<Passed>) -> Explanation {
        let (price, value) = passed.map_or((None, None), |p| (Some(p.price), Some(p.value)));
        let verdict = match (self.refusal, passed) {
            (Some(refusal), _) => Err(refusal),
            (None, Some(p)) => Ok(p),
            (None, None) => Err(Refusal {
                rule: Rule::InvalidOrder,
                message: "the order could not be checked".into(),
            }),
        };
        Explanation {
            checks: self.checks,
            verdict,
            price,
            value,
        }
    }
}

fn off_or(limit: Option<String>) -> String {
    limit.unwrap_or_else(|| "off".into())
}

/// Checks `order` against every limit. The one function that says yes: [`explain`]'s verdict.
pub fn evaluate(order: &OrderRequest, limits: &Limits, facts: &Facts) -> Result<Passed, Refusal> {
    explain(order, limits, facts).verdict
}

/// Every rule checked against `order`, in the order a person would want to hear about them,
/// with the verdict. Rules after an invalid order, or that need a price when there is none, are
/// listed as not checked (and not passed).
pub fn explain(order: &OrderRequest, limits: &Limits, facts: &Facts) -> Explanation {
    let mut a = Account {
        checks: Vec::new(),
        refusal: None,
    };
    if let Err(why) = order.validate() {
        a.fail(
            Rule::InvalidOrder,
            "a complete order".into(),
            why.clone(),
            why,
        );
        return a.done(None);
    }
    gate(&mut a, limits, facts, &order.symbol, order.asset_class);
    let sym = &order.symbol;
    let fresh = facts.last.filter(|p| {
        let age = facts.market_now.signed_duration_since(p.at);
        age.num_seconds() <= limits.max_quote_age_secs as i64
    });
    let needs_fresh = order.order_type == OrderType::Market || order.notional.is_some();
    a.rule(
        Rule::FreshQuote,
        format!("a price at most {} s old", limits.max_quote_age_secs),
        match facts.last {
            None => "no price".into(),
            Some(p) => format!("price from {}", p.at.format("%Y-%m-%d %H:%M UTC")),
        },
        (needs_fresh && fresh.is_none()).then(|| match facts.last {
            None => format!("there is no price for {sym}, so a market order cannot be checked"),
            Some(p) => format!(
                "the last price of {sym} is from {}, older than max_quote_age_secs {} s: a \
                 market order needs a fresh one",
                p.at.format("%Y-%m-%d %H:%M UTC"),
                limits.max_quote_age_secs
            ),
        }),
    );
    let own_prices = [("limit", order.limit_price), ("stop", order.stop_price)];
    let has_own = own_prices.iter().any(|(_, p)| p.is_some());
    match (limits.price_collar_pct, facts.last) {
        (Some(collar), Some(last)) if has_own => {
            let mut failure = None;
            let mut worst = Decimal::ZERO;
            for (name, price) in own_prices {
                let Some(price) = price else { continue };
                if last.price <= Decimal::ZERO {
                    continue;
                }
                let off = ((price - last.price) / last.price * Decimal::ONE_HUNDRED).abs();
                worst = worst.max(off);
                if off > collar && failure.is_none() {
                    failure = Some(format!(
                        "the {name} price {} is {}% from the last price {}, outside \
                         price_collar_pct {}%",
                        money(price),
                        off.round_dp(2).normalize(),
                        money(last.price),
                        collar.normalize()
                    ));
                }
            }
            a.rule(
                Rule::PriceCollar,
                format!("{}% from the last price", collar.normalize()),
                format!(
                    "{}% from {}",
                    worst.round_dp(2).normalize(),
                    money(last.price)
                ),
                failure,
            );
        }
        (Some(collar), None) if has_own => a.fail(
            Rule::PriceCollar,
            format!("{}% from the last price", collar.normalize()),
            "no last price".into(),
            format!("there is no last price for {sym} to check the order's price against"),
        ),
        (collar, _) => a.pass(
            Rule::PriceCollar,
            off_or(collar.map(|c| format!("{}% from the last price", c.normalize()))),
            if has_own {
                ""
            } else {
                "no limit or stop price"
            }
            .into(),
        ),
    }
    let Some(price) = check_price(order, fresh.or(facts.last).map(|p| p.price)) else {
        a.fail(
            Rule::FreshQuote,
            "a price".into(),
            "no price".into(),
            format!("there is no price for {sym}"),
        );
        return a.done(None);
    };
    let (qty, value) = match (order.qty, order.notional) {
        (Some(q), _) => (q, q * price),
        (None, Some(n)) if price > Decimal::ZERO => (n / price, n),
        _ => {
            a.fail(
                Rule::InvalidOrder,
                "qty or notional".into(),
                "neither".into(),
                "give qty or notional".into(),
            );
            return a.done(None);
        }
    };
    a.rule(
        Rule::MaxOrderValue,
        off_or(limits.max_order_value.map(money)),
        money(value),
        limits
            .max_order_value
            .filter(|max| value > *max)
            .map(|max| {
                format!(
                    "the order is worth {} ({} × {}), above max_order_value {}",
                    money(value),
                    qty.normalize(),
                    money(price),
                    money(max)
                )
            }),
    );
    let risk_up = increases_risk(order, facts, qty);
    if order.side == Side::Sell {
        let after = facts.position_qty + facts.reserved_sell_qty - qty;
        a.rule(
            Rule::ShortSelling,
            if limits.allow_short_selling {
                "allowed".into()
            } else {
                format!("hold {} shares", facts.position_qty.normalize())
            },
            format!("sell {}", qty.normalize()),
            (!limits.allow_short_selling && after < Decimal::ZERO).then(|| {
                format!(
                    "selling {} {sym} would go short (position {}, open sells {}) and \
                     allow_short_selling is off",
                    qty.normalize(),
                    facts.position_qty.normalize(),
                    (-facts.reserved_sell_qty).normalize()
                )
            }),
        );
    }
    // The largest the position can become if every open order and this one fill.
    let projected = match order.side {
        Side::Buy => facts.position_qty + facts.reserved_buy_qty + qty,
        Side::Sell => facts.position_qty + facts.reserved_sell_qty - qty,
    }
    .abs();
    let projected_value = projected * price;
    let reduces = "reduces the position".to_string();
    a.rule(
        Rule::MaxPositionValue,
        off_or(limits.max_position_value.map(money)),
        if risk_up {
            money(projected_value)
        } else {
            reduces.clone()
        },
        limits
            .max_position_value
            .filter(|max| risk_up && projected_value > *max)
            .map(|max| {
                format!(
                    "{sym} would be worth {} with this order ({} shares counting open orders), \
                     above max_position_value {}; the order is worth {}",
                    money(projected_value),
                    projected.normalize(),
                    money(max),
                    money(value)
                )
            }),
    );
    let cap = limits.max_position_pct_of_equity.map(|pct| {
        (
            pct,
            facts.equity.max(Decimal::ZERO) * pct / Decimal::ONE_HUNDRED,
        )
    });
    a.rule(
        Rule::MaxPositionPctOfEquity,
        off_or(cap.map(|(pct, cap)| format!("{}% of equity = {}", pct.normalize(), money(cap)))),
        if risk_up {
            money(projected_value)
        } else {
            reduces.clone()
        },
        cap.filter(|(_, cap)| risk_up && projected_value > *cap)
            .map(|(pct, cap)| {
                format!(
                    "{sym} would be worth {} with this order, above \
                     max_position_pct_of_equity {}% of equity {} = {}; the order is worth {}",
                    money(projected_value),
                    pct.normalize(),
                    money(facts.equity),
                    money(cap),
                    money(value)
                )
            }),
    );
    pace(&mut a, limits, facts, risk_up, value);
    a.done(Some(Passed {
        signed_qty: qty * order.side.sign(),
        value,
        price,
    }))
}

/// The rules every order meets first, whatever it trades: the kill switch, the live switch,
/// allowed and blocked symbols (for options, the underlying), the asset class, market hours.
fn gate(a: &mut Account, limits: &Limits, facts: &Facts, sym: &Symbol, asset_class: AssetClass) {
    let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
    a.rule(
        Rule::KillSwitch,
        on_off(limits.kill_switch),
        String::new(),
        limits.kill_switch.then(|| {
            "the kill switch is on in QuantDesk: every new order is refused until the person \
             turns it off"
                .into()
        }),
    );
    if facts.live {
        a.rule(
            Rule::LiveTradingOff,
            on_off(facts.live_enabled),
            "live".into(),
            (!facts.live_enabled)
                .then(|| "live trading is off; only the person can turn it on in QuantDesk".into()),
        );
    }
    a.rule(
        Rule::AllowedSymbols,
        if limits.allowed_symbols.is_empty() {
            "any symbol not blocked".into()
        } else {
            format!("listed symbols only ({})", join(&limits.allowed_symbols))
        },
        sym.to_string(),
        (!limits.allowed_symbols.is_empty() && !limits.allowed_symbols.contains(sym)).then(|| {
            format!(
                "{sym} is not in the allowed symbols ({})",
                join(&limits.allowed_symbols)
            )
        }),
    );
    a.rule(
        Rule::BlockedSymbols,
        if limits.blocked_symbols.is_empty() {
            "none blocked".into()
        } else {
            join(&limits.blocked_symbols)
        },
        sym.to_string(),
        limits
            .blocked_symbols
            .contains(sym)
            .then(|| format!("{sym} is blocked in QuantDesk")),
    );
    a.rule(
        Rule::AssetClasses,
        join(&limits.allowed_asset_classes),
        asset_class.to_string(),
        (!limits.allowed_asset_classes.contains(&asset_class)).then(|| {
            format!(
                "{} is not an allowed asset class ({})",
                asset_class,
                join(&limits.allowed_asset_classes)
            )
        }),
    );
    a.rule(
        Rule::TradingHours,
        if limits.market_hours_only {
            "market hours only"
        } else {
            "any time"
        }
        .into(),
        if facts.market_open || asset_class.trades_24h() {
            "market open".into()
        } else {
            "market closed".into()
        },
        (limits.market_hours_only && !facts.market_open && !asset_class.trades_24h()).then(|| {
            format!(
                "the market is closed at {} and market_hours_only is on",
                facts.market_now.format("%Y-%m-%d %H:%M UTC")
            )
        }),
    );
}

/// The rules every order meets last: the daily loss (for orders that add risk) and the pace of
/// orders.
fn pace(a: &mut Account, limits: &Limits, facts: &Facts, risk_up: bool, value: Decimal) {
    let reduces = "reduces the position".to_string();
    let day = daily_loss(
        limits.max_daily_loss,
        facts.session_open_equity,
        facts.equity,
    );
    a.rule(
        Rule::MaxDailyLoss,
        off_or(limits.max_daily_loss.map(money)),
        if risk_up {
            format!("today's loss {}", money(day.loss))
        } else {
            reduces
        },
        limits
            .max_daily_loss
            .filter(|_| risk_up && day.reached)
            .map(|max| {
                format!(
                    "today's loss is {} (equity {} at the session open, {} now), at or above \
                     max_daily_loss {}: only orders that reduce a position are allowed; this \
                     order is worth {}",
                    money(day.loss),
                    money(facts.session_open_equity),
                    money(facts.equity),
                    money(max),
                    money(value)
                )
            }),
    );
    a.rule(
        Rule::MaxOrdersPerMinute,
        off_or(
            limits
                .max_orders_per_minute
                .map(|m| format!("{m} a minute")),
        ),
        format!("{} in the last minute", facts.orders_last_minute),
        limits
            .max_orders_per_minute
            .filter(|max| facts.orders_last_minute >= *max)
            .map(|max| {
                format!(
                    "{} orders were placed in the last minute; max_orders_per_minute is {max}",
                    facts.orders_last_minute
                )
            }),
    );
}

/// Today's loss against the daily-loss limit, measured the one way the guard measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLoss {
    /// Equity at the session open minus equity now (negative: a gain).
    pub loss: Decimal,
    /// Room left before the limit refuses risk-increasing orders (`None`: no limit), never
    /// below zero.
    pub room: Option<Decimal>,
    /// Whether the limit is reached: only risk-reducing orders pass.
    pub reached: bool,
}

/// The daily-loss rule's own figures, for the guard and for the Home screen alike.
pub fn daily_loss(limit: Option<Decimal>, open_equity: Decimal, equity: Decimal) -> DailyLoss {
    let loss = open_equity - equity;
    DailyLoss {
        loss,
        room: limit.map(|l| (l - loss.max(Decimal::ZERO)).max(Decimal::ZERO)),
        reached: limit.is_some_and(|l| loss >= l),
    }
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
mod tests;
