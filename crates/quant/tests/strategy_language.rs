//! The strategy language: worked examples run, validation errors name the JSON path of the bad
//! field and what was expected, and no signal depends on a later bar.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;

use quantdesk_quant::backtest::strategy::{EXAMPLES, IndicatorCache, Strategy};
use quantdesk_quant::backtest::{Settings, run, run_strategy};
use serde_json::json;

mod common;
use common::goog;

#[test]
fn every_worked_example_validates_and_trades_on_goog() {
    let cols = goog();
    assert_eq!(EXAMPLES.len(), 5);
    for (name, text) in EXAMPLES {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let s = Strategy::from_json(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = run_strategy(&s, &BTreeMap::new(), &cols.view(), &Settings::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.stats.trades > 0, "{name} made no trade");
        assert!(out.stats.equity_final > 0.0, "{name}");
    }
}

fn error_of(v: serde_json::Value) -> String {
    Strategy::from_json(&v).unwrap_err().to_string()
}

#[test]
fn validation_errors_name_the_path_and_what_was_expected() {
    let e = error_of(json!({"long": {"entry": "rsi(14) < 30", "exitt": "x"}}));
    assert!(e.starts_with("strategy.long.exitt: unknown field"), "{e}");
    let e = error_of(json!({"long": {"entry": "rsi(14) <"}}));
    assert!(e.starts_with("strategy.long.entry: at column"), "{e}");
    let e = error_of(json!({"long": {"entry": "sma($fast) > 1"}}));
    assert!(
        e.contains("strategy.long.entry") && e.contains("unknown parameter '$fast'"),
        "{e}"
    );
    let e = error_of(json!({"long": {"entry": "close"}}));
    assert!(e.contains("not a condition"), "{e}");
    let e = error_of(json!({"long": {"entry": "close > 1"}, "sizing": {"fraction": 2}}));
    assert!(
        e.starts_with("strategy.sizing.fraction: expected a fraction"),
        "{e}"
    );
    let e = error_of(json!({"long": {"entry": "close > 1"}, "stops": {"stop_loss": {"pct": 5}}}));
    assert!(
        e.starts_with("strategy.stops.stop_loss.pct: unknown field"),
        "{e}"
    );
    let e = error_of(json!({"params": {"n": "ten"}, "long": {"entry": "close > 1"}}));
    assert!(e.starts_with("strategy.params.n: expected a number"), "{e}");
    let e = error_of(json!({"short": {"exit": "close > 1"}}));
    assert!(e.starts_with("strategy: expected an entry rule"), "{e}");
    let e = error_of(json!({"long": {"entry": "foo(3) > 1"}}));
    assert!(e.contains("unknown indicator 'foo'"), "{e}");
}

#[test]
fn parameters_substitute_into_rules_sizing_and_stops() {
    let s = Strategy::from_json(&json!({
        "params": {"n": 20, "stop": {"default": 5, "min": 2, "max": 10, "step": 2}},
        "long": {"entry": "close crosses_above sma($n)", "exit": "close < sma($n)"},
        "stops": {"stop_loss": {"percent": "$stop"}}
    }))
    .unwrap();
    assert_eq!(s.params[1].grid(), vec![2.0, 4.0, 6.0, 8.0, 10.0]);
    let cols = goog();
    let a = run_strategy(&s, &BTreeMap::new(), &cols.view(), &Settings::default()).unwrap();
    let b = run_strategy(
        &s,
        &BTreeMap::from([("stop".to_string(), 2.0)]),
        &cols.view(),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(
        a.trades[0].sl.unwrap(),
        cols.close[a.trades[0].entry_bar - 1] * 0.95
    );
    assert_ne!(a.stats.equity_final, b.stats.equity_final);
    assert!(
        run_strategy(
            &s,
            &BTreeMap::from([("x".to_string(), 1.0)]),
            &cols.view(),
            &Settings::default()
        )
        .is_err()
    );
}

/// Cutting the data after bar k changes nothing decided up to bar k, nor any equity before it:
/// no rule and no fill looks ahead.
#[test]
fn no_signal_or_fill_depends_on_a_later_bar() {
    let cols = goog();
    for (name, text) in EXAMPLES {
        let s = Strategy::from_json(&serde_json::from_str(text).unwrap()).unwrap();
        let bound = s.bind(&BTreeMap::new()).unwrap();
        let full = bound
            .plan(&cols.view(), &mut IndicatorCache::new())
            .unwrap();
        let settings = Settings {
            finalize_trades: false,
            ..Settings::default()
        };
        let full_run = run(&cols.view(), &full, &settings).unwrap();
        for k in [300usize, 1000, 1700] {
            let mut cut = cols.clone();
            for v in [
                &mut cut.open,
                &mut cut.high,
                &mut cut.low,
                &mut cut.close,
                &mut cut.volume,
            ] {
                v.truncate(k);
            }
            cut.time.truncate(k);
            let part = bound.plan(&cut.view(), &mut IndicatorCache::new()).unwrap();
            for (a, b) in [
                (&full.signals.enter_long, &part.signals.enter_long),
                (&full.signals.exit_long, &part.signals.exit_long),
                (&full.signals.enter_short, &part.signals.enter_short),
                (&full.signals.exit_short, &part.signals.exit_short),
            ] {
                if !a.is_empty() {
                    assert_eq!(&a.prefix(k), b, "{name}: signals before bar {k}");
                }
            }
            let part_run = run(&cut.view(), &part, &settings).unwrap();
            assert_eq!(
                &full_run.equity[..k],
                &part_run.equity[..],
                "{name}: equity before bar {k}"
            );
        }
    }
}
