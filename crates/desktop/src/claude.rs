//! Connecting Claude Desktop: a thin layer over `quantdesk-claude` that knows which sidecar and
//! data folder to write, says the state in one sentence, and offers to restart Claude Desktop
//! where `quantdesk_claude::restart` can.

use std::path::Path;

use quantdesk_claude::{Environment, Os, RestartOffer, ServerEntry, Status, restart, restart_hint};
use serde_json::json;

use crate::views::{ClaudeRestart, ClaudeStatus};
use crate::{Desktop, DesktopError};

/// Where Linux lists its processes (Claude Desktop is looked for there).
const PROC: &str = "/proc";

fn restart_offer() -> RestartOffer {
    restart::offer(Os::current(), &Environment::from_process(), Path::new(PROC))
}

impl Desktop {
    /// The entry we want: the sidecar by absolute path, pointed at the app's data folder so both
    /// share one store. No secret, no environment.
    pub fn server_entry(&self) -> ServerEntry {
        let mut entry = ServerEntry::new(self.sidecar.clone());
        entry.args = vec![
            "--data-dir".into(),
            self.data_dir.to_string_lossy().into_owned(),
        ];
        entry
    }

    pub fn claude_status(&self) -> ClaudeStatus {
        let path = self.claude.path().display().to_string();
        let hint = restart_hint(Os::current()).to_string();
        let (state, message) = match self.claude.status(&self.server_entry()) {
            Ok(Status::Connected) => (
                "connected",
                "Claude Desktop launches QuantDesk's tools.".to_string(),
            ),
            Ok(Status::NotConnected) => (
                "not_connected",
                "Claude Desktop is set up, but QuantDesk is not connected yet.".to_string(),
            ),
            Ok(Status::NoConfigFile) => (
                "no_config_file",
                "Claude Desktop has no configuration yet; connecting creates it.".to_string(),
            ),
            Ok(Status::Stale { .. }) => (
                "stale",
                "Claude Desktop points at an older QuantDesk; connect again to update it."
                    .to_string(),
            ),
            Err(err) => ("error", err.to_string()),
        };
        let (can_restart, restart_note) = match restart_offer() {
            RestartOffer::Available { how } => (true, how),
            RestartOffer::Unavailable { why } => (false, why),
        };
        ClaudeStatus {
            state: state.into(),
            connected: state == "connected",
            config_path: path,
            message,
            restart_hint: hint,
            can_restart,
            restart_note,
        }
    }

    /// The person's click on "Restart Claude Desktop": quits it and opens it again where the OS
    /// allows (`quantdesk_claude::restart`), off the async threads (it waits for Claude to quit),
    /// and logs the attempt. Where it can't, the error says why and what to do.
    pub async fn restart_claude(&self) -> Result<ClaudeRestart, DesktopError> {
        let done = tokio::task::spawn_blocking(|| {
            restart::restart(Os::current(), &Environment::from_process(), Path::new(PROC))
        })
        .await
        .map_err(|e| DesktopError::Refused(format!("restarting Claude Desktop failed: {e}")))?;
        self.audit(
            "settings",
            if done.is_ok() { "ok" } else { "error" },
            None,
            json!({
                "setting": "claude_desktop",
                "action": "restart",
                "result": match &done {
                    Ok(r) => r.message.clone(),
                    Err(e) => e.to_string(),
                },
            }),
        )
        .await?;
        match done {
            Ok(r) => Ok(ClaudeRestart { message: r.message }),
            Err(e) => Err(DesktopError::Refused(e.to_string())),
        }
    }

    /// Writes our entry into Claude Desktop's config (merge, backup, atomic) and logs it.
    pub async fn connect_claude(&self) -> Result<ClaudeStatus, DesktopError> {
        let change = self.claude.connect(&self.server_entry())?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({
                "setting": "claude_desktop",
                "action": "connect",
                "config": change.path.display().to_string(),
                "changed": change.changed,
                "backup": change.backup.map(|p| p.display().to_string()),
            }),
        )
        .await?;
        Ok(self.claude_status())
    }

    /// Removes only our entry.
    pub async fn disconnect_claude(&self) -> Result<ClaudeStatus, DesktopError> {
        let change = self.claude.disconnect()?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({
                "setting": "claude_desktop",
                "action": "disconnect",
                "config": change.path.display().to_string(),
                "changed": change.changed,
            }),
        )
        .await?;
        Ok(self.claude_status())
    }
}
