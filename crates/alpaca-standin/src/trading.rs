//! Alpaca's Trading API (account, positions, orders) — not served yet.
//!
//! This is where it goes when QuantDesk learns to trade. Read-only endpoints with fixed answers
//! (`GET /v2/account`, `GET /v2/positions`) need no code: add fixtures and `responses` entries
//! in `fixtures/routes.json`. Orders need state (an order placed with `POST /v2/orders` must
//! show up in `GET /v2/orders` and change the account), so they belong here, behind
//! [`handle`], which [`dispatch`](crate::dispatch) already consults after the market-data
//! endpoints. Every trading request is in the request log with its body, so tests can prove
//! that nothing was sent to the broker without the person's confirmation.

use crate::{Incoming, Reply};

/// The trading endpoints' answer to `request`, or `None` if it is not one of theirs (today: no
/// request is).
pub(crate) fn handle(_request: &Incoming) -> Option<Reply> {
    None
}
