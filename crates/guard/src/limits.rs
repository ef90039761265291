//! The person's limits and approval policy, kept in the store's settings so the desktop app and
//! every sidecar read the same ones. Money is exact decimal text in the stored JSON.

use quantdesk_domain::{AssetClass, Decimal, Symbol};
use quantdesk_store::Store;
use rust_decimal::prelude::FromPrimitive;
use serde::{Deserialize, Serialize};

use crate::GuardError;

/// The settings key holding [`Limits`].
pub const LIMITS_SETTING: &str = "guard.limits";
/// The settings key holding the [`ApprovalPolicy`].
pub const APPROVAL_SETTING: &str = "guard.approval";
/// The store setting (a JSON bool) saying orders go to a live account; only the desktop app sets
/// it. Absent means paper. (The sidecar's scope gate reads the same key.)
pub const LIVE_TRADING_SETTING: &str = "trading.live";

/// Every limit an order is checked against. `None` switches a limit off; the defaults are
/// deliberately tight for a fresh install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Dollars one order may be worth.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_order_value: Option<Decimal>,
    /// Dollars one symbol's position may be worth, counting open orders.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_position_value: Option<Decimal>,
    /// Percent of equity one symbol's position may be worth, counting open orders.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_position_pct_of_equity: Option<Decimal>,
    /// Dollars that may be lost in a session (realised + unrealised) before risk-increasing
    /// orders are refused.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_daily_loss: Option<Decimal>,
    /// Orders admitted in any 60 seconds, across every process.
    pub max_orders_per_minute: Option<u32>,
    /// Percent a limit or stop price may lie from the last price.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub price_collar_pct: Option<Decimal>,
    /// Seconds a price may be old and still count as fresh.
    pub max_quote_age_secs: u64,
    /// Only these symbols, when not empty.
    pub allowed_symbols: Vec<Symbol>,
    pub blocked_symbols: Vec<Symbol>,
    pub allowed_asset_classes: Vec<AssetClass>,
    /// Refuse orders while the broker's market is closed.
    pub market_hours_only: bool,
    pub allow_short_selling: bool,
    /// Refuse every new order.
    pub kill_switch: bool,
}

fn dollars(n: i64) -> Option<Decimal> {
    Some(Decimal::from(n))
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_order_value: dollars(10_000),
            max_position_value: dollars(25_000),
            max_position_pct_of_equity: dollars(25),
            max_daily_loss: dollars(2_000),
            max_orders_per_minute: Some(10),
            price_collar_pct: Decimal::from_u32(5),
            max_quote_age_secs: 15 * 60,
            allowed_symbols: Vec::new(),
            blocked_symbols: Vec::new(),
            allowed_asset_classes: vec![AssetClass::Stock, AssetClass::Etf, AssetClass::Crypto],
            market_hours_only: true,
            allow_short_selling: false,
            kill_switch: false,
        }
    }
}

/// When an order waits for the person's click in the desktop app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum ApprovalPolicy {
    Never,
    Always,
    /// Orders worth more than `value` dollars.
    AboveValue {
        #[serde(with = "rust_decimal::serde::str")]
        value: Decimal,
    },
    /// Every order to a live account; paper orders go straight through. The default.
    #[default]
    LiveOnly,
}

impl ApprovalPolicy {
    pub fn requires(&self, live: bool, order_value: Decimal) -> bool {
        match self {
            ApprovalPolicy::Never => false,
            ApprovalPolicy::Always => true,
            ApprovalPolicy::AboveValue { value } => order_value > *value,
            ApprovalPolicy::LiveOnly => live,
        }
    }
}

/// Reads and writes the limits and policy.
pub async fn limits(store: &Store) -> Result<Limits, GuardError> {
    Ok(store.setting(LIMITS_SETTING).await?.unwrap_or_default())
}

pub async fn set_limits(store: &Store, limits: &Limits) -> Result<(), GuardError> {
    Ok(store.set_setting(LIMITS_SETTING, limits).await?)
}

pub async fn approval_policy(store: &Store) -> Result<ApprovalPolicy, GuardError> {
    Ok(store.setting(APPROVAL_SETTING).await?.unwrap_or_default())
}

pub async fn set_approval_policy(store: &Store, policy: &ApprovalPolicy) -> Result<(), GuardError> {
    Ok(store.set_setting(APPROVAL_SETTING, policy).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_exactly() {
        let l = Limits {
            max_order_value: Some(Decimal::new(1234567, 2)),
            ..Limits::default()
        };
        let json = serde_json::to_string(&l).unwrap();
        assert!(json.contains("\"12345.67\""), "{json}");
        assert_eq!(serde_json::from_str::<Limits>(&json).unwrap(), l);
        // A partial object keeps the defaults for the rest.
        let partial: Limits = serde_json::from_str(r#"{"kill_switch": true}"#).unwrap();
        assert!(partial.kill_switch);
        assert_eq!(partial.max_order_value, Limits::default().max_order_value);
    }

    #[test]
    fn policy_spellings() {
        let p: ApprovalPolicy =
            serde_json::from_str(r#"{"policy":"above_value","value":"500"}"#).unwrap();
        assert!(p.requires(false, Decimal::from(501)));
        assert!(!p.requires(true, Decimal::from(500)));
        assert!(ApprovalPolicy::default().requires(true, Decimal::ZERO));
        assert!(!ApprovalPolicy::default().requires(false, Decimal::MAX));
    }
}
