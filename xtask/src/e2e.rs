//! The desktop app end to end (`tests/e2e`): a real window under Xvfb driven by `tauri-driver`
//! (with Debian's `WebKitWebDriver`) from pytest, and the idle-memory measurement `cargo xtask
//! bench` prints. `tauri-driver` is installed from crates.io when missing.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{python, step};

/// Installs `tauri-driver` if it is not on PATH, and checks the rest is there.
fn ensure_driver() -> Result<()> {
    if !step::on_path("tauri-driver") {
        step::run(
            "cargo install tauri-driver --locked",
            step::cargo().args(["install", "tauri-driver", "--locked"]),
        )?;
    }
    for tool in ["WebKitWebDriver", "Xvfb"] {
        if !step::on_path(tool) {
            bail!("{tool} is missing: install webkit2gtk-driver and xvfb (cargo xtask setup)");
        }
    }
    Ok(())
}

fn build_app() -> Result<()> {
    step::run(
        "build: quantdesk-app, quantdesk-mcp",
        step::cargo().args(["build", "-p", "quantdesk-app", "-p", "quantdesk-mcp"]),
    )
}

fn pytest(name: &str, target: &str) -> Result<()> {
    let venv = python::venv(
        "py-venv",
        &step::root().join("tests/python/requirements.txt"),
    )?;
    step::run(
        name,
        Command::new(python::venv_bin(&venv, "python"))
            .args(["-m", "pytest", target, "-q", "-s"])
            .env("QUANTDESK_APP_BIN", step::debug_bin("quantdesk-app"))
            .env("QUANTDESK_MCP_BIN", step::debug_bin("quantdesk-mcp"))
            .env(
                "QUANTDESK_SCREENSHOTS",
                step::target_dir().join("e2e-screenshots"),
            )
            .current_dir(step::root()),
    )
}

/// Onboarding, Claude Desktop connection, approve and reject through the real window.
pub fn test() -> Result<()> {
    ensure_driver()?;
    build_app()?;
    pytest("pytest tests/e2e (the app in a real window)", "tests/e2e")
}

/// Idle memory after onboarding: summed PSS of the app and its WebKit processes.
pub fn memory() -> Result<()> {
    ensure_driver()?;
    build_app()?;
    pytest("app idle memory (PSS)", "tests/e2e/bench_memory.py")
}
