//! `cargo xtask bench`: the Rust benchmarks, then (later) the Python reference benchmarks that
//! time the same computations in the tools quants already use, for comparison.

use anyhow::Result;

use crate::step;

pub fn bench(args: &[String]) -> Result<()> {
    step::run(
        "cargo bench",
        step::cargo()
            .args(["bench", "--workspace", "--exclude", "quantdesk-app"])
            .args(args),
    )?;
    python_reference_benchmarks()
}

/// Placeholder: Python reference benchmarks (e.g. TA-Lib, backtesting.py, vectorbt on the same
/// data) go here, run from `target/py-venv` like the Python tests.
fn python_reference_benchmarks() -> Result<()> {
    step::announce("python reference benchmarks");
    eprintln!("    none yet");
    Ok(())
}
