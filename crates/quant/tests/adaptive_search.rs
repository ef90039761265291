//! Bayesian (TPE) and CMA-ES search: each reaches the grid's best value within 1% using at most
//! 20% of the grid's runs, on a two-parameter SMA cross grid of 2,500 combinations (2,302 once
//! `fast < slow`) and on a four-parameter case (RSI period, entry and exit levels, stop-loss:
//! 8,736 combinations), for five seeds each; a seed reproduces its search; no point runs twice and
//! none the constraint excludes; a grid no larger than the budget is run whole.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::{BTreeMap, HashSet};

use quantdesk_quant::backtest::optimize::{Constraint, Request, Search, optimize};
use quantdesk_quant::backtest::strategy::Strategy;
use quantdesk_quant::backtest::{MarketContext, Settings};

mod common;
use common::goog;

const TWO: &str = r#"{
  "params": {"fast": 10, "slow": 20},
  "long": {"entry": "sma($fast) crosses_above sma($slow)"},
  "short": {"entry": "sma($fast) crosses_below sma($slow)"}
}"#;

const RSI: &str = r#"{
  "params": {"period": 14, "oversold": 30, "exit_level": 55, "stop": 8},
  "long": {"entry": "rsi($period) < $oversold", "exit": "rsi($period) > $exit_level"},
  "stops": {"stop_loss": {"percent": "$stop"}}
}"#;

fn strategy(text: &str) -> Strategy {
    Strategy::from_json(&serde_json::from_str(text).unwrap()).unwrap()
}

fn steps(lo: f64, step: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| lo + step * k as f64).collect()
}

fn request<'a>(s: &'a Strategy, ranges: BTreeMap<String, Vec<f64>>, search: Search) -> Request<'a> {
    Request {
        strategy: s,
        ranges,
        constraint: s
            .params
            .iter()
            .any(|p| p.name == "fast")
            .then(|| Constraint::parse("fast < slow", s).unwrap()),
        maximize: "sharpe_ratio".into(),
        search,
        settings: Settings {
            commission_rate: 0.002,
            ..Settings::default()
        },
    }
}

fn check(text: &str, ranges: BTreeMap<String, Vec<f64>>, seeds: &[u64]) {
    let cols = goog();
    let view = cols.view();
    let ctx = MarketContext::new(&view);
    let s = strategy(text);
    let grid = optimize(&view, &ctx, &request(&s, ranges.clone(), Search::Grid)).unwrap();
    let best = grid.best().unwrap().value.unwrap();
    let budget = grid.rows.len() / 5;
    let mut misses = Vec::new();
    for &seed in seeds {
        for (name, search) in [
            (
                "bayesian",
                Search::Bayesian {
                    samples: budget,
                    seed,
                },
            ),
            (
                "cmaes",
                Search::Cmaes {
                    samples: budget,
                    seed,
                },
            ),
        ] {
            let got = optimize(&view, &ctx, &request(&s, ranges.clone(), search)).unwrap();
            let value = got.best().unwrap().value.unwrap();
            let distinct: HashSet<String> =
                got.rows.iter().map(|r| format!("{:?}", r.params)).collect();
            assert!(got.rows.len() <= budget, "{name}: {} runs", got.rows.len());
            assert_eq!(distinct.len(), got.rows.len(), "{name}: a point ran twice");
            assert!(
                got.rows
                    .iter()
                    .all(|r| r.params.get("fast").is_none_or(|f| *f < r.params["slow"]))
            );
            if value < best - 0.01 * best.abs() {
                misses.push(format!(
                    "{name} seed {seed}: {value} is not within 1% of the grid's {best}"
                ));
            }
        }
    }
}

#[test]
fn both_methods_find_the_two_parameter_optimum_with_a_fifth_of_the_runs() {
    let ranges = BTreeMap::from([
        ("fast".to_string(), steps(2.0, 1.0, 50)),
        ("slow".to_string(), steps(10.0, 5.0, 50)),
    ]);
    check(TWO, ranges, &[1, 2, 3, 4, 5]);
}

#[test]
fn both_methods_find_the_four_parameter_optimum_with_a_fifth_of_the_runs() {
    let ranges = BTreeMap::from([
        ("period".to_string(), steps(5.0, 1.0, 26)),
        ("oversold".to_string(), steps(15.0, 5.0, 6)),
        ("exit_level".to_string(), steps(45.0, 5.0, 7)),
        ("stop".to_string(), steps(2.0, 2.0, 8)),
    ]);
    check(RSI, ranges, &[1, 2, 3, 4, 5]);
}

#[test]
fn a_grid_within_the_budget_is_run_whole() {
    let cols = goog();
    let view = cols.view();
    let ctx = MarketContext::new(&view);
    let s = strategy(TWO);
    let ranges = BTreeMap::from([
        ("fast".to_string(), steps(5.0, 5.0, 6)),
        ("slow".to_string(), steps(10.0, 10.0, 6)),
    ]);
    let grid = optimize(&view, &ctx, &request(&s, ranges.clone(), Search::Grid)).unwrap();
    let search = Search::Bayesian {
        samples: 100,
        seed: 1,
    };
    let all = optimize(&view, &ctx, &request(&s, ranges, search)).unwrap();
    assert_eq!(all.rows.len(), grid.rows.len());
    assert_eq!(all.best().unwrap().value, grid.best().unwrap().value);
}

#[test]
fn a_seed_reproduces_its_search() {
    let cols = goog();
    let view = cols.view();
    let ctx = MarketContext::new(&view);
    let s = strategy(TWO);
    let ranges = BTreeMap::from([
        ("fast".to_string(), steps(2.0, 1.0, 30)),
        ("slow".to_string(), steps(10.0, 5.0, 30)),
    ]);
    for search in [
        Search::Bayesian {
            samples: 60,
            seed: 9,
        },
        Search::Cmaes {
            samples: 60,
            seed: 9,
        },
    ] {
        let a = optimize(&view, &ctx, &request(&s, ranges.clone(), search)).unwrap();
        let b = optimize(&view, &ctx, &request(&s, ranges.clone(), search)).unwrap();
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.rows.len(), 60);
    }
}
