//! `cargo xtask ui`: builds the web UI into `ui/dist`.
//!
//! Why xtask and not Tauri's `beforeBuildCommand`: `tauri::generate_context!` embeds `ui/dist`
//! at compile time, so every cargo build of src-tauri (including `clippy --workspace`) needs it to
//! exist first. Doing it here keeps cargo builds free of npm and makes the order explicit.

use std::{path::PathBuf, process::Command};

use anyhow::Result;

use crate::{setup, step};

pub fn dir() -> PathBuf {
    step::root().join("ui")
}

/// `npm ci` when `ui/node_modules` is missing (a clean install from package-lock.json).
pub fn npm_ci_if_missing() -> Result<()> {
    if setup::non_empty_dir(&dir().join("node_modules")) {
        return Ok(());
    }
    step::run("ui: npm ci", npm().arg("ci"))
}

pub fn build() -> Result<()> {
    npm_ci_if_missing()?;
    step::run("ui: npm run build", npm().args(["run", "build"]))
}

fn npm() -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir());
    // npm prints progress and results on stdout; keep ours clean for `xtask mcp` and CI logs alike.
    step::stdout_to_stderr(&mut cmd);
    cmd
}
