//! The order path in one crate, readable top to bottom: a request is validated once and
//! checked against every limit by the guard (the only code that evaluates a limit, answering a
//! typed decision only it can construct); a pending order waits for the person (announced to
//! the app, one expiry rule — the guard's); an admitted order is sent exactly once (claimed by
//! compare-and-set, idempotent by client order id); what a dead process left is reconciled; and
//! every answer is shaped from one [`OrderOutcome`].
//!
//! It must never evaluate a limit itself (it asks the guard, and shows the guard's own
//! explanation), never send an order the guard has not accepted in the journal, never send a
//! client order id twice, never approve anything on its own, and never report an order the
//! broker filled as a failure: bookkeeping after the broker's answer is retried, then deferred.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod approval;
mod desk;
mod error;
mod outcome;
mod record;
mod send;

pub use approval::{ApprovalWait, WaitProgress};
pub use desk::Desk;
pub use error::TradingError;
pub use outcome::{OrderOutcome, Placed, shown_reason};
