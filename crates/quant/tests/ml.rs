//! The ML signal end to end on one series: a planted, learnable pattern is found out of sample
//! and called an edge; a random walk is called "no edge beyond chance"; the real GOOG history
//! trains with the defaults, with scores beside both baselines and importances for every
//! feature.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_quant::backtest::optimize::SplitMix64;
use quantdesk_quant::indicators::OwnedColumns;
use quantdesk_quant::ml::train::{Request, train};

mod common;

/// Daily bars whose log return is `phi` times the previous one plus Gaussian noise.
fn ar1(n: usize, phi: f64, seed: u64) -> OwnedColumns {
    let mut rng = SplitMix64(seed);
    let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut cols = OwnedColumns::default();
    let (mut price, mut last) = (100.0f64, 0.0f64);
    for i in 0..n {
        let z = (-2.0 * u().max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * u()).cos();
        let r = phi * last + 0.01 * z;
        last = r;
        let open = price;
        price *= r.exp();
        cols.time.push(1_262_304_000 + 86_400 * i as i64);
        cols.open.push(open);
        cols.high.push(open.max(price) * 1.002);
        cols.low.push(open.min(price) * 0.998);
        cols.close.push(price);
        cols.volume.push(1e6 * (1.0 + 0.5 * u()));
    }
    cols
}

fn request(horizon: usize) -> Request {
    Request {
        threads: Some(2),
        ..Request::new(horizon)
    }
}

#[test]
fn a_planted_pattern_is_an_out_of_sample_edge() {
    let cols = ar1(3_000, -0.5, 11);
    let t = train(&cols.view(), &request(1)).unwrap();
    let e = &t.evaluation;
    assert!(e.model.auc.unwrap() > 0.6, "{e:?}");
    assert!(e.p_value.unwrap() < 0.01, "{e:?}");
    assert!(
        e.verdict.starts_with("an out-of-sample edge"),
        "{}",
        e.verdict
    );
    assert!(e.model.accuracy > e.always_up.accuracy);
    // The one-bar return carries the pattern.
    assert_eq!(e.importances[0].0, "ret_1", "{:?}", e.importances);
}

#[test]
fn a_random_walk_has_no_edge_beyond_chance() {
    let cols = ar1(3_000, 0.0, 12);
    let t = train(&cols.view(), &request(5)).unwrap();
    let e = &t.evaluation;
    assert!(
        e.verdict.starts_with("no edge beyond chance"),
        "{}",
        e.verdict
    );
    assert!((e.model.auc.unwrap() - 0.5).abs() < 0.1);
}

#[test]
fn goog_trains_with_the_defaults() {
    let cols = common::goog();
    let t = train(&cols.view(), &request(5)).unwrap();
    let e = &t.evaluation;
    assert_eq!(e.folds, 5);
    assert_eq!(e.importances.len(), 9);
    assert!(e.out_of_sample_rows > e.rows / 2 && e.out_of_sample_rows < e.rows);
    assert_eq!(e.always_up.auc, Some(0.5));
    assert!(e.logistic.log_loss.is_finite() && e.model.log_loss.is_finite());
    assert!(!e.verdict.is_empty());
    // The latest bars (no label yet) are what predict scores.
    assert_eq!(t.dataset.latest.len(), 5);
    let p = t.gbt.predict(&t.dataset.latest);
    assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
}

/// `model("id")` in a strategy: on the planted pattern, buying when the walk-forward
/// up-probability is high beats buying when it is low; a strategy whose model was not supplied
/// says so; the screener refuses model() with a pointer to `predict`.
#[test]
fn a_strategy_trades_on_walk_forward_predictions() {
    use quantdesk_quant::backtest::strategy::Strategy;
    use quantdesk_quant::backtest::{Settings, run_strategy};
    use quantdesk_quant::ml::series::walk_forward_predictions;
    use std::collections::BTreeMap;

    let cols = ar1(2_500, -0.5, 5);
    let view = cols.view();
    let series = walk_forward_predictions(&view, &request(1)).unwrap();
    let run = |entry: &str, exit: &str| {
        let mut s = Strategy::from_json(&serde_json::json!({
            "long": {"entry": entry, "exit": exit}
        }))
        .unwrap();
        assert_eq!(
            s.model_ids().unwrap().into_iter().collect::<Vec<_>>(),
            ["mdl_x"]
        );
        let missing = run_strategy(&s, &BTreeMap::new(), &view, &Settings::default());
        assert!(
            missing.unwrap_err().to_string().contains("model('mdl_x')"),
            "unsupplied model"
        );
        s.models.insert("mdl_x".into(), series.clone());
        run_strategy(&s, &BTreeMap::new(), &view, &Settings::default()).unwrap()
    };
    let high = run("model('mdl_x') > 0.55", "model(\"mdl_x\") < 0.5");
    let low = run("model(mdl_x) < 0.45", "model('mdl_x') > 0.5");
    assert!(high.stats.trades > 20 && low.stats.trades > 20);
    assert!(
        high.stats.return_pct > low.stats.return_pct + 20.0,
        "high {} vs low {}",
        high.stats.return_pct,
        low.stats.return_pct
    );
    // Nothing trades before the first walk-forward window.
    let first = series.value.iter().position(|v| v.is_finite()).unwrap();
    assert!(high.trades.iter().all(|t| t.entry_bar > first));

    let e = quantdesk_quant::screen::Expression::parse("model('mdl_x') > 0.5").unwrap();
    let err = quantdesk_quant::screen::Evaluator::new(view)
        .last(&e)
        .unwrap_err();
    assert!(err.to_string().contains("predict"), "{err}");
    let e = quantdesk_quant::screen::Expression::parse("model(1) > 0.5").unwrap_err();
    assert!(e.to_string().contains("model id"), "{e}");
}
