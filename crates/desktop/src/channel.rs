//! The app's end of the approval channel (`quantdesk-ipc`): sidecars announce pending orders on
//! `ipc/app.sock`, and while a sidecar's `place_order` is still waiting, the person's decision
//! goes back to that sidecar, which applies it through its own guard and answers Claude at once.
//! When no sidecar is waiting for an order (its call returned, or it never reached the app), the
//! app applies the decision itself through the store — the journal is the record either way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quantdesk_ipc::{AppListener, Connection, Message};
use tokio::sync::{Notify, oneshot};

use crate::{Desktop, DesktopError};

/// How long the app waits for a sidecar to say what it did with a decision.
const APPLIED_WITHIN: Duration = Duration::from_secs(30);

/// The person's click (approve?, the app's signature over it), and where the sidecar's answer
/// (status, sentence) goes.
type Click = (
    bool,
    Option<String>,
    oneshot::Sender<Result<(String, String), String>>,
);

/// Orders a connected sidecar is waiting on, by client order id.
#[derive(Debug, Default)]
pub(crate) struct Waiting(Mutex<HashMap<String, oneshot::Sender<Click>>>);

impl Waiting {
    fn insert(&self, id: String, tx: oneshot::Sender<Click>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id, tx);
        }
    }

    fn take(&self, id: &str) -> Option<oneshot::Sender<Click>> {
        self.0.lock().ok().and_then(|mut m| m.remove(id))
    }
}

/// Serves one sidecar: each announced order waits for the person's click or the sidecar's
/// hang-up, whichever comes first.
async fn serve(mut conn: Connection, waiting: Arc<Waiting>, announced: Arc<Notify>, by: String) {
    loop {
        let request = match conn.recv().await {
            Ok(Some(Message::ApprovalRequested(r))) => r,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return,
        };
        let id = request.client_order_id.clone();
        let (tx, rx) = oneshot::channel::<Click>();
        waiting.insert(id.clone(), tx);
        announced.notify_one();
        // While it waits, the sidecar sends nothing; a read that completes means it hung up.
        let click = tokio::select! {
            click = rx => click.ok(),
            _ = conn.recv() => None,
        };
        let _ = waiting.take(&id);
        let Some((approve, signature, reply)) = click else {
            return;
        };
        let sent = conn
            .send(&Message::Decision {
                client_order_id: id.clone(),
                approve,
                by: by.clone(),
                signature,
            })
            .await;
        let answer = match sent {
            Err(e) => Err(e.to_string()),
            Ok(()) => match conn.recv_within(APPLIED_WITHIN).await {
                Ok(Some(Message::DecisionApplied {
                    status, message, ..
                })) => Ok((status, message)),
                Ok(other) => Err(format!("unexpected answer: {other:?}")),
                Err(e) => Err(e.to_string()),
            },
        };
        let _ = reply.send(answer);
    }
}

impl Desktop {
    /// Listens on `ipc/app.sock` until the app exits; `announced` is notified whenever a sidecar
    /// announces an order, so the shell can show it at once.
    pub async fn serve_sidecars(&self, announced: Arc<Notify>) -> Result<(), DesktopError> {
        let listener = AppListener::bind(&self.data_dir)
            .await
            .map_err(|e| DesktopError::Refused(format!("the approval channel: {e}")))?;
        loop {
            match listener.accept().await {
                Ok(conn) => {
                    tokio::spawn(serve(
                        conn,
                        self.waiting.clone(),
                        announced.clone(),
                        "a click in the Approvals window".to_string(),
                    ));
                }
                Err(err) => tracing::warn!(%err, "a sidecar could not connect"),
            }
        }
    }

    /// Hands the person's click, signed, to the sidecar waiting on `id`, if one is; `None`
    /// otherwise.
    pub(crate) async fn decide_through_sidecar(
        &self,
        id: &str,
        approve: bool,
        signature: Option<String>,
    ) -> Option<Result<(String, String), String>> {
        let tx = self.waiting.take(id)?;
        let (reply_tx, reply_rx) = oneshot::channel();
        tx.send((approve, signature, reply_tx)).ok()?;
        match tokio::time::timeout(APPLIED_WITHIN + Duration::from_secs(5), reply_rx).await {
            Ok(Ok(answer)) => Some(answer),
            _ => Some(Err("the sidecar did not answer".into())),
        }
    }
}
