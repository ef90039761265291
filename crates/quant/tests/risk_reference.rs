//! Cross-checks `risk::analyze` against an independent numpy computation on GOOG vs SPX daily
//! closes, 2005–2012 (tests/fixtures/risk/generate.py wrote the JSON; see its docstring for the
//! conventions). Every figure must agree to 1e-9 relative.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::path::PathBuf;

use chrono::NaiveDate;
use quantdesk_quant::risk::{
    RiskInputs, RiskReport, Series, SeriesRisk, align, analyze, annualized_volatility, log_returns,
};
use serde_json::Value;

const START: &str = "2005-01-01";
const END: &str = "2012-12-31";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `(unix seconds, close)` for rows dated within [START, END]; `close_col` names the column.
fn read_closes(file: &str, close_col: &str) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(fixtures().join(file)).expect("fixture CSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let ci = header
        .iter()
        .position(|h| *h == close_col)
        .expect("close column");
    lines
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let date = cells[0];
            (START..=END).contains(&date).then(|| {
                let t = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .expect("date")
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp();
                (t, cells[ci].parse::<f64>().expect("close"))
            })
        })
        .collect()
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("risk/goog_spx_2005_2012.json"))
        .expect("reference JSON");
    serde_json::from_str(&text).expect("valid JSON")
}

#[track_caller]
fn close(what: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number in JSON"));
    let rel = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
    assert!(
        rel <= 1e-9,
        "{what}: got {got:e}, numpy {want:e} (relative error {rel:e})"
    );
    println!("{what:<40} {got:>24.16e}  numpy {want:>24.16e}  rel {rel:.1e}");
}

fn check_series(name: &str, got: &SeriesRisk, want: &Value) {
    for (field, value) in [
        ("total_return", got.total_return),
        ("annualized_return", got.annualized_return),
        ("mean_return", got.mean_return),
        ("volatility", got.volatility),
    ] {
        close(&format!("{name}.{field}"), value, &want[field]);
    }
    close(
        &format!("{name}.sharpe"),
        got.sharpe.expect("sharpe"),
        &want["sharpe"],
    );
    close(
        &format!("{name}.sortino"),
        got.sortino.expect("sortino"),
        &want["sortino"],
    );
    let dd = &want["max_drawdown"];
    close(
        &format!("{name}.max_drawdown"),
        got.max_drawdown.max_drawdown,
        &dd["max_drawdown"],
    );
    assert_eq!(
        Some(got.max_drawdown.peak_index as u64),
        dd["peak_index"].as_u64()
    );
    assert_eq!(
        Some(got.max_drawdown.trough_index as u64),
        dd["trough_index"].as_u64()
    );
    assert_eq!(
        got.max_drawdown.recovery_index.map(|i| i as u64),
        dd["recovery_index"].as_u64()
    );
    let want_var = want["var"].as_array().expect("var array");
    assert_eq!(got.var.len(), want_var.len());
    for (g, w) in got.var.iter().zip(want_var) {
        let c = g.confidence;
        close(&format!("{name}.confidence"), c, &w["confidence"]);
        close(
            &format!("{name}.historical_var({c})"),
            g.historical_var,
            &w["historical_var"],
        );
        close(
            &format!("{name}.historical_cvar({c})"),
            g.historical_cvar,
            &w["historical_cvar"],
        );
        close(
            &format!("{name}.parametric_var({c})"),
            g.parametric_var,
            &w["parametric_var"],
        );
        close(
            &format!("{name}.parametric_cvar({c})"),
            g.parametric_cvar,
            &w["parametric_cvar"],
        );
    }
    match (&got.versus_benchmark, want.get("versus_benchmark")) {
        (Some(g), Some(w)) => {
            close(&format!("{name}.beta"), g.beta.expect("beta"), &w["beta"]);
            close(
                &format!("{name}.correlation"),
                g.correlation.expect("corr"),
                &w["correlation"],
            );
            close(
                &format!("{name}.alpha"),
                g.alpha.expect("alpha"),
                &w["alpha"],
            );
            close(
                &format!("{name}.alpha_annualized"),
                g.alpha_annualized.expect("alpha"),
                &w["alpha_annualized"],
            );
        }
        (None, None) => {}
        (g, w) => panic!("{name}: benchmark stats present mismatch: {g:?} vs {w:?}"),
    }
}

#[test]
fn goog_vs_spx_matches_numpy() {
    let want = reference();
    let goog = read_closes("GOOG.csv", "Close");
    let spx = read_closes("SPX.csv", "close");
    let (times, matrix) = align(&[("GOOG", &goog[..]), ("SPX", &spx[..])]);
    assert_eq!(Some(times.len() as u64), want["prices"].as_u64());
    let (g, s) = (&matrix[0], &matrix[1]);

    let mut inputs = RiskInputs::new(vec![
        Series {
            name: "GOOG",
            closes: g,
        },
        Series {
            name: "SPX",
            closes: s,
        },
    ]);
    inputs.benchmark = Some(Series {
        name: "SPX",
        closes: s,
    });
    inputs.weights = Some(vec![0.6, 0.4]);
    inputs.times = Some(&times);
    inputs.risk_free_rate = want["risk_free_rate"].as_f64().expect("rf");
    inputs.periods_per_year = want["periods_per_year"].as_f64().expect("ppy");
    let report: RiskReport = analyze(&inputs).expect("analysis");

    assert_eq!(report.prices, times.len());
    check_series("GOOG", &report.assets[0], &want["goog"]);
    check_series(
        "SPX",
        report.benchmark.as_ref().expect("benchmark"),
        &want["spx"],
    );

    let port = report.portfolio.as_ref().expect("portfolio");
    let wp = &want["portfolio"];
    check_series("portfolio", &port.risk, &wp["risk"]);
    close("portfolio.hhi", port.concentration.hhi, &wp["hhi"]);
    close(
        "portfolio.effective_holdings",
        port.concentration.effective_holdings,
        &wp["effective_holdings"],
    );
    close(
        "portfolio.largest_weight",
        port.concentration.largest_weight,
        &wp["largest_weight"],
    );
    assert_eq!(port.largest_holding, "GOOG");
    let corr = report.correlation.as_ref().expect("correlation matrix");
    close(
        "correlation[GOOG][SPX]",
        corr.matrix[0][1].expect("corr"),
        &wp["correlation"],
    );
    assert_eq!(corr.matrix[1][0], corr.matrix[0][1]);

    let log_vol = annualized_volatility(&log_returns(g).expect("returns"), 252.0).expect("vol");
    close(
        "GOOG.log_volatility",
        log_vol,
        &want["goog"]["log_volatility"],
    );

    // The drawdown is dated from the aligned timestamps: GOOG's 2007 high to its 2008 low.
    let dd = &report.assets[0].max_drawdown;
    assert_eq!(dd.peak_time, Some(times[dd.peak_index]));
    assert_eq!(dd.recovery_time, dd.recovery_index.map(|i| times[i]));
    assert_eq!(report.start_time, times.first().copied());

    // The report serialises (the MCP tool returns it as structured content).
    let json = serde_json::to_value(&report).expect("serialise");
    assert!(json["assets"][0]["var"][0]["historical_var"].is_number());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}
