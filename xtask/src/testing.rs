//! `cargo xtask test`: everything CI checks, in the order that fails fastest.
//!
//! The UI is built first because `--workspace` includes src-tauri, whose
//! `tauri::generate_context!` needs `ui/dist`. The binaries are built before the Python tests
//! because those drive the real `quantdesk-mcp` over stdio, across a process boundary.

use anyhow::Result;

use crate::{python, setup, step, ui};

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
    step::run(
        "cargo build --bins",
        step::cargo().args(["build", "--workspace", "--bins"]),
    )?;
    step::run("cargo test", step::cargo().args(["test", "--workspace"]))?;
    python::pytest()
}
