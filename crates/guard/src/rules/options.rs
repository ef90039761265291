//! The rules for an options order in legs: the gate every order meets (kill switch, live
//! switch, allowed and blocked underlyings, asset class, market hours), then what only legs
//! have — no uncovered short calls or puts unless allowed, the contracts, the premium paid and
//! the most the order can lose, each from the legs by `quantdesk_domain::spread::risk` — then
//! the daily loss and the pace of orders. Pure, like the equity rules beside it.

use quantdesk_domain::spread::{Leg, PriceEffect, Risk, risk};
use quantdesk_domain::{AssetClass, Decimal, Side, Symbol};
use serde::{Deserialize, Serialize};

use super::{Account, Explanation, Facts, Passed, Rule, gate, money, off_or, pace};
use crate::Limits;

/// The options limits. `None` switches one off; the defaults are tight for a fresh install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptionLimits {
    /// Dollars of premium one order may pay.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_option_premium: Option<Decimal>,
    /// Contracts one order may hold (every leg, every spread).
    pub max_contracts: Option<u32>,
    /// Dollars one order may lose at most (its defined risk).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_spread_loss: Option<Decimal>,
    /// Allow short calls or puts no long option of the order covers.
    pub allow_naked_options: bool,
}

impl Default for OptionLimits {
    fn default() -> Self {
        Self {
            max_option_premium: Some(Decimal::from(2_000)),
            max_contracts: Some(20),
            max_spread_loss: Some(Decimal::from(2_000)),
            allow_naked_options: false,
        }
    }
}

/// An options order with its legs checked (`quantdesk_domain::spread::legs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionOrder {
    pub underlying: Symbol,
    pub legs: Vec<Leg>,
    /// Spreads.
    pub qty: Decimal,
    /// Net price per spread, per share.
    pub limit_price: Decimal,
    pub price_effect: PriceEffect,
}

/// Every rule checked against an options order, with the verdict, and the order's risk (what
/// every answer shows as `max_loss`).
pub fn explain_options(
    order: &OptionOrder,
    limits: &Limits,
    options: &OptionLimits,
    facts: &Facts,
) -> (Explanation, Risk) {
    let r = risk(
        &order.legs,
        order.qty,
        order.limit_price,
        order.price_effect,
    );
    let mut a = Account {
        checks: Vec::new(),
        refusal: None,
    };
    gate(&mut a, limits, facts, &order.underlying, AssetClass::Option);
    let naked = r.naked_calls + r.naked_puts;
    a.rule(
        Rule::NakedOptions,
        if options.allow_naked_options {
            "allowed".into()
        } else {
            "every short option covered".into()
        },
        match naked {
            0 => "covered".into(),
            n => format!("{n} uncovered short option(s) per spread"),
        },
        (!options.allow_naked_options && naked > 0).then(|| {
            format!(
                "the order sells {} call(s) and {} put(s) per spread that no long option of it \
                 covers, and allow_naked_options is off",
                r.naked_calls, r.naked_puts
            )
        }),
    );
    a.rule(
        Rule::MaxContracts,
        off_or(options.max_contracts.map(|m| format!("{m} contracts"))),
        format!("{} contracts", r.contracts.normalize()),
        options
            .max_contracts
            .filter(|max| r.contracts > Decimal::from(*max))
            .map(|max| {
                format!(
                    "the order holds {} contracts ({} spread(s) of {} leg(s)), above \
                     max_contracts {max}",
                    r.contracts.normalize(),
                    order.qty.normalize(),
                    order.legs.len()
                )
            }),
    );
    let paid = (-r.premium).max(Decimal::ZERO);
    a.rule(
        Rule::MaxOptionPremium,
        off_or(options.max_option_premium.map(money)),
        match order.price_effect {
            PriceEffect::Debit => format!("pays {}", money(paid)),
            PriceEffect::Credit => format!("receives {}", money(r.premium)),
        },
        options
            .max_option_premium
            .filter(|max| paid > *max)
            .map(|max| {
                format!(
                    "the order pays {} of premium, above max_option_premium {}",
                    money(paid),
                    money(max)
                )
            }),
    );
    a.rule(
        Rule::MaxSpreadLoss,
        off_or(options.max_spread_loss.map(money)),
        r.max_loss
            .map_or_else(|| "unbounded".into(), |l| format!("can lose {}", money(l))),
        options.max_spread_loss.and_then(|max| match r.max_loss {
            Some(loss) if loss > max => Some(format!(
                "the order can lose up to {} at expiry, above max_spread_loss {}",
                money(loss),
                money(max)
            )),
            Some(_) => None,
            None => Some(format!(
                "the order's loss has no bound (uncovered short calls, or a short leg \
                 expiring after a long one), so max_spread_loss {} cannot hold",
                money(max)
            )),
        }),
    );
    // Opening options adds risk; what it is worth is the most it can lose (or, unbounded, the
    // premium at stake).
    let value = r.max_loss.unwrap_or(paid);
    pace(&mut a, limits, facts, true, value);
    let side = if order.price_effect == PriceEffect::Debit {
        Side::Buy
    } else {
        Side::Sell
    };
    let passed = Passed {
        signed_qty: order.qty * side.sign(),
        value,
        price: order.limit_price,
    };
    (a.done(Some(passed)), r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use quantdesk_domain::spread::{LegInput, legs};

    fn facts() -> Facts {
        Facts {
            live: false,
            live_enabled: false,
            last: None,
            market_now: Utc.with_ymd_and_hms(2013, 3, 1, 15, 0, 0).unwrap(),
            market_open: true,
            equity: Decimal::from(100_000),
            session_open_equity: Decimal::from(100_000),
            position_qty: Decimal::ZERO,
            reserved_buy_qty: Decimal::ZERO,
            reserved_sell_qty: Decimal::ZERO,
            orders_last_minute: 0,
        }
    }

    fn order(
        spec: &[(&str, Side, u32)],
        qty: i64,
        price: &str,
        effect: PriceEffect,
    ) -> OptionOrder {
        let inputs: Vec<LegInput> = spec
            .iter()
            .map(|(s, side, ratio)| LegInput {
                symbol: (*s).into(),
                side: *side,
                ratio: Some(*ratio),
            })
            .collect();
        OptionOrder {
            underlying: Symbol::parse("GOOG").unwrap(),
            legs: legs(&inputs, NaiveDate::from_ymd_opt(2013, 3, 1).unwrap()).unwrap(),
            qty: Decimal::from(qty),
            limit_price: price.parse().unwrap(),
            price_effect: effect,
        }
    }

    fn limits() -> Limits {
        Limits {
            allowed_asset_classes: vec![AssetClass::Stock, AssetClass::Option],
            ..Limits::default()
        }
    }

    const LONG: &str = "GOOG130322C00800000";
    const SHORT: &str = "GOOG130322C00810000";

    #[test]
    fn a_vertical_spread_within_the_limits_passes_with_its_max_loss() {
        let o = order(
            &[(LONG, Side::Buy, 1), (SHORT, Side::Sell, 1)],
            2,
            "4.20",
            PriceEffect::Debit,
        );
        let (e, r) = explain_options(&o, &limits(), &OptionLimits::default(), &facts());
        assert_eq!(r.max_loss, Some(Decimal::from(840)));
        let passed = e.verdict.clone().expect("passes");
        assert_eq!(passed.value, Decimal::from(840));
        let loss = e.check(Rule::MaxSpreadLoss).unwrap();
        assert_eq!(
            (loss.limit.as_str(), loss.this_order.as_str()),
            ("$2000", "can lose $840")
        );
        for rule in [
            Rule::NakedOptions,
            Rule::MaxContracts,
            Rule::MaxOptionPremium,
            Rule::KillSwitch,
            Rule::AssetClasses,
        ] {
            assert!(e.check(rule).unwrap().passed, "{rule}");
        }
    }

    #[test]
    fn naked_shorts_big_orders_and_unbounded_losses_are_refused_by_name() {
        let refusal = |o: &OptionOrder, l: &OptionLimits| {
            explain_options(o, &limits(), l, &facts())
                .0
                .verdict
                .unwrap_err()
        };
        let naked = order(&[(SHORT, Side::Sell, 1)], 1, "3", PriceEffect::Credit);
        let r = refusal(&naked, &OptionLimits::default());
        assert_eq!(r.rule, Rule::NakedOptions);
        assert!(
            r.message.contains("1 call(s) and 0 put(s)"),
            "{}",
            r.message
        );
        // Allowed naked, the unbounded loss still cannot meet a loss limit …
        let allowed = OptionLimits {
            allow_naked_options: true,
            ..OptionLimits::default()
        };
        assert_eq!(refusal(&naked, &allowed).rule, Rule::MaxSpreadLoss);
        // … and passes with that limit off too.
        let open = OptionLimits {
            max_spread_loss: None,
            ..allowed
        };
        assert!(
            explain_options(&naked, &limits(), &open, &facts())
                .0
                .verdict
                .is_ok()
        );
        let many = order(
            &[(LONG, Side::Buy, 1), (SHORT, Side::Sell, 1)],
            11,
            "0.5",
            PriceEffect::Debit,
        );
        let r = refusal(&many, &OptionLimits::default());
        assert_eq!(r.rule, Rule::MaxContracts);
        assert!(
            r.message
                .contains("22 contracts (11 spread(s) of 2 leg(s))"),
            "{}",
            r.message
        );
        let dear = order(&[(LONG, Side::Buy, 1)], 5, "12", PriceEffect::Debit);
        let r = refusal(&dear, &OptionLimits::default());
        assert_eq!(r.rule, Rule::MaxOptionPremium);
        assert!(r.message.contains("pays $6000"), "{}", r.message);
        // Options not among the allowed asset classes: refused before anything else.
        let stocks_only = explain_options(
            &dear,
            &Limits::default(),
            &OptionLimits::default(),
            &facts(),
        );
        assert_eq!(stocks_only.0.verdict.unwrap_err().rule, Rule::AssetClasses);
        // The kill switch stops options too.
        let killed = Limits {
            kill_switch: true,
            ..limits()
        };
        let spread = order(
            &[(LONG, Side::Buy, 1), (SHORT, Side::Sell, 1)],
            1,
            "4",
            PriceEffect::Debit,
        );
        let e = explain_options(&spread, &killed, &OptionLimits::default(), &facts()).0;
        assert_eq!(e.verdict.unwrap_err().rule, Rule::KillSwitch);
    }
}
