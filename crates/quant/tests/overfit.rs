//! The overfitting statistics against an independent implementation of the papers' formulas
//! (`tests/python/test_overfit_stats.py`, which wrote `tests/fixtures/overfit/reference.json`):
//! the Probabilistic and Deflated Sharpe Ratios and the PBO by CSCV agree to 1e-9.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

mod common;

use quantdesk_quant::backtest::overfit::{
    TrialSummary, deflated_sharpe, moments, probabilistic_sharpe, probability_of_overfitting,
};
use serde_json::Value;

fn close(what: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no number in the fixture"));
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: {got} vs the reference {want}"
    );
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn psr_dsr_and_pbo_match_the_independent_implementation() {
    let text = std::fs::read_to_string(common::fixtures().join("overfit/reference.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    let (mut dsr_cases, mut pbo_cases) = (0, 0);
    for case in cases {
        let e = &case["expected"];
        match case["kind"].as_str().unwrap() {
            "dsr" => {
                dsr_cases += 1;
                let returns = floats(&case["returns"]);
                let m = moments(&returns).unwrap();
                // What a search keeps of each trial (power sums) gives the same moments.
                let kept = TrialSummary::new(&returns, 16).moments().unwrap();
                close("kept sharpe", kept.sharpe, &e["sharpe"]);
                close("kept skewness", kept.skewness, &e["skewness"]);
                close("kept kurtosis", kept.kurtosis, &e["kurtosis"]);
                close("sharpe", m.sharpe, &e["sharpe"]);
                close("skewness", m.skewness, &e["skewness"]);
                close("kurtosis", m.kurtosis, &e["kurtosis"]);
                close("psr(0)", probabilistic_sharpe(&m, 0.0), &e["psr_zero"]);
                let d = deflated_sharpe(&m, &floats(&case["trial_sharpes"]));
                close("variance", d.variance, &e["variance"]);
                close("benchmark", d.benchmark, &e["benchmark"]);
                close("dsr", d.dsr, &e["dsr"]);
            }
            "pbo" => {
                pbo_cases += 1;
                let trials: Vec<Vec<f64>> = case["trials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(floats)
                    .collect();
                let blocks = case["blocks"].as_u64().unwrap() as usize;
                let p = probability_of_overfitting(&trials, blocks).unwrap();
                assert_eq!(p.splits as u64, e["splits"].as_u64().unwrap());
                close("pbo", p.pbo, &e["pbo"]);
                let mean = p.logits.iter().sum::<f64>() / p.logits.len() as f64;
                close("logit mean", mean, &e["logit_mean"]);
                let min = p.logits.iter().copied().fold(f64::INFINITY, f64::min);
                let max = p.logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                close("logit min", min, &e["logit_min"]);
                close("logit max", max, &e["logit_max"]);
            }
            other => panic!("unknown case {other}"),
        }
    }
    assert_eq!((dsr_cases, pbo_cases), (3, 2));
}
