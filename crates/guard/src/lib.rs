//! The guard: the one place an order is allowed or refused before it reaches any broker. It
//! holds the person's limits (max order value, max position value and share of equity, max
//! daily loss, orders per minute, price collar and fresh-quote rule, allowed and blocked symbols
//! and asset classes, trading hours, short selling, live trading, the kill switch; for options
//! orders in legs also uncovered shorts, contracts, premium and the spread's max loss) and the
//! approval policy, all kept in the store, and the order journal in which every admitted order
//! and its exposure reservation are written in the same transaction as the check.
//!
//! It must never let an order through on a failed read (an error refuses), never admit an order
//! without writing its reservation in the same `BEGIN IMMEDIATE` transaction as its check, and
//! never approve anything by itself: approvals come from the person, through the desktop app.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod admit;
mod error;
pub mod journal;
mod limits;
mod rules;
pub mod seal;

pub use admit::{Admission, Guard, MarketFacts, Sealed, Venue};
pub use error::GuardError;
pub use journal::{Change, OrderRecord, RefusalRecord, approval_expired};
pub use limits::{
    APPROVAL_SETTING, ApprovalPolicy, LIMITS_SETTING, LIVE_TRADING_SETTING, Limits,
    approval_policy, limits, set_approval_policy, set_limits,
};
pub use rules::{
    Check, DailyLoss, Explanation, Facts, OptionLimits, OptionOrder, Passed, PricePoint, Refusal,
    Rule, daily_loss, evaluate, explain, explain_options, increases_risk,
};
