//! The optimiser: random search is reproducible from its seed and draws from the constrained
//! grid; walk-forward chooses on in-sample bars only and scores the bars that follow.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_quant::backtest::optimize::{Constraint, Request, Search, optimize, walk_forward};
use quantdesk_quant::backtest::strategy::{Strategy, example};
use quantdesk_quant::backtest::{MarketContext, Settings};

mod common;
use common::goog;

fn request(strategy: &Strategy, search: Search) -> Request<'_> {
    Request {
        strategy,
        ranges: Default::default(),
        constraint: Some(Constraint::parse("fast < slow", strategy).unwrap()),
        maximize: "sharpe_ratio".into(),
        search,
        settings: Settings {
            commission_rate: 0.002,
            ..Settings::default()
        },
    }
}

#[test]
fn random_search_is_reproducible_and_respects_the_constraint() {
    let cols = goog();
    let ctx = MarketContext::new(&cols.view());
    let s =
        Strategy::from_json(&serde_json::from_str(example("sma_cross").unwrap()).unwrap()).unwrap();
    let a = optimize(
        &cols.view(),
        &ctx,
        &request(
            &s,
            Search::Random {
                samples: 20,
                seed: 7,
            },
        ),
    )
    .unwrap();
    let b = optimize(
        &cols.view(),
        &ctx,
        &request(
            &s,
            Search::Random {
                samples: 20,
                seed: 7,
            },
        ),
    )
    .unwrap();
    assert_eq!(a.rows.len(), 20);
    assert_eq!(a.rows, b.rows);
    assert!(a.rows.iter().all(|r| r.params["fast"] < r.params["slow"]));
    let grid = optimize(&cols.view(), &ctx, &request(&s, Search::Grid)).unwrap();
    assert!(a.best().unwrap().value <= grid.best().unwrap().value);
}

#[test]
fn walk_forward_scores_each_choice_on_the_bars_after_it() {
    let cols = goog();
    let s =
        Strategy::from_json(&serde_json::from_str(example("sma_cross").unwrap()).unwrap()).unwrap();
    let folds = walk_forward(&cols.view(), &request(&s, Search::Grid), 4, 2.0).unwrap();
    assert_eq!(folds.len(), 4);
    for w in folds.windows(2) {
        assert_eq!(w[0].out_of_sample.1, w[1].out_of_sample.0);
    }
    for f in &folds {
        assert_eq!(f.in_sample.1, f.out_of_sample.0);
        assert!(f.params["fast"] < f.params["slow"]);
    }
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let cols = goog();
    let ctx = MarketContext::new(&cols.view());
    let s =
        Strategy::from_json(&serde_json::from_str(example("sma_cross").unwrap()).unwrap()).unwrap();
    let mut r = request(&s, Search::Grid);
    r.maximize = "shrape".into();
    let e = optimize(&cols.view(), &ctx, &r).unwrap_err().to_string();
    assert!(
        e.contains("unknown statistic 'shrape'") && e.contains("sharpe_ratio"),
        "{e}"
    );
    let e = Constraint::parse("fast <", &s).unwrap_err().to_string();
    assert!(e.starts_with("constraint:"), "{e}");
}
