//! `cargo xtask run`: the developer's "just start it" — everything the app needs, then the app.

use std::env;

use anyhow::Result;

use crate::{setup, step, ui};

pub fn run(args: &[String]) -> Result<()> {
    setup::setup()?;
    ui::build()?;
    step::run(
        "build: quantdesk-mcp, quantdesk-app",
        step::cargo().args(["build", "-p", "quantdesk-mcp", "-p", "quantdesk-app"]),
    )?;
    if env::var_os("DISPLAY").is_none()
        && env::var_os("WAYLAND_DISPLAY").is_none()
        && step::on_path("Xvfb")
    {
        eprintln!(
            "hint: no display. Start a virtual one first:\n    Xvfb :99 & export DISPLAY=:99 WEBKIT_DISABLE_COMPOSITING_MODE=1"
        );
    }
    step::run(
        "run: quantdesk-app",
        std::process::Command::new(step::debug_bin("quantdesk-app"))
            .args(args)
            .current_dir(step::root()),
    )
}
