//! Hostile input to the one recursive parser (the screener's expression language, which the
//! strategy language's rules and the optimiser's constraints also use): deep nesting, long
//! chains and random text never panic or overflow the stack, and too deep an expression is
//! refused with an error naming the limit. Parsing runs on a thread with a small stack, so a
//! recursion the limit fails to stop shows up here as an overflow, not only in production.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;

use proptest::prelude::*;
use quantdesk_quant::backtest::strategy::Strategy as StrategyJson;
use quantdesk_quant::backtest::{Settings, run_strategy};
use quantdesk_quant::indicators::OwnedColumns;
use quantdesk_quant::screen::{Evaluator, Expression, MAX_DEPTH};
use serde_json::json;

/// Runs `f` on a thread with a 1 MiB stack, half of a Tokio or rayon worker's (in a debug build
/// the parser takes up to ~16 KiB of stack per parenthesis level).
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the parser panicked or overflowed")
}

fn bars(n: usize) -> OwnedColumns {
    let close: Vec<f64> = (0..n)
        .map(|i| 100.0 + (i as f64 * 0.3).sin() * 5.0)
        .collect();
    OwnedColumns {
        time: (0..n as i64).map(|i| 1_700_000_000 + 86_400 * i).collect(),
        open: close.clone(),
        high: close.iter().map(|c| c + 1.0).collect(),
        low: close.iter().map(|c| c - 1.0).collect(),
        close,
        volume: vec![1000.0; n],
    }
}

fn parse_err(text: String) -> String {
    small_stack(move || match Expression::parse(&text) {
        Ok(e) => panic!("parsed: {e}"),
        Err(e) => e.to_string(),
    })
}

fn nested(depth: usize) -> String {
    format!("{}close > 1{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn two_thousand_parentheses_are_refused_naming_the_depth_and_the_limit() {
    let e = parse_err(nested(2000));
    assert!(
        e.contains("nested 2000 levels deep") && e.contains("at most 64"),
        "{e}"
    );
    let e = parse_err(nested(1_000_000));
    assert!(e.contains("nested 1000000 levels deep"), "{e}");
}

#[test]
fn the_limit_itself_parses_and_evaluates() {
    let ok = small_stack(|| {
        let cols = bars(50);
        let expr = Expression::parse(&nested(MAX_DEPTH - 1)).map_err(|e| e.to_string())?;
        let again = Expression::parse(&expr.to_string()).map_err(|e| e.to_string())?;
        Evaluator::new(cols.view())
            .signal(&again)
            .map_err(|e| e.to_string())
    });
    assert_eq!(ok.map(|s| s.len()), Ok(50));
    let e = parse_err(nested(MAX_DEPTH + 1));
    assert!(e.contains("at most 64"), "{e}");
}

#[test]
fn long_chains_and_prefix_runs_are_refused_without_recursing() {
    for text in [
        vec!["close"; 200_000].join(" + ") + " > 1",
        vec!["close > 1"; 100_000].join(" and "),
        format!("{}close > 1", "not ".repeat(100_000)),
        format!("{}close > 1", "-".repeat(100_000)),
        format!("{}1 > close", "- (".repeat(10_000)),
    ] {
        let e = parse_err(text);
        assert!(e.contains("at most 64"), "{e}");
    }
}

#[test]
fn a_strategy_rule_nested_too_deep_is_a_strategy_error_that_does_not_echo_megabytes() {
    let e = small_stack(|| {
        StrategyJson::from_json(&json!({"long": {"entry": nested(2000)}}))
            .unwrap_err()
            .to_string()
    });
    assert!(e.starts_with("strategy.long.entry: at column 65"), "{e}");
    assert!(e.contains("nested 2000 levels deep"), "{e}");
    assert!(e.len() < 600, "{} bytes", e.len());
    // A backtest of the deepest allowed rule runs.
    let ran = small_stack(|| {
        let s =
            StrategyJson::from_json(&json!({"long": {"entry": nested(60), "exit": "close < 1"}}))
                .map_err(|e| e.to_string())?;
        run_strategy(
            &s,
            &BTreeMap::new(),
            &bars(300).view(),
            &Settings::default(),
        )
        .map(|o| o.stats.trades)
        .map_err(|e| e.to_string())
    });
    assert!(ran.is_ok(), "{ran:?}");
}

/// Pieces random expressions are made of: valid tokens, near misses, and hostile characters.
const PIECES: &[&str] = &[
    "(",
    ")",
    "(",
    ")",
    " ",
    "close",
    "open",
    "volume",
    "1",
    "-2.5",
    "1e308",
    "1e309",
    ".5",
    "0",
    "+",
    "-",
    "*",
    "/",
    "<",
    "<=",
    ">",
    "==",
    "!=",
    "=",
    "and",
    "or",
    "not",
    "crosses_above",
    "sma",
    "sma(20)",
    "rsi(14)",
    "macd.hist",
    "bbands(20, 2).upper",
    "sma(volume, 5)",
    ",",
    ".",
    "period=3",
    "$x",
    "&",
    "|",
    "!",
    "\u{0}",
    "\u{7}",
    "\n",
    "\u{202e}",
    "с",
    "ｃlose",
    "😀",
    "NaN",
    "inf",
    "e",
    "9999999999999999999999",
    "-0",
];

fn random_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random text: an error with a message, or an expression that prints, re-parses and
    /// evaluates.
    #[test]
    fn random_text_never_panics(text in random_text()) {
        let outcome = small_stack(move || match Expression::parse(&text) {
            Err(e) => Err(e.to_string()),
            Ok(expr) => {
                let shown = expr.to_string();
                let again = Expression::parse(&shown).map_err(|e| format!("reparse {shown}: {e}"));
                let cols = bars(40);
                let _ = Evaluator::new(cols.view()).series(&expr);
                again.map(|_| ())
            }
        });
        if let Err(message) = outcome {
            prop_assert!(!message.is_empty());
            prop_assert!(!message.starts_with("reparse"), "{}", message);
        }
    }

    /// Random nesting of parentheses, `not` and `and` around a comparison: accepted exactly up
    /// to the limit, refused past it with the limit named, never an overflow.
    #[test]
    fn random_nesting_is_accepted_exactly_up_to_the_limit(
        wraps in prop::collection::vec(0u8..3, 0..200),
    ) {
        let mut text = "close > 1".to_string();
        let mut height = 1;
        for w in &wraps {
            (text, height) = match w {
                0 => (format!("({text})"), height + 1),
                1 => (format!("not ({text})"), height + 2),
                _ => (format!("{text} and close > 1"), height + 1),
            };
        }
        let result = small_stack(move || {
            Expression::parse(&text).map(|_| ()).map_err(|e| e.to_string())
        });
        if height <= MAX_DEPTH {
            prop_assert!(result.is_ok(), "height {}: {:?}", height, result);
        } else {
            let e = result.unwrap_err();
            prop_assert!(e.contains("at most 64"), "{}", e);
        }
    }
}
