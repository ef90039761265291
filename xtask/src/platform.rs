//! `cargo xtask platform`: builds the platform (`quantdesk-platform`) and becomes it, serving the
//! website and API on http://127.0.0.1:8787 with SQLite in its own data dir; extra arguments go
//! to it (`--database-url postgres://…`, `--listen …`, `publish DIR`).
//!
//! [`local_platform`] is how `cargo xtask run` finds it: a platform answering on 127.0.0.1:8787
//! whose public key is in the default data dir makes the app sign in there and trust that key.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::step;

/// Where `cargo xtask platform` serves.
pub const LOCAL_URL: &str = "http://127.0.0.1:8787";

pub fn platform(args: &[String]) -> Result<()> {
    step::run(
        "build: quantdesk-platform",
        step::cargo().args(["build", "-p", "quantdesk-platform"]),
    )?;
    let bin = step::debug_bin("quantdesk-platform");
    step::announce(&format!("exec: {}", bin.display()));
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(args);
    crate::mcp::exec(cmd)
}

/// The platform's default data dir (as `directories` puts it for the binary).
fn default_data_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let base = if cfg!(target_os = "macos") {
        home.join("Library/Application Support")
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".local/share"))
    };
    Some(base.join("quantdesk-platform"))
}

/// The URL and public key of a platform started by `cargo xtask platform` on this machine, if
/// one is answering.
pub fn local_platform() -> Option<(String, String)> {
    let key = std::fs::read_to_string(default_data_dir()?.join("public-key")).ok()?;
    let addr: SocketAddr = "127.0.0.1:8787".parse().ok()?;
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    Some((LOCAL_URL.to_string(), key.trim().to_string()))
}
