//! What the app's self-update may do and shows: an update is never installed while an order
//! waits for the person's decision (installing restarts the app, and the approval window with
//! it), and the person sees what is new before anything is downloaded. Checking, downloading
//! and verifying the signed update is the shell's (src-tauri/src/updater.rs, over
//! `tauri-plugin-updater`); this is the part that needs the store.

use serde::Serialize;
use specta::Type;

use crate::{Desktop, DesktopError};

/// A newer release than the running one, as the update banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct UpdateInfo {
    /// The running version, e.g. `0.1.0`.
    pub current_version: String,
    /// The version on offer, e.g. `0.2.0`.
    pub version: String,
    /// What's new, from the release manifest (`notes`); empty when it has none.
    pub notes: String,
    /// When it was published (RFC 3339), when the manifest says.
    pub date: Option<String>,
}

/// Download progress of an update, sent to the UI as the `update-progress` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct UpdateProgress {
    pub downloaded: u64,
    /// The download's size, when the server sends `Content-Length`.
    pub total: Option<u64>,
}

impl Desktop {
    /// Refuses to start an update while any order waits for the person's approval.
    pub async fn update_allowed(&self) -> Result<(), DesktopError> {
        let waiting = self.pending_approvals().await?.len();
        match waiting {
            0 => Ok(()),
            1 => Err(DesktopError::Refused(
                "An order is waiting for your approval. Approve or reject it first, then update."
                    .into(),
            )),
            n => Err(DesktopError::Refused(format!(
                "{n} orders are waiting for your approval. Approve or reject them first, then update."
            ))),
        }
    }
}
