//! The order journal: every order the guard admitted or parked for approval, keyed by its client
//! order id, with its status. Status changes are compare-and-set (`WHERE status IN (...)`), so
//! two processes racing to move one order can never both win — which is what keeps an order
//! from being sent twice.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{Decimal, OrderRequest, OrderStatus};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection};

use crate::GuardError;

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRecord {
    pub client_order_id: String,
    pub broker: String,
    /// `paper` or `live`.
    pub mode: String,
    pub broker_order_id: Option<String>,
    pub request: OrderRequest,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub session_date: NaiveDate,
    pub approval_expires_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, GuardError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| GuardError::Corrupt(format!("timestamp '{s}': {e}")))
}

pub(crate) fn parse_dec(s: &str) -> Result<Decimal, GuardError> {
    Decimal::from_str(s).map_err(|e| GuardError::Corrupt(format!("decimal '{s}': {e}")))
}

const COLUMNS: &str = "client_order_id, broker, mode, broker_order_id, request, status, reason, \
    filled_qty, avg_fill_price, created_at, updated_at, session_date, approval_expires_at, \
    decided_by, decided_at";

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<OrderRecord, GuardError> {
    let request: String = row.try_get("request")?;
    let status: String = row.try_get("status")?;
    let opt_ts = |name: &str| -> Result<Option<DateTime<Utc>>, GuardError> {
        row.try_get::<Option<String>, _>(name)?
            .map(|s| parse_ts(&s))
            .transpose()
    };
    let session: String = row.try_get("session_date")?;
    Ok(OrderRecord {
        client_order_id: row.try_get("client_order_id")?,
        broker: row.try_get("broker")?,
        mode: row.try_get("mode")?,
        broker_order_id: row.try_get("broker_order_id")?,
        request: serde_json::from_str(&request)
            .map_err(|e| GuardError::Corrupt(format!("order request: {e}")))?,
        status: OrderStatus::from_str(&status).map_err(GuardError::Corrupt)?,
        reason: row.try_get("reason")?,
        filled_qty: parse_dec(&row.try_get::<String, _>("filled_qty")?)?,
        avg_fill_price: row
            .try_get::<Option<String>, _>("avg_fill_price")?
            .map(|s| parse_dec(&s))
            .transpose()?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        session_date: NaiveDate::from_str(&session)
            .map_err(|e| GuardError::Corrupt(format!("session date '{session}': {e}")))?,
        approval_expires_at: opt_ts("approval_expires_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: opt_ts("decided_at")?,
    })
}

pub(crate) async fn insert(conn: &mut SqliteConnection, r: &OrderRecord) -> Result<(), GuardError> {
    let request = serde_json::to_string(&r.request)
        .map_err(|e| GuardError::Corrupt(format!("order request: {e}")))?;
    sqlx::query(
        "INSERT INTO orders (client_order_id, broker, mode, broker_order_id, symbol, side, \
         order_type, time_in_force, request, status, reason, filled_qty, avg_fill_price, \
         created_at, updated_at, session_date, approval_expires_at, decided_by, decided_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.client_order_id)
    .bind(&r.broker)
    .bind(&r.mode)
    .bind(&r.broker_order_id)
    .bind(r.request.symbol.as_str())
    .bind(r.request.side.as_str())
    .bind(r.request.order_type.as_str())
    .bind(r.request.time_in_force.as_str())
    .bind(request)
    .bind(r.status.as_str())
    .bind(&r.reason)
    .bind(r.filled_qty.to_string())
    .bind(r.avg_fill_price.map(|d| d.to_string()))
    .bind(ts(r.created_at))
    .bind(ts(r.updated_at))
    .bind(r.session_date.to_string())
    .bind(r.approval_expires_at.map(ts))
    .bind(&r.decided_by)
    .bind(r.decided_at.map(ts))
    .execute(conn)
    .await?;
    Ok(())
}

/// The order with this client order id.
pub async fn get_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
) -> Result<Option<OrderRecord>, GuardError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE client_order_id = ?"
    )))
    .bind(client_order_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Orders in any of `statuses` (all when empty), newest first.
pub async fn list_in(
    conn: &mut SqliteConnection,
    statuses: &[OrderStatus],
    limit: i64,
) -> Result<Vec<OrderRecord>, GuardError> {
    let filter = if statuses.is_empty() {
        String::new()
    } else {
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        format!("WHERE status IN ({list})")
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders {filter} ORDER BY created_at DESC, client_order_id LIMIT ?"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The app's signature over the person's decision on `client_order_id`, if one was kept.
pub(crate) async fn decision_signature_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
) -> Result<Option<String>, GuardError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT decision_signature FROM orders WHERE client_order_id = ?")
            .bind(client_order_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(sig,)| sig))
}

/// What a status change also writes.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    pub reason: Option<&'a str>,
    pub broker_order_id: Option<&'a str>,
    pub filled_qty: Option<Decimal>,
    pub avg_fill_price: Option<Decimal>,
    pub decided_by: Option<&'a str>,
    /// The app's signature over the person's decision, kept with the order.
    pub decision_signature: Option<&'a str>,
    pub sending_by: Option<&'a str>,
}

/// Moves the order from one of `from` to `to`; `false` when it was not in any of `from` (another
/// process moved it first). A final status releases the order's reservation in the same
/// statement batch.
pub async fn transition_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    change: &Change<'_>,
    now: DateTime<Utc>,
) -> Result<bool, GuardError> {
    let list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let now_s = ts(now);
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE orders SET status = ?, updated_at = ?, \
         reason = COALESCE(?, reason), broker_order_id = COALESCE(?, broker_order_id), \
         filled_qty = COALESCE(?, filled_qty), avg_fill_price = COALESCE(?, avg_fill_price), \
         decided_by = COALESCE(?, decided_by), \
         decided_at = CASE WHEN ? IS NULL THEN decided_at ELSE ? END, \
         decision_signature = COALESCE(?, decision_signature), \
         sending_by = COALESCE(?, sending_by), \
         sending_at = CASE WHEN ? IS NULL THEN sending_at ELSE ? END \
         WHERE client_order_id = ? AND status IN ({list})"
    )))
    .bind(to.as_str())
    .bind(&now_s)
    .bind(change.reason)
    .bind(change.broker_order_id)
    .bind(change.filled_qty.map(|d| d.to_string()))
    .bind(change.avg_fill_price.map(|d| d.to_string()))
    .bind(change.decided_by)
    .bind(change.decided_by)
    .bind(&now_s)
    .bind(change.decision_signature)
    .bind(change.sending_by)
    .bind(change.sending_by)
    .bind(&now_s)
    .bind(client_order_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done && to.is_final() {
        release_in(conn, client_order_id).await?;
    }
    Ok(done)
}

/// Drops the order's exposure reservation.
pub async fn release_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
) -> Result<(), GuardError> {
    sqlx::query("DELETE FROM order_reservations WHERE client_order_id = ?")
        .bind(client_order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The client order id for a request that came without one: the same request within the same
/// ten minutes gets the same id, so a retried tool call is recognised. The previous window's id
/// is checked too (see [`crate::Guard::admit`]), so a retry across a window edge is caught.
pub fn derived_client_order_id(request: &OrderRequest, window: i64) -> String {
    let canonical = serde_json::to_string(request).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(canonical.as_bytes());
    h.update(window.to_be_bytes());
    format!("qd-{}", &hex::encode(h.finalize())[..24])
}

/// The ten-minute window `t` falls in.
pub fn retry_window(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(600)
}

/// The exposure open orders hold in `symbol`: (buy shares ≥ 0, sell shares ≤ 0).
pub(crate) async fn reserved_in(
    conn: &mut SqliteConnection,
    symbol: &str,
    except: Option<&str>,
) -> Result<(Decimal, Decimal), GuardError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT client_order_id, signed_qty FROM order_reservations WHERE symbol = ?",
    )
    .bind(symbol)
    .fetch_all(conn)
    .await?;
    let (mut buys, mut sells) = (Decimal::ZERO, Decimal::ZERO);
    for (id, q) in rows {
        if Some(id.as_str()) == except {
            continue;
        }
        let q = parse_dec(&q)?;
        if q > Decimal::ZERO {
            buys += q;
        } else {
            sells += q;
        }
    }
    Ok((buys, sells))
}

pub(crate) async fn reserve_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
    symbol: &str,
    signed_qty: Decimal,
    notional: Decimal,
    now: DateTime<Utc>,
) -> Result<(), GuardError> {
    sqlx::query(
        "INSERT INTO order_reservations (client_order_id, symbol, signed_qty, notional, created_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_order_id) DO UPDATE SET \
         signed_qty = excluded.signed_qty, notional = excluded.notional",
    )
    .bind(client_order_id)
    .bind(symbol)
    .bind(signed_qty.to_string())
    .bind(notional.to_string())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Total reserved dollars across every open order (for tests and the app).
pub async fn reserved_notional_in(conn: &mut SqliteConnection) -> Result<Decimal, GuardError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT notional FROM order_reservations")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .try_fold(Decimal::ZERO, |acc, (n,)| Ok(acc + parse_dec(n)?))
}

/// Claims an order for sending: `accepted` → `sending`, or (`stale_before` given, for
/// reconciliation) a `sending` claim made before that instant. Compare-and-set: `true` for
/// exactly one claimer.
pub async fn claim_in(
    conn: &mut SqliteConnection,
    client_order_id: &str,
    actor: &str,
    now: DateTime<Utc>,
    stale_before: Option<DateTime<Utc>>,
) -> Result<bool, GuardError> {
    Ok(sqlx::query(
        "UPDATE orders SET status = 'sending', sending_by = ?, sending_at = ?, updated_at = ? \
         WHERE client_order_id = ? AND (status = 'accepted' \
         OR (? AND status = 'sending' AND sending_at < ?))",
    )
    .bind(actor)
    .bind(ts(now))
    .bind(ts(now))
    .bind(client_order_id)
    .bind(stale_before.is_some())
    .bind(stale_before.map(ts))
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The one approval-expiry rule: a pending order's approval has run out at `expires_at` and
/// from then on (an approval arriving at that instant is too late).
pub fn approval_expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|t| now >= t)
}

/// Pending orders whose approval has run out at `now` (by [`approval_expired`]).
pub(crate) async fn approvals_due_in(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<Vec<String>, GuardError> {
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT client_order_id FROM orders WHERE status = 'pending_approval' \
         AND approval_expires_at <= ?",
    )
    .bind(ts(now))
    .fetch_all(conn)
    .await?;
    Ok(due.into_iter().map(|(id,)| id).collect())
}

/// Orders admitted in the 60 seconds before `now` (what the orders-per-minute limit counts).
pub(crate) async fn admitted_last_minute_in(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<u32, GuardError> {
    let not_admitted = OrderStatus::NOT_ADMITTED
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM orders WHERE created_at > ? AND status NOT IN ({not_admitted})"
    )))
    .bind(ts(now - chrono::Duration::seconds(60)))
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A refused order as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    pub client_order_id: String,
    pub broker: String,
    pub mode: String,
    pub request: OrderRequest,
    pub rule: String,
    pub message: String,
}

pub(crate) async fn record_refusal_in(
    conn: &mut SqliteConnection,
    refused: &RefusalRecord,
    now: DateTime<Utc>,
) -> Result<(), GuardError> {
    let request_json = serde_json::to_string(&refused.request)
        .map_err(|e| GuardError::Corrupt(format!("order request: {e}")))?;
    sqlx::query(
        "INSERT INTO order_refusals (client_order_id, broker, mode, symbol, request, rule, \
         message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&refused.client_order_id)
    .bind(&refused.broker)
    .bind(&refused.mode)
    .bind(refused.request.symbol.as_str())
    .bind(request_json)
    .bind(&refused.rule)
    .bind(&refused.message)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest refusals, newest first.
pub(crate) async fn refusals_in(
    conn: &mut SqliteConnection,
    limit: i64,
) -> Result<Vec<RefusalRecord>, GuardError> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT client_order_id, broker, mode, request, rule, message FROM order_refusals \
         ORDER BY id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(client_order_id, broker, mode, request, rule, message)| {
            Ok(RefusalRecord {
                client_order_id,
                broker,
                mode,
                request: serde_json::from_str(&request)
                    .map_err(|e| GuardError::Corrupt(format!("refused request: {e}")))?,
                rule,
                message,
            })
        })
        .collect()
}

/// The equity today's loss is measured from, written once per venue and session (the first
/// writer wins).
pub(crate) async fn note_session_in(
    conn: &mut SqliteConnection,
    broker: &str,
    mode: &str,
    date: NaiveDate,
    equity: Decimal,
) -> Result<(), GuardError> {
    sqlx::query(
        "INSERT INTO trading_sessions (broker, mode, date, open_equity) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(broker)
    .bind(mode)
    .bind(date.to_string())
    .bind(equity.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The session's opening equity, if one was noted.
pub(crate) async fn session_open_equity_in(
    conn: &mut SqliteConnection,
    broker: &str,
    mode: &str,
    date: NaiveDate,
) -> Result<Option<Decimal>, GuardError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT open_equity FROM trading_sessions WHERE broker = ? AND mode = ? AND date = ?",
    )
    .bind(broker)
    .bind(mode)
    .bind(date.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|(text,)| parse_dec(&text)).transpose()
}
