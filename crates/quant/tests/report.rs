//! The HTML report is self-contained (no script, no external reference) and escapes every text
//! a person or Claude supplied; robustness figures are reproducible from their seed.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;

use quantdesk_quant::backtest::Settings;
use quantdesk_quant::backtest::report::{ReportInput, markdown, render};
use quantdesk_quant::backtest::robustness::{Analysis, analyze};
use quantdesk_quant::backtest::strategy::Strategy;
use serde_json::json;

mod common;
use common::goog;

#[test]
fn report_escapes_what_it_was_given_and_fetches_nothing() {
    let cols = goog();
    let s = Strategy::from_json(&json!({
        "name": "<script>alert(1)</script>",
        "params": {"fast": 10, "slow": 20},
        "long": {"entry": "sma($fast) crosses_above sma($slow)"},
        "short": {"entry": "sma($fast) crosses_below sma($slow)"}
    }))
    .unwrap();
    let settings = Settings {
        commission_rate: 0.002,
        ..Settings::default()
    };
    let a = Analysis {
        strategy: &s,
        values: BTreeMap::new(),
        settings,
        in_sample_share: 0.7,
        monte_carlo_runs: 200,
        seed: 3,
        metric: "sharpe_ratio".into(),
    };
    let view = cols.view();
    let (outcome, robustness) = analyze(&view, &a).unwrap();
    let (_, again) = analyze(&view, &a).unwrap();
    assert_eq!(robustness, again, "same seed, same Monte Carlo");
    let name = s.name.clone().unwrap();
    let input = ReportInput {
        symbol: "GOOG",
        strategy_name: &name,
        params: &outcome.params,
        settings: &settings,
        cols: &view,
        outcome: &outcome,
        heatmap: None,
        robustness: Some(&robustness),
        provenance: "bundled \"data\"",
        generated: "2026-01-01 00:00 UTC",
    };
    let html = render(&input);
    assert!(!html.contains("<script"), "user text must be escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for needle in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(needle), "{needle}");
    }
    assert!(html.contains("<polyline") && html.contains("Equity curve against buy-and-hold"));
    assert_eq!(
        html.matches("class=\"entry\"").count(),
        outcome.trades.len()
    );
    assert!(markdown(&input).contains("455.7 %"));
}
