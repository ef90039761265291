//! Brokers for QuantDesk behind one [`Broker`] trait — the built-in paper broker (the default:
//! its own cash, positions, orders and fills in the store, priced from the market-data provider,
//! with a replay clock over the bundled history offline) and Alpaca (through `apca`). The order
//! path that drives them — guard, approval, send once, record — is `quantdesk-trading`'s desk.
//!
//! A broker must never be handed an order except by that desk (which claims the journal row by
//! compare-and-set first, so a client order id reaches a broker at most once), never change
//! an order's journal row except through the guard's journal functions, and never hide which
//! money moves: every answer names the broker and says `paper` or `live`.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod alpaca;
mod error;
mod paper;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderStatus, Symbol};
use quantdesk_guard::{OrderRecord, PricePoint};
use serde::Serialize;

pub use alpaca::{
    ALPACA_KEY_ID_ENTRY, ALPACA_LINK_SETTING, ALPACA_LIVE_URL, ALPACA_PAPER_URL,
    ALPACA_SECRET_ENTRY, AlpacaBroker, AlpacaLinkRecord, LinkError, LinkedAlpaca, detect_feed,
    verify_key,
};
pub use error::BrokerError;
pub use paper::{PaperBroker, PaperConfig, REPLAY_START};

/// The market's clock as the broker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MarketClock {
    pub now: DateTime<Utc>,
    pub is_open: bool,
    /// The trading day `now` belongs to.
    pub session_date: NaiveDate,
}

/// Cash and value of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountInfo {
    pub broker: String,
    /// `paper` or `live`.
    pub mode: String,
    pub currency: String,
    pub cash: Decimal,
    pub equity: Decimal,
    pub buying_power: Decimal,
    pub positions_value: Decimal,
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    /// The equity at the previous session's close, where the broker reports it (Alpaca): the
    /// baseline of today's loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_equity: Option<Decimal>,
    pub as_of: DateTime<Utc>,
}

/// One position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionInfo {
    pub symbol: Symbol,
    /// Shares; negative when short.
    pub qty: Decimal,
    pub avg_entry_price: Decimal,
    pub current_price: Option<Decimal>,
    pub market_value: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
}

/// What the broker did with a sent order (already written to the journal by the broker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sent {
    pub status: OrderStatus,
    pub broker_order_id: Option<String>,
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub reason: Option<String>,
}

/// Something that happened to an order at the broker outside a tool call (a resting order
/// filled, a day order expired), for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerEvent {
    pub client_order_id: String,
    pub symbol: Symbol,
    pub status: OrderStatus,
    pub filled_qty: Decimal,
    pub price: Option<Decimal>,
    pub reason: Option<String>,
}

/// A broker account. Implementations record what they did in the order journal themselves,
/// because for the paper broker the fill and the journal change are one transaction.
#[async_trait]
pub trait Broker: Send + Sync + std::fmt::Debug {
    /// `paper`, `alpaca`.
    fn name(&self) -> &'static str;
    /// Whether real money moves.
    fn live(&self) -> bool;
    /// How this broker prices `symbol`'s fills, for order answers (the paper broker: `live
    /// quote` or `replay`); `None` where the broker's own market fills them.
    fn pricing(&self, _symbol: &Symbol) -> Option<&'static str> {
        None
    }
    /// Whether positions live in QuantDesk's store (the paper broker): the guard then reads them
    /// inside its admission transaction.
    fn positions_in_store(&self) -> bool {
        false
    }
    async fn clock(&self) -> Result<MarketClock, BrokerError>;
    async fn last_price(&self, symbol: &Symbol) -> Result<Option<PricePoint>, BrokerError>;
    async fn account(&self) -> Result<AccountInfo, BrokerError>;
    async fn positions(&self) -> Result<Vec<PositionInfo>, BrokerError>;
    /// Sends an order the desk has claimed (status `sending`) and records the outcome.
    async fn submit(&self, order: &OrderRecord) -> Result<Sent, BrokerError>;
    /// Cancels an open order at the broker and records it.
    async fn cancel(&self, order: &OrderRecord) -> Result<(), BrokerError>;
    /// The broker's view of an order by client order id; `None` if it never arrived.
    async fn lookup(&self, order: &OrderRecord) -> Result<Option<Sent>, BrokerError>;
    /// Brings open orders up to date (fills, expiries) and records them.
    async fn sync(&self) -> Result<Vec<BrokerEvent>, BrokerError>;
}

/// Runs `f` again after short pauses while it fails in the store: bookkeeping after a broker's
/// answer must not give up at the first busy or failing write. Other errors return at once.
pub(crate) async fn retried<T, F, Fut>(mut f: F) -> Result<T, BrokerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BrokerError>>,
{
    const PAUSES: [std::time::Duration; 2] = [
        std::time::Duration::from_millis(50),
        std::time::Duration::from_millis(250),
    ];
    let mut pauses = PAUSES.iter();
    loop {
        match f().await {
            Err(e @ (BrokerError::Store(_) | BrokerError::Guard(_))) => match pauses.next() {
                Some(pause) => {
                    tracing::warn!(err = %e, "recording a broker's answer failed; retrying");
                    tokio::time::sleep(*pause).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

pub(crate) fn parse_dec(s: &str) -> Result<Decimal, BrokerError> {
    s.parse::<Decimal>()
        .map_err(|e| BrokerError::Corrupt(format!("decimal '{s}': {e}")))
}
