//! `cargo xtask run`: the developer's "just start it" — everything the app needs, then the app.

use std::env;

use anyhow::Result;

use crate::{platform, setup, step, ui};

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
    let mut app = std::process::Command::new(step::debug_bin("quantdesk-app"));
    app.args(args).current_dir(step::root());
    if env::var_os("QUANTDESK_PLATFORM_URL").is_none()
        && let Some((url, key)) = platform::local_platform()
    {
        eprintln!("    the platform of `cargo xtask platform` answers: the app signs in at {url}");
        app.env("QUANTDESK_PLATFORM_URL", url)
            .env("QUANTDESK_PUBLIC_KEY", key);
    }
    step::run("run: quantdesk-app", &mut app)
}
