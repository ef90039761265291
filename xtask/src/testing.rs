//! `cargo xtask test`: everything CI checks, in the order that fails fastest.
//!
//! The UI is built first because `--workspace` includes src-tauri, whose
//! `tauri::generate_context!` needs `ui/dist`. `cargo test` also builds the binaries the
//! Python tests drive (`quantdesk-mcp`, the Alpaca stand-in), because their packages have
//! integration tests that run them; building them once, with the test feature set, is why there
//! is no separate `cargo build` step (a second feature set would recompile half the tree).
//!
//! Last, the installers (`bundle::test`): the one release build of the sidecar and the app, the
//! .deb checked from the outside, the signed update manifest and the .mcpb. It is last because
//! it is the slowest step and everything before it must pass first.

use anyhow::Result;

use crate::{bundle, e2e, python, setup, step, ui};

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
    e2e::test()?;
    bundle::test()
}
