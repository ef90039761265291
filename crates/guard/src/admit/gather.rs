//! What admission reads and writes inside its transaction besides the order itself: the facts
//! the rules need, and a refusal's record.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Decimal, OrderRequest};
use quantdesk_store::StoreError;
use sqlx::SqliteConnection;

use super::{MarketFacts, Venue};
use crate::GuardError;
use crate::journal::{self, RefusalRecord};
use crate::rules::{Facts, Refusal};

/// Reads, inside the transaction, what the rules need beyond the broker's facts.
pub(super) async fn gather(
    conn: &mut SqliteConnection,
    venue: &Venue,
    request: &OrderRequest,
    market: &MarketFacts,
    live_enabled: bool,
    wall: DateTime<Utc>,
    except: Option<&str>,
) -> Result<Facts, GuardError> {
    let symbol = request.symbol.as_str();
    let position_qty = match market.position_qty {
        Some(q) => q,
        None => {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT qty FROM paper_positions WHERE symbol = ?")
                    .bind(symbol)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::from)?;
            row.map(|(q,)| journal::parse_dec(&q))
                .transpose()?
                .unwrap_or(Decimal::ZERO)
        }
    };
    let (reserved_buy_qty, reserved_sell_qty) = journal::reserved_in(conn, symbol, except).await?;
    let orders_last_minute = journal::admitted_last_minute_in(conn, wall).await?;
    let (broker, mode, date) = (&venue.broker, venue.mode(), market.session_date);
    journal::note_session_in(conn, broker, mode, date, market.equity).await?;
    let open_equity = journal::session_open_equity_in(conn, broker, mode, date)
        .await?
        .unwrap_or(market.equity);
    Ok(Facts {
        live: venue.live,
        live_enabled,
        last: market.last,
        market_now: market.market_now,
        market_open: market.market_open,
        equity: market.equity,
        session_open_equity: open_equity,
        position_qty,
        reserved_buy_qty,
        reserved_sell_qty,
        orders_last_minute,
    })
}

pub(super) async fn record_refusal(
    conn: &mut SqliteConnection,
    id: &str,
    venue: &Venue,
    request: &OrderRequest,
    refusal: &Refusal,
    wall: DateTime<Utc>,
) -> Result<(), GuardError> {
    let record = RefusalRecord {
        client_order_id: id.into(),
        broker: venue.broker.clone(),
        mode: venue.mode().into(),
        request: request.clone(),
        rule: refusal.rule.as_str().into(),
        message: refusal.message.clone(),
    };
    journal::record_refusal_in(conn, &record, wall).await
}
