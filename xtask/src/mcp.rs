//! `cargo xtask mcp`: builds the MCP server and becomes it, so Claude Desktop (or the MCP
//! inspector) can be pointed at `cargo xtask mcp` during development.
//!
//! stdout is the MCP protocol from the first byte: nothing here may print to stdout. Messages
//! go to stderr, and cargo's own stdout is redirected there too.

use std::process::Command;

use anyhow::Result;

use crate::step;

pub fn mcp(args: &[String]) -> Result<()> {
    step::run(
        "build: quantdesk-mcp",
        step::stdout_to_stderr(step::cargo().args(["build", "-p", "quantdesk-mcp"])),
    )?;
    let bin = step::debug_bin("quantdesk-mcp");
    step::announce(&format!("exec: {}", bin.display()));
    let mut cmd = Command::new(&bin);
    cmd.args(args);
    exec(cmd)
}

/// Replaces this process with `cmd` (stdio and signals go straight to the server).
#[cfg(unix)]
pub fn exec(mut cmd: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(anyhow::anyhow!(
        "step `exec: {}` failed: {err}",
        cmd.get_program().to_string_lossy()
    ))
}

/// No exec on this platform: run the server as a child and exit with its code.
#[cfg(not(unix))]
pub fn exec(mut cmd: Command) -> Result<()> {
    let status = cmd.status()?;
    std::process::exit(status.code().unwrap_or(1));
}
