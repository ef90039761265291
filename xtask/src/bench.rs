//! `cargo xtask bench`: the criterion benchmarks, then the reference tools timed on the same
//! data, with the ratios printed — a speed target counts only when this prints it met.

use std::fs;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{python, step};

/// Indicators whose speed is compared with TA-Lib's C code (criterion ids under
/// `indicators_1m/`, keys of `talib_reference.py`'s answer).
const TALIB_COMPARED: [&str; 5] = ["ema", "rsi", "macd", "bbands", "atr"];

pub fn bench(args: &[String]) -> Result<()> {
    step::run(
        "cargo bench",
        step::cargo()
            .args(["bench", "--workspace", "--exclude", "quantdesk-app"])
            .args(args),
    )?;
    talib_comparison()
}

/// Median time in seconds of criterion benchmark `group/name`, from its saved estimates.
fn criterion_median(group: &str, name: &str) -> Result<f64> {
    let path = step::target_dir()
        .join("criterion")
        .join(group)
        .join(name)
        .join("new/estimates.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    json["median"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e9)
        .with_context(|| format!("no median in {}", path.display()))
}

/// TA-Lib (C, through its Python wrapper) on the 1,000,000 bars the indicator bench wrote.
fn talib_comparison() -> Result<()> {
    let quant = step::root().join("crates/quant/benches");
    let data = step::target_dir().join("bench-data/ohlcv_1m.f64");
    if !data.is_file() {
        step::announce("TA-Lib comparison");
        eprintln!(
            "    skipped: {} not written (run the indicators bench)",
            data.display()
        );
        return Ok(());
    }
    let venv = python::venv("bench-venv", &quant.join("requirements.txt"))?;
    step::announce("TA-Lib reference timings");
    let out = Command::new(python::venv_bin(&venv, "python"))
        .arg(quant.join("talib_reference.py"))
        .arg(&data)
        .output()
        .context("running talib_reference.py")?;
    if !out.status.success() {
        anyhow::bail!(
            "talib_reference.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let talib: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading TA-Lib timings")?;
    println!("\nIndicators on 1,000,000 bars: QuantDesk vs TA-Lib (C), target: ratio >= 1.0");
    println!(
        "{:<8} {:>12} {:>12} {:>8}  verdict",
        "name", "ours (ms)", "TA-Lib (ms)", "ratio"
    );
    for name in TALIB_COMPARED {
        let ours = criterion_median("indicators_1m", name)?;
        let theirs = talib[name]
            .as_f64()
            .with_context(|| format!("no TA-Lib timing for {name}"))?;
        let ratio = theirs / ours;
        let verdict = if ratio >= 1.0 { "MET" } else { "MISSED" };
        println!(
            "{name:<8} {:>12.3} {:>12.3} {ratio:>8.2}  {verdict}",
            ours * 1e3,
            theirs * 1e3
        );
    }
    Ok(())
}
