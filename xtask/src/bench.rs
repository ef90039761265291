//! `cargo xtask bench`: the criterion benchmarks, then the reference tools timed on the same
//! data, with the ratios printed — a speed target counts only when this prints it met.

use std::fs;
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::{e2e, python, step};

/// Indicators whose speed is compared with TA-Lib's C code (criterion ids under
/// `indicators_1m/`, keys of `talib_reference.py`'s answer).
const TALIB_COMPARED: [&str; 5] = ["ema", "rsi", "macd", "bbands", "atr"];

/// The filter that measures only the desktop app's idle memory (`cargo xtask bench app_memory`):
/// no criterion run, no reference tools.
pub const APP_MEMORY: &str = "app_memory";

pub fn bench(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == APP_MEMORY) {
        return e2e::memory();
    }
    let started = SystemTime::now();
    step::run(
        "cargo bench",
        step::cargo()
            .args(["bench", "--workspace", "--exclude", "quantdesk-app"])
            .args(args),
    )?;
    talib_comparison(started)?;
    backtest_comparison(started)?;
    ml_targets(started)?;
    // Anything that narrows `cargo bench` (a filter such as `backtest`, `--bench`, `-p`) says
    // this run is about part of the benchmarks: the app's memory is measured on full runs only.
    if args.iter().any(|a| !a.starts_with('-')) {
        step::announce("app idle memory");
        eprintln!(
            "    skipped: `cargo bench` was narrowed ({}); `cargo xtask bench {APP_MEMORY}` \
             measures only it, `cargo xtask bench` everything",
            args.join(" ")
        );
        return Ok(());
    }
    e2e::memory()
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
///
/// Skipped, with the reason, unless this `cargo bench` run measured every compared indicator
/// (a filter such as `cargo xtask bench -- backtest` leaves them out, and numbers left over from
/// an earlier run are not compared). TA-Lib comes from `benches/requirements.txt`, installed into
/// a venv under the target dir, so a clean clone needs only Python 3 and PyPI.
fn talib_comparison(started: SystemTime) -> Result<()> {
    let quant = step::root().join("crates/quant/benches");
    let data = step::target_dir().join("bench-data/ohlcv_1m.f64");
    let skip = |why: String| {
        step::announce("TA-Lib comparison");
        eprintln!("    skipped: {why}");
        Ok(())
    };
    if !data.is_file() {
        return skip(format!(
            "{} not written (run the indicators bench)",
            data.display()
        ));
    }
    let stale: Vec<&str> = TALIB_COMPARED
        .into_iter()
        .filter(|name| !measured_since("indicators_1m", name, started))
        .collect();
    if !stale.is_empty() {
        return skip(format!(
            "this run did not measure indicators_1m/{{{}}} (filtered out); numbers from an \
             earlier run are not compared",
            stale.join(",")
        ));
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
        "(both sides: median of 20 criterion-style samples; ratio = TA-Lib / ours; \
         TA-Lib's fastest single call for information)"
    );
    println!(
        "{:<8} {:>12} {:>12} {:>8}  {:<8} {:>16}",
        "name", "ours (ms)", "TA-Lib (ms)", "ratio", "verdict", "TA-Lib best (ms)"
    );
    for name in TALIB_COMPARED {
        let ours = criterion_median("indicators_1m", name)?;
        let theirs = talib[name]
            .as_f64()
            .with_context(|| format!("no TA-Lib timing for {name}"))?;
        let best = talib["best"][name].as_f64().unwrap_or(f64::NAN);
        let ratio = theirs / ours;
        let verdict = if ratio >= 1.0 { "MET" } else { "MISSED" };
        println!(
            "{name:<8} {:>12.3} {:>12.3} {ratio:>8.2}  {verdict:<8} {:>16.3}",
            ours * 1e3,
            theirs * 1e3,
            best * 1e3
        );
    }
    Ok(())
}

/// Whether criterion wrote `group/name`'s estimates at or after `since`.
fn measured_since(group: &str, name: &str, since: SystemTime) -> bool {
    let path = step::target_dir()
        .join("criterion")
        .join(group)
        .join(name)
        .join("new/estimates.json");
    fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

/// backtesting.py and vectorbt (from PyPI, in their own venv) on the GOOG SMA-cross run that
/// `backtest/goog_sma_cross` times, plus our absolute targets for 1,000,000 bars and the grid.
///
/// Each line needs its criterion benchmark measured by this `cargo bench` run; what a filter
/// left out is skipped with the reason (numbers left over from an earlier run are not shown).
/// The reference tools come from `benches/backtest_requirements.txt`, installed into a venv
/// under the target dir, so a clean clone needs only Python 3 and PyPI.
fn backtest_comparison(started: SystemTime) -> Result<()> {
    let quant = step::root().join("crates/quant/benches");
    let goog = step::root().join("tests/fixtures/GOOG.csv");
    let fresh = |name: &str| measured_since("backtest", name, started);
    if !fresh("goog_sma_cross") {
        step::announce("backtesting.py and vectorbt comparison");
        eprintln!(
            "    skipped: this run did not measure backtest/goog_sma_cross (filtered out); \
             `cargo xtask bench -- backtest` measures it"
        );
    } else {
        reference_backtests(&quant, &goog)?;
    }
    targets(
        "Backtest",
        "backtest",
        &[
            ("sma_cross_1m", "1,000,000-bar SMA cross", 10e-3),
            ("sma_grid_78", "78-combination SMA grid on GOOG", 5e-3),
            (
                "bayesian_4_params_200",
                "Bayesian search, 4 params, 200",
                1.0,
            ),
        ],
        started,
    )
}

/// The ML targets: training on 100,000 rows × 40 features, predicting 1,000,000 rows.
fn ml_targets(started: SystemTime) -> Result<()> {
    targets(
        "ML",
        "ml",
        &[
            ("train_100k_x_40", "train 100,000 rows x 40 features", 3.0),
            ("predict_1m", "predict 1,000,000 rows", 0.2),
        ],
        started,
    )
}

/// Prints criterion group `group`'s medians of this run against their limits (seconds); what
/// this run did not measure is skipped with the reason.
fn targets(
    title: &str,
    group: &str,
    rows: &[(&str, &str, f64)],
    started: SystemTime,
) -> Result<()> {
    let verdict = |met: bool| if met { "PASS" } else { "MISS" };
    println!(
        "\n{title} speed targets (criterion medians of this run; load average {})",
        load_average()
    );
    for &(name, label, limit) in rows {
        if !measured_since(group, name, started) {
            step::announce(label);
            eprintln!("    skipped: this run did not measure {group}/{name}");
            continue;
        }
        let t = criterion_median(group, name)?;
        println!(
            "{label:<32} {:>9.3} ms  target < {:.0} ms  {}",
            t * 1e3,
            limit * 1e3,
            verdict(t < limit)
        );
    }
    Ok(())
}

/// The reference tools' timings of the GOOG run, against `backtest/goog_sma_cross`.
fn reference_backtests(quant: &std::path::Path, goog: &std::path::Path) -> Result<()> {
    let run = criterion_median("backtest", "goog_sma_cross")?;
    let venv = python::venv(
        "bench-venv-backtest",
        &quant.join("backtest_requirements.txt"),
    )?;
    step::announce("backtesting.py and vectorbt reference timings");
    let out = Command::new(python::venv_bin(&venv, "python"))
        .arg(quant.join("backtest_reference.py"))
        .arg(goog)
        .output()
        .context("running backtest_reference.py")?;
    if !out.status.success() {
        anyhow::bail!(
            "backtest_reference.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let theirs: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading backtest timings")?;
    let verdict = |met: bool| if met { "PASS" } else { "MISS" };
    println!("\nBacktests: QuantDesk vs reference tools (GOOG SMA(10)/SMA(20) cross, 2,148 bars)");
    println!(
        "{:<16} {:>10} {:>12} {:>9} {:>8}  verdict",
        "reference", "ours (ms)", "theirs (ms)", "ratio", "target"
    );
    for (key, label, target) in [
        ("backtesting_py", "backtesting.py", 100.0),
        ("vectorbt", "vectorbt", 20.0),
    ] {
        match theirs[key].as_f64() {
            Some(t) => {
                let ratio = t / run;
                println!(
                    "{label:<16} {:>10.3} {:>12.3} {ratio:>8.1}x {target:>7}x  {}",
                    run * 1e3,
                    t * 1e3,
                    verdict(ratio >= target)
                );
            }
            None => println!(
                "{label:<16} skipped: {}",
                theirs[format!("{key}_error")]
                    .as_str()
                    .unwrap_or("no timing")
            ),
        }
    }
    Ok(())
}

/// The 1/5/15-minute load averages (`/proc/loadavg`), printed with the timings: on a shared
/// machine they say how much the numbers were squeezed.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
