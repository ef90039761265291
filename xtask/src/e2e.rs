//! The desktop app end to end (`tests/e2e`): a real window under Xvfb driven by `tauri-driver`
//! (with Debian's `WebKitWebDriver`) from pytest, and the idle-memory measurement `cargo xtask
//! bench` prints — of the release build, the one people run. `tauri-driver` is installed from
//! crates.io when missing.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{python, step, ui};

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

/// The app and its sidecar, in the dev profile (`release == false`) or the release profile.
fn build_app(release: bool) -> Result<()> {
    let mut cmd = step::cargo();
    cmd.args(["build", "-p", "quantdesk-app", "-p", "quantdesk-mcp"]);
    if release {
        cmd.arg("--release");
    }
    step::run(
        &format!(
            "build ({}): quantdesk-app, quantdesk-mcp",
            if release { "release" } else { "dev" }
        ),
        &mut cmd,
    )
}

fn bin(name: &str, release: bool) -> std::path::PathBuf {
    if release {
        step::release_bin(name)
    } else {
        step::debug_bin(name)
    }
}

fn pytest(name: &str, target: &str, release: bool) -> Result<()> {
    let venv = python::venv(
        "py-venv",
        &step::root().join("tests/python/requirements.txt"),
    )?;
    step::run(
        name,
        Command::new(python::venv_bin(&venv, "python"))
            .args(["-m", "pytest", target, "-q", "-s"])
            .env("QUANTDESK_APP_BIN", bin("quantdesk-app", release))
            .env("QUANTDESK_MCP_BIN", bin("quantdesk-mcp", release))
            .env(
                "QUANTDESK_PLATFORM_BIN",
                step::debug_bin("quantdesk-platform"),
            )
            .env(
                "QUANTDESK_COINBASE_STANDIN_BIN",
                step::debug_bin("quantdesk-coinbase-standin"),
            )
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
    build_app(false)?;
    pytest(
        "pytest tests/e2e (the app in a real window)",
        "tests/e2e",
        false,
    )
}

/// Idle memory after onboarding: summed PSS of the release app and its WebKit processes, with
/// a D-Bus session bus running as on a desktop. The UI is built first: the release binary
/// embeds `ui/dist`.
pub fn memory() -> Result<()> {
    ensure_driver()?;
    if !step::on_path("dbus-daemon") {
        bail!("dbus-daemon is missing: install dbus (cargo xtask setup)");
    }
    ui::build()?;
    build_app(true)?;
    pytest(
        "app idle memory (PSS, release build)",
        "tests/e2e/bench_memory.py",
        true,
    )
}
