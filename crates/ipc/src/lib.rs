//! The local channel between the QuantDesk desktop app and its sidecars: a Unix socket in the
//! data folder (`ipc/app.sock`, served by the app), carrying versioned JSON lines. A sidecar
//! announces an order that waits for the person (`approval_requested`); the app answers with the
//! person's decision (`decision`), and the sidecar says what became of it (`decision_applied`).
//! Every connection opens with `hello` naming the protocol version; a peer speaking another
//! version is refused, never guessed at. (Windows named pipes come with the Windows build.)
//!
//! Only the same user is let in: the socket's folder is 0700 and the socket 0600, and each side
//! checks the other's uid (`SO_PEERCRED` on Linux, `getpeereid` on macOS, through Tokio's
//! `peer_cred`) before the hello, refusing any other user — root included.
//!
//! It must never carry a decision that did not come from a person's click, never carry a secret,
//! and never be the only record: pending orders and decisions live in the store's order journal,
//! so a closed app or a dropped connection loses nothing.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

/// The message format's version. Bump it when a message changes shape.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line accepted: a message is a few hundred bytes; anything near this is not ours.
const MAX_LINE: usize = 64 * 1024;

/// Where the app listens, inside the data folder.
pub fn app_socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ipc").join("app.sock")
}

/// The data folder's `ipc/`, made (or tightened to) 0700: the home of every local socket.
pub fn private_dir(data_dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = data_dir.join("ipc");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// Who is at the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    App,
    Sidecar,
}

/// An order waiting for the person, as the approval window shows it. Money is exact decimal
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub client_order_id: String,
    pub broker: String,
    /// `paper` or `live`.
    pub mode: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub qty: Option<String>,
    pub notional: Option<String>,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
    /// The order's value as the guard measured it.
    pub value: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One message on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Hello {
        version: u32,
        role: Role,
        pid: u32,
    },
    ApprovalRequested(Box<ApprovalRequest>),
    /// The person's decision; `by` names who clicked (for the audit log).
    Decision {
        client_order_id: String,
        approve: bool,
        by: String,
        /// The app's signature over the order and the verdict (`quantdesk_guard::seal`); a
        /// sealed desk acts on no decision without it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// What the receiving sidecar did with a decision: the order's status and a sentence.
    DecisionApplied {
        client_order_id: String,
        status: String,
        message: String,
    },
    Error {
        message: String,
    },
}

/// Each line: `{"v": 1, "type": ..., ...}`.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    v: u32,
    #[serde(flatten)]
    message: Message,
}

#[derive(Debug, Error)]
pub enum IpcError {
    #[error("the QuantDesk app is not running (no socket at {path}): {source}")]
    NotRunning {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the local channel failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the other side speaks protocol version {theirs}; this side speaks {PROTOCOL_VERSION}")]
    Version { theirs: u32 },
    #[error("unreadable message on the local channel: {0}")]
    Malformed(String),
    #[error("the other side closed the channel")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The other end runs as another user: refused before a word is read.
    #[error(
        "refused a connection from user id {uid}: only this user's QuantDesk may use the channel"
    )]
    OtherUser { uid: u32 },
}

/// How long the hello exchange may take before the connection is dropped.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(5);

/// The effective user id of this process.
fn our_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Refuses a peer whose (kernel-reported) user id is not ours.
pub fn check_peer(stream: &UnixStream) -> Result<(), IpcError> {
    let uid = stream.peer_cred()?.uid();
    if uid != our_uid() {
        return Err(IpcError::OtherUser { uid });
    }
    Ok(())
}

/// One end of a connection.
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Who the peer said it is.
    pub peer: Role,
    pub peer_pid: u32,
}

impl Connection {
    /// Says hello as `role` and reads the peer's hello; refuses another protocol version.
    async fn handshake(stream: UnixStream, role: Role) -> Result<Self, IpcError> {
        let (read, write) = stream.into_split();
        let mut conn = Self {
            reader: BufReader::new(read),
            writer: write,
            peer: role,
            peer_pid: 0,
        };
        conn.send(&Message::Hello {
            version: PROTOCOL_VERSION,
            role,
            pid: std::process::id(),
        })
        .await?;
        match conn.recv().await? {
            Some(Message::Hello { role, pid, .. }) => {
                conn.peer = role;
                conn.peer_pid = pid;
                Ok(conn)
            }
            Some(other) => Err(IpcError::Malformed(format!(
                "expected hello, got {other:?}"
            ))),
            None => Err(IpcError::Closed),
        }
    }

    pub async fn send(&mut self, message: &Message) -> Result<(), IpcError> {
        let mut line = serde_json::to_string(&Envelope {
            v: PROTOCOL_VERSION,
            message: message.clone(),
        })
        .map_err(|e| IpcError::Malformed(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// The next message; `None` when the peer closed the connection.
    pub async fn recv(&mut self) -> Result<Option<Message>, IpcError> {
        let mut line = String::new();
        let n = (&mut self.reader)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if !line.ends_with('\n') {
            return Err(IpcError::Malformed("a line longer than 64 KiB".into()));
        }
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| IpcError::Malformed(e.to_string()))?;
        let v = value
            .get("v")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if v != u64::from(PROTOCOL_VERSION) {
            return Err(IpcError::Version {
                theirs: u32::try_from(v).unwrap_or(u32::MAX),
            });
        }
        let envelope: Envelope =
            serde_json::from_value(value).map_err(|e| IpcError::Malformed(e.to_string()))?;
        Ok(Some(envelope.message))
    }

    /// The next message within `wait`: `Ok(None)` if none came, `Err(Closed)` if the peer hung
    /// up.
    pub async fn recv_within(&mut self, wait: Duration) -> Result<Option<Message>, IpcError> {
        match tokio::time::timeout(wait, self.recv()).await {
            Ok(Ok(None)) => Err(IpcError::Closed),
            Ok(r) => r,
            Err(_) => Ok(None),
        }
    }
}

/// A sidecar's connection to the app: `Err(NotRunning)` when the app is not listening.
pub async fn connect_to_app(data_dir: &Path) -> Result<Connection, IpcError> {
    let path = app_socket_path(data_dir);
    let stream = UnixStream::connect(&path)
        .await
        .map_err(|source| IpcError::NotRunning {
            path: path.clone(),
            source,
        })?;
    check_peer(&stream)?;
    let conn = tokio::time::timeout(
        HANDSHAKE_WITHIN,
        Connection::handshake(stream, Role::Sidecar),
    )
    .await
    .map_err(|_| IpcError::Timeout(HANDSHAKE_WITHIN))??;
    Ok(conn)
}

/// The app's side: listens on `ipc/app.sock` in the data folder.
#[derive(Debug)]
pub struct AppListener {
    listener: UnixListener,
    path: PathBuf,
}

impl AppListener {
    /// Binds the app's socket (its folder 0700, the socket 0600), replacing a stale one left by
    /// an app that died.
    pub async fn bind(data_dir: &Path) -> Result<Self, IpcError> {
        use std::os::unix::fs::PermissionsExt;
        let path = app_socket_path(data_dir);
        private_dir(data_dir)?;
        if path.exists() && UnixStream::connect(&path).await.is_err() {
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Self { listener, path })
    }

    /// The next sidecar, after the hello exchange. A peer running as another user is refused
    /// (`OtherUser`) before anything is read from it; one that does not say hello within 5 s
    /// is dropped (`Timeout`), so it cannot hold up the sidecars behind it.
    pub async fn accept(&self) -> Result<Connection, IpcError> {
        let (stream, _) = self.listener.accept().await?;
        check_peer(&stream)?;
        tokio::time::timeout(HANDSHAKE_WITHIN, Connection::handshake(stream, Role::App))
            .await
            .map_err(|_| IpcError::Timeout(HANDSHAKE_WITHIN))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AppListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
