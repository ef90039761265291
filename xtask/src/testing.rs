//! `cargo xtask test`: everything CI checks, in the order that fails fastest.
//!
//! The UI is built first because `--workspace` includes src-tauri, whose
//! `tauri::generate_context!` needs `ui/dist`. `cargo test` also builds the binaries the
//! Python tests drive (`quantdesk-mcp`, the Alpaca and Coinbase stand-ins), because their packages have
//! integration tests that run them; building them once, with the test feature set, is why there
//! is no separate `cargo build` step (a second feature set would recompile half the tree).
//!
//! The installers are checked by `cargo xtask bundle --check` (the .deb from the outside, the
//! signed update manifest, the .mcpb), not here: its two release builds with fat LTO take about
//! half an hour on 2 cores, which would double CI. The release workflow runs it on Linux before
//! it signs the .deb.

use anyhow::Result;

use crate::{e2e, python, setup, step, ui};

pub fn test() -> Result<()> {
    setup::setup()?;
    ui::build()?;
    step::run(
        "cargo fmt --check",
        step::cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step::run(
        "cargo clippy",
        step::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step::run("cargo test", step::cargo().args(["test", "--workspace"]))?;
    python::pytest()?;
    e2e::test()
}
