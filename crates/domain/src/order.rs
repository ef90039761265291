//! Orders as a person (through Claude) asks for them, and what became of them. Quantities and
//! prices are `Decimal`; a request is plain data that every broker and the guard read alike.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AssetClass, Decimal, Symbol};

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

word_enum!(
    /// Buy or sell.
    Side { Buy = "buy", Sell = "sell" }
);

impl Side {
    /// +1 for a buy, -1 for a sell: a fill's effect on the position.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

word_enum!(
    /// How the order's price is set.
    OrderType {
        Market = "market",
        Limit = "limit",
        Stop = "stop",
        StopLimit = "stop_limit",
        TrailingStop = "trailing_stop",
    }
);

word_enum!(
    /// How long an order works: the session (`day`), until cancelled (`gtc`), or fill what can be
    /// filled now and cancel the rest (`ioc`).
    TimeInForce { Day = "day", Gtc = "gtc", Ioc = "ioc" }
);

word_enum!(
    /// Where an order is in its life. `pending_approval` waits for the person; `accepted` passed
    /// the guard and is about to be sent; `sending` is in flight (a crash here is reconciled
    /// with the broker on start); `open` rests at the broker; the rest are final
    /// (`rejected_by_guard`: approved, but a limit blocked it at that moment).
    OrderStatus {
        PendingApproval = "pending_approval",
        Accepted = "accepted",
        Sending = "sending",
        Open = "open",
        PartiallyFilled = "partially_filled",
        Filled = "filled",
        Canceled = "canceled",
        Expired = "expired",
        RejectedByBroker = "rejected_by_broker",
        RejectedByPerson = "rejected_by_person",
        RejectedByGuard = "rejected_by_guard",
        ApprovalExpired = "approval_expired",
    }
);

impl OrderStatus {
    /// The one list of order-status groups; everything that filters orders by status uses these.
    /// Nothing more will happen to these orders.
    pub const FINAL: [OrderStatus; 7] = [
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Expired,
        OrderStatus::RejectedByBroker,
        OrderStatus::RejectedByPerson,
        OrderStatus::RejectedByGuard,
        OrderStatus::ApprovalExpired,
    ];
    /// Admitted and at (or on their way to) the broker.
    pub const WORKING: [OrderStatus; 4] = [
        OrderStatus::Accepted,
        OrderStatus::Sending,
        OrderStatus::Open,
        OrderStatus::PartiallyFilled,
    ];
    /// Admitted but not yet known to the broker: what reconciliation looks at.
    pub const UNSENT: [OrderStatus; 2] = [OrderStatus::Accepted, OrderStatus::Sending];
    /// What a broker can still cancel.
    pub const CANCELLABLE_AT_BROKER: [OrderStatus; 3] = [
        OrderStatus::Open,
        OrderStatus::PartiallyFilled,
        OrderStatus::Accepted,
    ];
    /// What the kill switch cancels: resting at the broker, or waiting for the person.
    pub const KILLABLE: [OrderStatus; 3] = [
        OrderStatus::Open,
        OrderStatus::PartiallyFilled,
        OrderStatus::PendingApproval,
    ];
    /// Never admitted, so not counted against the orders-per-minute limit.
    pub const NOT_ADMITTED: [OrderStatus; 4] = [
        OrderStatus::PendingApproval,
        OrderStatus::RejectedByPerson,
        OrderStatus::ApprovalExpired,
        OrderStatus::RejectedByGuard,
    ];

    /// Nothing more will happen to the order.
    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self)
    }

    /// Waiting for the person, or admitted but not yet answered by the broker: a place call
    /// waiting on an approval keeps waiting while the order is in one of these.
    pub fn is_undecided(self) -> bool {
        matches!(
            self,
            OrderStatus::PendingApproval | OrderStatus::Accepted | OrderStatus::Sending
        )
    }
}

/// An order as asked for. Exactly one of `qty` and `notional` is set (checked by
/// [`OrderRequest::validate`]); prices are set as the order type needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRequest {
    pub symbol: Symbol,
    pub asset_class: AssetClass,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub qty: Option<Decimal>,
    /// Dollars to trade instead of a share count (market orders, where the broker allows).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub notional: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub limit_price: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub stop_price: Option<Decimal>,
    /// Trailing stop distance in percent.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub trail_percent: Option<Decimal>,
    /// Bracket: the take-profit limit price.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub take_profit: Option<Decimal>,
    /// Bracket: the stop-loss stop price.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub stop_loss: Option<Decimal>,
}

impl OrderRequest {
    /// A market order for `qty` (tests and examples).
    pub fn market(symbol: Symbol, side: Side, qty: Decimal) -> Self {
        Self {
            symbol,
            asset_class: AssetClass::Stock,
            side,
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Day,
            qty: Some(qty),
            notional: None,
            limit_price: None,
            stop_price: None,
            trail_percent: None,
            take_profit: None,
            stop_loss: None,
        }
    }

    /// A limit order for `qty` at `limit`.
    pub fn limit(symbol: Symbol, side: Side, qty: Decimal, limit: Decimal) -> Self {
        Self {
            order_type: OrderType::Limit,
            limit_price: Some(limit),
            ..Self::market(symbol, side, qty)
        }
    }

    pub fn is_bracket(&self) -> bool {
        self.take_profit.is_some() || self.stop_loss.is_some()
    }

    /// Refuses a request that no broker could take as meant, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, v: Option<Decimal>| match v {
            Some(v) if v <= Decimal::ZERO => Err(format!("{name} must be above 0, got {v}")),
            _ => Ok(()),
        };
        positive("qty", self.qty)?;
        positive("notional", self.notional)?;
        positive("limit_price", self.limit_price)?;
        positive("stop_price", self.stop_price)?;
        positive("trail_percent", self.trail_percent)?;
        positive("take_profit", self.take_profit)?;
        positive("stop_loss", self.stop_loss)?;
        match (self.qty, self.notional) {
            (Some(_), Some(_)) => return Err("give qty or notional, not both".into()),
            (None, None) => return Err("give qty (shares) or notional (dollars)".into()),
            (None, Some(_)) if self.order_type != OrderType::Market => {
                return Err("notional orders must be market orders".into());
            }
            _ => {}
        }
        let needs = |name: &str, v: Option<Decimal>| {
            v.map(|_| ())
                .ok_or_else(|| format!("a {} order needs {name}", self.order_type))
        };
        let refuses = |name: &str, v: Option<Decimal>| match v {
            Some(_) => Err(format!("a {} order takes no {name}", self.order_type)),
            None => Ok(()),
        };
        match self.order_type {
            OrderType::Market => {
                refuses("limit_price", self.limit_price)?;
                refuses("stop_price", self.stop_price)?;
            }
            OrderType::Limit => {
                needs("limit_price", self.limit_price)?;
                refuses("stop_price", self.stop_price)?;
            }
            OrderType::Stop => {
                needs("stop_price", self.stop_price)?;
                refuses("limit_price", self.limit_price)?;
            }
            OrderType::StopLimit => {
                needs("limit_price", self.limit_price)?;
                needs("stop_price", self.stop_price)?;
            }
            OrderType::TrailingStop => {
                needs("trail_percent", self.trail_percent)?;
            }
        }
        if self.order_type != OrderType::TrailingStop {
            refuses("trail_percent", self.trail_percent)?;
        }
        if self.is_bracket() {
            let (Some(tp), Some(sl)) = (self.take_profit, self.stop_loss) else {
                return Err("a bracket order needs both take_profit and stop_loss".into());
            };
            let ok = match self.side {
                Side::Buy => tp > sl,
                Side::Sell => tp < sl,
            };
            if !ok {
                return Err(format!(
                    "a bracket {} needs take_profit {} stop_loss (got {tp} and {sl})",
                    self.side,
                    if self.side == Side::Buy {
                        "above"
                    } else {
                        "below"
                    }
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn goog() -> Symbol {
        Symbol::parse("GOOG").unwrap()
    }

    #[test]
    fn a_limit_order_needs_its_price() {
        let mut r = OrderRequest::limit(goog(), Side::Buy, dec!(1), dec!(700));
        assert!(r.validate().is_ok());
        r.limit_price = None;
        assert!(r.validate().unwrap_err().contains("limit_price"));
    }

    #[test]
    fn qty_or_notional_never_both() {
        let mut r = OrderRequest::market(goog(), Side::Buy, dec!(1));
        r.notional = Some(dec!(100));
        assert!(r.validate().is_err());
        r.qty = None;
        assert!(r.validate().is_ok());
    }

    #[test]
    fn words_round_trip() {
        assert_eq!("stop_limit".parse::<OrderType>(), Ok(OrderType::StopLimit));
        assert_eq!(OrderStatus::PendingApproval.as_str(), "pending_approval");
        assert!("fok".parse::<TimeInForce>().is_err());
    }
}
