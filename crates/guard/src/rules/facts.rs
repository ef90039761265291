//! What the rules speak of: the rule names, a refusal, the facts gathered for one order and
//! what an accepted order reserves.

use chrono::{DateTime, Utc};
use quantdesk_domain::Decimal;
use serde::{Deserialize, Serialize};

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
    /// An options order sells calls or puts none of its long options cover.
    NakedOptions,
    /// Contracts in one options order.
    MaxContracts,
    /// Premium one options order pays.
    MaxOptionPremium,
    /// The most one options order can lose at expiry, from its legs.
    MaxSpreadLoss,
    /// The limits, approval policy or live switch were not sealed by the app (see `seal`).
    SettingsSeal,
    /// An order the approval policy holds for the person, about to be sent without the app's
    /// signed approval beside it in the journal (see `admit::late`).
    ApprovalSignature,
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
            Rule::NakedOptions => "allow_naked_options",
            Rule::MaxContracts => "max_contracts",
            Rule::MaxOptionPremium => "max_option_premium",
            Rule::MaxSpreadLoss => "max_spread_loss",
            Rule::SettingsSeal => "settings_seal",
            Rule::ApprovalSignature => "approval_signature",
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
