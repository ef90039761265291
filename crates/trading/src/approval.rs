//! Waiting for the person. A pending order is announced to the desktop app (if it runs) and a
//! place call waits a while for the decision, which may arrive over the app's channel — then
//! this process applies it, through the guard — or be applied by any other process; the
//! journal row says when. The approval's expiry is the guard's one rule
//! ([`quantdesk_guard::approval_expired`]); nothing here computes it again.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use quantdesk_guard::OrderRecord;
use quantdesk_ipc::{ApprovalRequest, Connection, Message};

use crate::outcome::{OrderOutcome, Placed, decided_message};
use crate::{Desk, TradingError};

/// Where a waiting place call reports that it still waits (the MCP progress notification).
pub trait WaitProgress: Send + Sync {
    fn say(
        &self,
        done: f64,
        total: f64,
        message: String,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// How a place call waits for the person.
#[derive(Debug, Clone)]
pub struct ApprovalWait {
    /// How long to wait before answering "waiting" (Claude Desktop cuts a call off at about
    /// 60 s).
    pub wait: Duration,
    /// The data folder, where the desktop app's socket is (`None`: never announce).
    pub data_dir: Option<PathBuf>,
}

impl Default for ApprovalWait {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(40),
            data_dir: None,
        }
    }
}

/// How often the journal is looked at, and how often progress is reported.
const POLL: Duration = Duration::from_millis(250);
const NOTE_EVERY_SECS: u64 = 5;

impl Desk {
    /// Waits for the person's decision on the pending order `placed` (up to `how.wait`) and
    /// answers what became of it, or that it still waits.
    pub async fn wait_for_approval(
        &self,
        placed: Placed,
        how: &ApprovalWait,
        progress: Option<&dyn WaitProgress>,
    ) -> Result<Placed, TradingError> {
        let id = placed.client_order_id.clone();
        let started = Instant::now();
        let total = how.wait.as_secs_f64();
        let mut last_note = 0u64;
        let mut link = match (&how.data_dir, &placed.order) {
            (Some(dir), Some(order)) => announce(dir, order, placed.value).await,
            _ => None,
        };
        let app_running = link.is_some();
        if let Some(p) = progress {
            let text = format!("waiting for the person's approval of {id} in QuantDesk");
            p.say(0.0, total, text).await;
        }
        while started.elapsed() < how.wait {
            match link.as_mut() {
                Some(conn) => {
                    if !self.serve_decision(conn).await {
                        link = None;
                    }
                }
                None => tokio::time::sleep(POLL).await,
            }
            let order = self.order(&id).await?;
            if !order.status.is_undecided() {
                let message = decided_message(&order);
                return Ok(Placed {
                    outcome: OrderOutcome::of(&order),
                    message,
                    rule: None,
                    order: Some(order),
                    ..placed
                });
            }
            let secs = started.elapsed().as_secs();
            if secs >= last_note + NOTE_EVERY_SECS
                && let Some(p) = progress
            {
                last_note = secs;
                let text = format!("still waiting for the person's approval of {id} in QuantDesk");
                p.say(started.elapsed().as_secs_f64(), total, text).await;
            }
        }
        let order = self.order(&id).await?;
        Ok(Placed {
            outcome: OrderOutcome::of(&order),
            message: still_waiting(&order, app_running),
            rule: None,
            order: Some(order),
            ..placed
        })
    }

    /// Reads one message from the app's channel and applies a decision it carries; `false`
    /// when the channel is gone (the order stays pending in the store).
    async fn serve_decision(&self, conn: &mut Connection) -> bool {
        match conn.recv_within(POLL).await {
            Ok(Some(Message::Decision {
                client_order_id,
                approve,
                by,
                signature,
            })) => {
                let (status, message) = self
                    .apply_decision(&client_order_id, approve, &by, signature.as_deref())
                    .await;
                let reply = Message::DecisionApplied {
                    client_order_id,
                    status,
                    message,
                };
                conn.send(&reply).await.is_ok()
            }
            Ok(_) => true,
            Err(err) => {
                tracing::debug!(%err, "the app's channel dropped; the order stays pending in the store");
                false
            }
        }
    }

    /// Applies the person's decision received over the app's channel: approval goes through the
    /// guard again and is sent if it still passes; rejection is recorded.
    async fn apply_decision(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        signature: Option<&str>,
    ) -> (String, String) {
        let by = format!("person via QuantDesk app ({by})");
        if approve {
            match self.approve(id, &by, signature).await {
                Ok(placed) => (placed.outcome.as_str().into(), placed.message),
                Err(err) => ("error".into(), err.to_string()),
            }
        } else {
            match self.reject(id, &by, signature).await {
                Ok(true) => ("rejected_by_person".into(), "rejected; not sent".into()),
                Ok(false) => ("unchanged".into(), "the order was no longer pending".into()),
                Err(err) => ("error".into(), err.to_string()),
            }
        }
    }
}

fn still_waiting(order: &OrderRecord, app_running: bool) -> String {
    let id = &order.client_order_id;
    let expires = order
        .approval_expires_at
        .map(|e| e.format("%H:%M UTC").to_string())
        .unwrap_or_default();
    let app = if app_running {
        "The person has been asked in the QuantDesk app."
    } else {
        "The QuantDesk app is not running, so the request waits in QuantDesk until the person \
         opens it."
    };
    format!(
        "waiting for your approval in QuantDesk: order {id}. {app} It is sent only if approved \
         (and still inside the limits then); unapproved, it expires unsent at {expires}. Follow \
         it with get_orders."
    )
}

/// Tells the desktop app about the pending order; `None` if the app is not running. The
/// request carries the order's own fields and the value the guard measured; what the window
/// shows of the limits comes from the guard's explanation, read by the app itself.
async fn announce(
    dir: &std::path::Path,
    order: &OrderRecord,
    value: Option<quantdesk_domain::Decimal>,
) -> Option<Connection> {
    let mut conn = match quantdesk_ipc::connect_to_app(dir).await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::info!(%err, "approval request stays in the store");
            return None;
        }
    };
    let r = &order.request;
    let text = |d: Option<quantdesk_domain::Decimal>| d.map(|d| d.to_string());
    let value = value.map(|v| v.round_dp(2).to_string()).unwrap_or_default();
    let request = ApprovalRequest {
        client_order_id: order.client_order_id.clone(),
        broker: order.broker.clone(),
        mode: order.mode.clone(),
        symbol: r.symbol.to_string(),
        side: r.side.to_string(),
        order_type: r.order_type.to_string(),
        qty: text(r.qty),
        notional: text(r.notional),
        limit_price: text(r.limit_price),
        stop_price: text(r.stop_price),
        value,
        expires_at: order.approval_expires_at,
    };
    match conn
        .send(&Message::ApprovalRequested(Box::new(request)))
        .await
    {
        Ok(()) => Some(conn),
        Err(err) => {
            tracing::info!(%err, "could not announce the approval request to the app");
            None
        }
    }
}
